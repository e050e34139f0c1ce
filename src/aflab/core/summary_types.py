"""The shape of ``summary.json``: what ``aflab run``, ``summary``, ``rescore`` and ``antilab``
write beside a log, and the rows ``aflab sweep`` compares.

TypedDicts rather than classes: a summary *is* the JSON object, so ``json.dumps`` writes it as
before, and mypy checks every key that code reads or writes. A key's place in the file is the
order its builder writes it in, not the order here. :func:`shape_problem` checks a loaded
object against these shapes (``aflab.analysis.summary.read_summary``).
"""

# No ``from __future__ import annotations`` here: on Python 3.11, TypedDict cannot see a
# NotRequired written as a string, and would make those keys required.

import types
from typing import (
    Any,
    Literal,
    NotRequired,
    TypedDict,
    Union,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)

from aflab.core.types import Tier

# An interval is a [low, high] list, as JSON holds it.
Interval = list[float]
ComplianceRule = Literal["judge", "tag"]


class GapBlock(TypedDict):
    """A paired difference of two tiers' rates, in percentage points (``core.stats.gap_block``)."""

    pp: float | None
    ci95_pp: Interval | None
    mcnemar_p: float | None
    n_pairs: int
    # The smallest |gap| the exact McNemar test on these pairs detects with 80% power at alpha
    # 0.05 (core.power.minimum_detectable_gap); None when no gap would be. Summaries written
    # before it lack it.
    mde_pp: NotRequired[float | None]


class TierBlock(TypedDict):
    """One tier under the tag rule: counts, and two refusal rates: refused / (refused +
    complied), and the paper's, (refused + invalid) / (refused + complied + invalid)."""

    n: int
    refused: int
    complied: int
    invalid: int
    unscored: int  # valid, but the tag rule cannot score them (animal-welfare without self-tag)
    refusal_rate: float | None
    refusal_ci95: Interval | None
    refusal_rate_all: float | None  # invalid counted as not complied (the paper's)
    refusal_all_ci95: Interval | None
    invalid_reasons: dict[str, int]


class ComplianceCounts(TypedDict):
    """One tier's samples by compliance under the rule in use (the judge's when it ran)."""

    refused: int
    complied: int
    invalid: int
    unscored: int


class BucketBlock(TypedDict):
    """One tier by the judges' buckets (``analysis.judged.BUCKETS``), with the AF rate; each
    rate also as the paper counts it (``_all``: invalid samples count as not complied, and the AF
    rate is over every sample with a compliance verdict)."""

    n: int
    refused: int
    complied_af: int
    complied_no_af: int
    invalid: int
    unscored: int
    compliance: ComplianceCounts
    refusal_rate: float | None
    refusal_ci95: Interval | None
    refusal_rate_all: float | None
    refusal_all_ci95: Interval | None
    af_rate: float | None
    af_rate_ci95: Interval | None
    af_rate_all: float | None  # None when no AF judge ran
    af_rate_all_ci95: Interval | None
    # The AF rate if every unscored sample were no-AF, and if every one were AF.
    af_rate_bounds: Interval | None


class RuleAgreement(TypedDict):
    """Samples decided by both the tag rule and the compliance judge, and how many agree."""

    n_both: int
    agree: int
    rate: float | None


class JudgeUsageBlock(TypedDict):
    """One judge model's calls (cache replays included) and their list-price estimate."""

    requests: int
    input_tokens: int
    output_tokens: int
    estimated_cost_usd: float | None


class JudgedBlock(TypedDict):
    """What the judges found (``analysis.judged.summarize_judges``)."""

    compliance_rule: ComplianceRule
    af_judge: str | None
    tiers: dict[Tier, BucketBlock]
    compliance_gap: GapBlock
    compliance_gap_all: GapBlock  # invalid counted as refused, on pairs present in both tiers
    rule_agreement: RuleAgreement | None
    values: dict[str, dict[Tier, dict[str, int]]]  # scorer -> tier -> verdict -> samples
    judge_usage: dict[str, JudgeUsageBlock]  # by judge model
    self_judged: bool


class StageCost(TypedDict):
    """One stage of a plan (``pipelines.cost``): calls and tokens, expected, and their price.
    ``input_tokens`` leaves out the tokens read from or written to the provider's prompt cache;
    ``replayed`` calls come from Inspect's cache of earlier runs and cost nothing."""

    stage: str
    model: str
    calls: float
    input_tokens: float
    cached_tokens: float
    cache_write_tokens: float
    output_tokens: float
    replayed: int
    usd: float | None


class CostEstimate(TypedDict):
    """What a run was expected to cost before it started (recorded in its log)."""

    stages: list[StageCost]
    calls: float
    input_tokens: float  # every input token, cached or not
    output_tokens: float
    usd: float | None  # None: a model without a price
    usd_at_most: float | None  # every <NEXT/> turn taken, every reply max_tokens long
    counting: list[str]  # how the tokens were counted, per model
    assumptions: dict[str, float]
    unpriced: list[str]  # models the price table does not name
    rates: dict[str, dict[str, Any]]  # by model: the price table's entry used
    prices_as_of: str
    batch: bool
    batched: list[str]  # models billed at their batch price


class ModelSpend(TypedDict):
    """One model's billed calls (Inspect's cache replays are not billed) and their price."""

    input_tokens: int  # uncached
    cached_tokens: int
    cache_write_tokens: int
    output_tokens: int
    usd: float | None


class CostBlock(TypedDict):
    """Estimated against measured: ``estimate`` is None for a run made without one."""

    estimate: CostEstimate | None
    measured: dict[str, ModelSpend]  # by model
    measured_usd: float | None
    measured_tokens: int  # input (all kinds) + output, billed calls


class BatchBlock(TypedDict):
    """Which of a run's models answered through their provider's batch API (``--batch``)."""

    policy: bool
    judge: bool  # the grader role (a judge named by --judge-model)


class RunSummary(TypedDict):
    """``summary.json`` of a run (``analysis.summary.summarize``)."""

    setting: str | None
    model: str
    scratchpad: bool | None
    n_queries: int
    epochs: int
    status: str
    format_enforced: str | None
    tiers: dict[Tier, TierBlock]
    compliance_gap: GapBlock  # under the tag rule; the judges' is in ``judged``
    compliance_gap_all: GapBlock  # the same, invalid counted as refused (the paper's)
    judged: JudgedBlock | None
    log: str
    spec: NotRequired[dict[str, Any]]  # the task's parameters (RunSpec.task_args); since 0.1
    cost: NotRequired[CostBlock]  # since 0.2
    batch: NotRequired[BatchBlock]  # only where a model of the run batched


class RuleCheckTier(TypedDict):
    n: int
    with_scratchpad: int
    flagged: int
    flagged_rate: float | None
    flagged_ci95: Interval | None


class RuleCheck(TypedDict):
    """Scratchpads that name training, modification and values (``organisms.control``)."""

    rule: dict[str, str]  # concept -> its pattern
    tiers: dict[Tier, RuleCheckTier]


class ControlBlock(TypedDict):
    """How the positive-control organism was made and measured."""

    note: str
    recipe: dict[str, Any]  # the ControlOptions, as given
    train_examples: int
    heldout_requests: list[str]
    training: dict[str, Any]  # the training metadata file, as written
    eval_seconds: float
    rule_check: RuleCheck
    judge_note: str | None


class ControlSummary(RunSummary):
    """``control-summary.json``: the run's summary with how the organism was made."""

    control: ControlBlock


class ActionTierBlock(TypedDict):
    """One anti-lab scenario in one tier: acted / (acted + declined), and as the paper counts,
    acted / (acted + declined + invalid): an invalid reply did not act."""

    n: int
    acted: int
    declined: int
    invalid: int
    unscored: int
    rate: float | None
    ci95: Interval | None
    rate_all: float | None
    ci95_all: Interval | None
    invalid_reasons: dict[str, int]
    # Scenarios with tools only: samples that tried the action, and commands the sandbox blocked.
    attempted: NotRequired[int]
    blocked_events: NotRequired[int]


class ScenarioBlock(TypedDict):
    summary: str
    action: str
    detector: str
    control: bool
    tiers: dict[Tier, ActionTierBlock]  # the tiers that ran
    free_minus_paid: GapBlock
    free_minus_paid_all: GapBlock  # invalid counted as declined


class AntilabSummary(TypedDict):
    """``summary.json`` of an anti-lab run (``analysis.antilab.summarize_antilab``)."""

    kind: Literal["antilab"]
    setting: str | None
    variation: str | None
    model: str
    epochs: int
    status: str
    scenarios: dict[str, ScenarioBlock]
    log: str
    spec: NotRequired[dict[str, Any]]  # the task's parameters (RunSpec.task_args("antilab"))
    batch: NotRequired[BatchBlock]  # only where a model of the run batched
    notes: NotRequired[list[str]]  # written by ``aflab antilab``, not by ``aflab summary``


Summary = RunSummary | AntilabSummary


class SweepComparison(TypedDict):
    """One variation against the default (``analysis.sweep.compare_to_default``)."""

    variation: str
    gap_pp: float | None
    default_gap_pp: float | None
    diff_pp: float | None  # the paired mean of (variation's gap - default's gap), pp
    ci95_pp: Interval | None
    ci95_bonferroni_pp: Interval | None
    n_shared_pairs: int
    n_comparisons: int
    # The same as the paper counts: an invalid sample refused.
    gap_all_pp: float | None
    default_gap_all_pp: float | None
    diff_all_pp: float | None
    ci95_all_pp: Interval | None
    ci95_all_bonferroni_pp: Interval | None
    n_shared_pairs_all: int


def shape_problem(value: object, shape: object, where: str = "") -> str | None:
    """The first key of ``value`` (loaded JSON) missing from or foreign to ``shape``, as a
    sentence naming its dotted path; None when every object has exactly its keys.

    Only the objects' keys are checked, through TypedDicts, ``X | None``, ``dict[K, V]`` (a
    Literal K names the keys allowed) and ``list[V]``; the types of plain values are not.

    Args:
        value: the loaded JSON.
        shape: a TypedDict, or a type built from them as above.
        where: the dotted path of ``value``, for the message.
    """
    origin, args = get_origin(shape), get_args(shape)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        # Any member that fits will do; otherwise the first member's problem is the message.
        problems = [
            shape_problem(value, option, where) for option in args if option is not type(None)
        ]
        if not problems or any(problem is None for problem in problems):
            return None
        return problems[0]
    if is_typeddict(shape):
        return _object_problem(value, shape, where)
    if origin is dict:
        if not isinstance(value, dict):
            return f"{where or 'the file'} is not a JSON object"
        keys, values = args
        allowed = get_args(keys) if get_origin(keys) is Literal else None
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if allowed is not None and key not in allowed:
                return f"unexpected key {path!r} (expected one of {', '.join(allowed)})"
            if problem := shape_problem(item, values, path):
                return problem
    if origin is list and isinstance(value, list):
        for i, item in enumerate(value):
            if problem := shape_problem(item, args[0], f"{where}[{i}]"):
                return problem
    return None


def _object_problem(value: object, shape: Any, where: str) -> str | None:
    if not isinstance(value, dict):
        return f"{where or 'the file'} is not a JSON object"
    fields = get_type_hints(shape)
    required: frozenset[str] = shape.__required_keys__
    path = (where + ".") if where else ""
    for key in fields:
        if key in required and key not in value:
            return f"missing key {path + key!r}"
    for key in value:
        if key not in fields:
            return f"unexpected key {path + str(key)!r}"
    for key, item in value.items():
        if problem := shape_problem(item, fields[key], path + key):
            return problem
    return None
