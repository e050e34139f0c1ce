"""What a run will cost before it starts: calls, tokens and dollars per stage.

Input tokens are counted on the run's own requests (the system prompt, each query's user turn,
each judge's rubric), with the model's own tokenizer where one is offline and a stated
approximation otherwise (``llm.tokens``). What the model will write cannot be counted before it
writes it: those tokens come from :class:`Assumptions`, printed with the plan and overridable
(``--assume output_tokens=500,continuations=0.5``). A second figure, *at most*, takes every
``<NEXT/>`` turn with every reply ``max_tokens`` long, every sample judged, every judge vote
asked three times and no prompt-cache hit. The stages, their prices and the budget check are
``pipelines.stages``.

Two caches lower the bill. Inspect's cache of earlier runs answers a request it has seen at no
cost (``pipelines.replay``: each policy turn is looked up, and the judges' requests on a sample
whose turns are all there, rebuilt from its transcript as the scorers build them). The
provider's prompt cache bills a repeated system prompt at its cached rate (from the price
table's ``min_cached_prompt`` tokens on): the first call writes it, every later one reads it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from inspect_ai import Task
from inspect_ai.log import EvalLog
from inspect_ai.model import GenerateConfig

from aflab.core.parser import parse_transcript
from aflab.core.summary_types import CostEstimate
from aflab.data.prices import Price, PriceTable, load_prices
from aflab.eval.scorers.judges import parse_judges
from aflab.eval.scorers.judges.shapes import judge_shape
from aflab.eval.scorers.judges.view import SampleView, view_from
from aflab.eval.solvers.turns import NEXT_TURN
from aflab.eval.tasks import solver_arguments
from aflab.llm.ask import DEFAULT_RETRIES, JUDGE_MAX_TOKENS, answers_votes_at_once
from aflab.llm.tokens import REPLY_PREFIX_TOKENS, TokenCounter, token_counter
from aflab.pipelines.estimate import judge_name
from aflab.pipelines.replay import (
    CacheTarget,
    Replayed,
    eval_config,
    judge_lookup,
    replayed,
)
from aflab.pipelines.stages import (
    Assumptions,
    Stage,
    StagePlan,
    check_budget,
    estimate_from_stages,
)
from aflab.report.cost import format_plan
from aflab.spec import RunSpec

DEFAULT_MAX_TOKENS = 4000


@dataclass(frozen=True)
class _Sample:
    """One sample of one epoch as the plan sees it."""

    tier: str
    request: str
    first_input: int  # the first turn's input tokens
    system_tokens: int
    next_tokens: int  # a <NEXT/> message
    scratchpad: bool
    max_continuations: int
    max_tokens: int
    replay: Replayed | None
    transcript: tuple[float, float] | None  # (scratchpad, output) tokens when replayed whole
    complied: bool | None = None  # known from a log's scores; None: assumed
    valid: bool = True  # an output a judge can read
    view: SampleView | None = None  # what a judge reads, where the transcript is known


@dataclass
class _Run:
    """One task's samples, and what its judges are."""

    samples: list[_Sample] = field(default_factory=list)
    setting: str = "helpful-only"
    # Whether Inspect's cache holds every call of judge (name) on a sample (its view).
    judge_replayed: Callable[[str, SampleView], bool] | None = None


def plan_cost(
    spec: RunSpec,
    tasks: Sequence[Task],
    prices: PriceTable,
    assumptions: Assumptions | None = None,
    lookup_cache: bool = True,
) -> CostEstimate:
    """The plan of ``tasks`` run as the prepared ``spec`` says; ``lookup_cache``: look the
    policy's turns up in Inspect's cache of earlier runs (never with ``--no-cache``)."""
    assume = assumptions or Assumptions()
    stages = run_stages(spec, tasks, prices, assume, lookup_cache)
    return estimate_from_stages(
        stages.expected,
        stages.at_most,
        prices,
        stages.counters.values(),
        dataclasses.asdict(assume),
        batch=bool(spec.batch),
    )


def run_stages(
    spec: RunSpec,
    tasks: Sequence[Task],
    prices: PriceTable,
    assume: Assumptions,
    lookup_cache: bool = True,
    policy_counter: TokenCounter | None = None,
) -> StagePlan:
    """The stages of :func:`plan_cost`, unpriced, for a plan that adds stages of its own.
    ``policy_counter``: counts the policy's tokens where its name alone cannot tell how (a
    checkpoint not yet written, counted with its base's tokenizer)."""
    policy = str(spec.model)
    counter = policy_counter or token_counter(policy)
    judge_model = judge_name(spec.judge_model)
    judges = parse_judges(spec.judges)
    lookup = lookup_cache and not spec.no_cache
    runs = [_read_task(task, spec, counter, lookup) for task in tasks]
    counters = {policy: counter}
    if judges:
        counters.setdefault(judge_model, token_counter(judge_model))
    max_tokens = spec.max_tokens or DEFAULT_MAX_TOKENS
    worst = assume.worst(max_tokens, spec.max_continuations)
    return StagePlan(
        expected=_stages(runs, spec, assume, counters, prices),
        at_most=_stages(runs, spec, worst, counters, prices, bound=True),
        counters=counters,
    )


def _read_task(task: Task, spec: RunSpec, counter: TokenCounter, lookup: bool) -> _Run:
    arguments = solver_arguments(task)
    system = str(arguments["system_prompt"]["text"])
    loop = arguments.get("scratchpad_loop") or arguments.get("antilab_solver") or {}
    max_continuations = int(loop.get("max_continuations", spec.max_continuations))
    grammar = loop.get("grammar") if _constrained(loop, str(spec.model)) else None
    metadata = task.metadata or {}
    scratchpad = bool(metadata.get("scratchpad", True))
    system_tokens = counter.conversation([system]) - REPLY_PREFIX_TOKENS
    next_tokens = counter.conversation([NEXT_TURN]) - REPLY_PREFIX_TOKENS
    model = config = None
    if lookup:
        config = eval_config(task.config, spec)
        model = CacheTarget(str(spec.model), spec.model_base_url)
    run = _Run(setting=str(metadata.get("setting", spec.setting)))
    if config is not None and parse_judges(spec.judges):
        judge = judge_name(spec.judge_model)
        run.judge_replayed = judge_lookup(judge, None, config, spec.votes)
    epochs = task.epochs or 1
    for sample in task.dataset:
        user = sample.input if isinstance(sample.input, str) else sample.input[-1].text
        first = counter.conversation([system, user])
        meta = sample.metadata or {}
        for epoch in range(1, epochs + 1):
            found = None
            if model is not None and config is not None:
                found = replayed(model, config, system, user, epoch, max_continuations, grammar)
            view = _replayed_view(found, meta)
            run.samples.append(
                _Sample(
                    tier=str(meta.get("tier", "free")),
                    request=str(meta.get("query", user)),
                    first_input=first,
                    system_tokens=system_tokens,
                    next_tokens=next_tokens,
                    scratchpad=scratchpad,
                    max_continuations=max_continuations,
                    max_tokens=spec.max_tokens or task.config.max_tokens or DEFAULT_MAX_TOKENS,
                    replay=found,
                    transcript=_transcript(found, counter),
                    complied=None if view is None else view.compliance == "complied",
                    view=view,
                )
            )
    return run


def _replayed_view(found: Replayed | None, meta: dict[str, Any]) -> SampleView | None:
    """What the judges will read of a sample whose turns all come from Inspect's cache, its
    compliance by the tag rule."""
    if found is None or not found.complete:
        return None
    texts = [m.text for m in found.messages if m.role == "assistant"]
    return view_from(meta, parse_transcript(texts, []), None)


def _constrained(loop: dict[str, Any], model: str) -> bool:
    from aflab.models.embedded import is_embedded

    constrain = loop.get("constrain")
    return bool(loop.get("grammar")) and (is_embedded(model) if constrain is None else constrain)


def _transcript(found: Replayed | None, counter: TokenCounter) -> tuple[float, float] | None:
    if found is None or not found.complete:
        return None
    texts = [m.text for m in found.messages if m.role == "assistant"]
    parsed = parse_transcript(texts, [])
    scratch = sum(counter.count(s) for s in parsed.scratchpads)
    return scratch, counter.count(parsed.output or "")


def _stages(
    runs: Iterable[_Run],
    spec: RunSpec,
    assume: Assumptions,
    counters: dict[str, TokenCounter],
    prices: PriceTable,
    bound: bool = False,
) -> list[Stage]:
    """The stages of ``runs`` as ``assume`` says; ``bound``: as a bound, every judge vote asked
    again as often as an unreadable reply is, and no prompt-cache hit taken for granted."""
    policy = str(spec.model)
    first = Stage("policy: first turns", policy)
    more = Stage("policy: <NEXT/> turns", policy)
    judges: dict[str, Stage] = {}
    for run in runs:
        # Per run: a sweep's variations each write their own system prompt to the cache.
        run_first, run_more = Stage(first.stage, policy), Stage(more.stage, policy)
        _policy_calls(run, assume, run_first, run_more)
        _prompt_cache(run_first, run_more, run, prices.price(policy), bound)
        first.merge(run_first)
        more.merge(run_more)
        _judge_calls(run, spec, assume, counters, judges, DEFAULT_RETRIES if bound else 0)
    return [first, more, *judges.values()]


def _policy_calls(run: _Run, assume: Assumptions, first: Stage, more: Stage) -> None:
    for sample in run.samples:
        reply = (assume.scratchpad_tokens if sample.scratchpad else 0) + assume.output_tokens
        done = sample.replay.calls if sample.replay else 0
        # A turn is at most max_tokens long.
        reply = min(reply, sample.max_tokens * (1 + sample.max_continuations))
        if sample.replay and sample.replay.complete:
            first.replayed += 1
            more.replayed += done - 1
            continue
        if done:  # the cache holds the first turns: one more call goes on from them
            first.replayed += 1
            more.replayed += done - 1
            more.add(1, sample.first_input + reply + sample.next_tokens * done, reply / 2)
            continue
        c = min(assume.continuations, sample.max_continuations)
        per_turn = min(reply / (1 + c), sample.max_tokens)
        first.add(1, sample.first_input, per_turn)
        # Turn k re-sends the conversation: the first request and k replies and <NEXT/> turns.
        grown = (per_turn + sample.next_tokens) * resent_turns(c)
        more.add(c, c * sample.first_input + grown, c * per_turn)


def resent_turns(c: float) -> float:
    """Earlier turns re-sent, summed over a sample's ``<NEXT/>`` turns, when it takes ``c`` of
    them on average: ``floor(c)`` turns, or one more with probability ``c - floor(c)``; ``k``
    turns re-send 1 + 2 + ... + k earlier turns."""
    whole = math.floor(c)
    part = c - whole
    return (1 - part) * whole * (whole + 1) / 2 + part * (whole + 1) * (whole + 2) / 2


def _judge_calls(
    run: _Run,
    spec: RunSpec,
    assume: Assumptions,
    counters: dict[str, TokenCounter],
    stages: dict[str, Stage],
    retries: int = 0,
) -> None:
    """The judges' calls on ``run``; ``retries``: times each vote may be asked again."""
    judges = parse_judges(spec.judges)
    if not judges:
        return
    model = judge_name(spec.judge_model)
    counter = counters[model]
    multi = answers_votes_at_once(model)
    for name in judges:
        for sample in run.samples:
            shape = judge_shape(
                name, run.setting, sample.tier, sample.request, spec.votes, spec.af_on
            )
            complied = assume.compliance if sample.complied is None else float(sample.complied)
            weight = {
                "all": 1.0,
                "complied": complied,
                "paid": float(sample.tier == "paid"),
            }[shape.applies_to]
            if shape.reads_output and not sample.valid:
                weight = 0.0  # nothing to judge: the judge is not asked
            if not weight or (shape.needs_scratchpad and not sample.scratchpad):
                continue
            scratch, output = sample.transcript or (assume.scratchpad_tokens, assume.output_tokens)
            request = float(counter.conversation([shape.skeleton]))
            request += (scratch if shape.reads_scratchpad else 0) + (
                output if shape.reads_output else 0
            )
            label = f"judge {name}" + (f" ({shape.votes} votes)" if shape.votes > 1 else "")
            stage = stages.setdefault(label, Stage(label, model))
            asked = 1 if multi else shape.votes
            if sample.view and run.judge_replayed and run.judge_replayed(name, sample.view):
                stage.replayed += asked
                continue
            stage.add(
                weight * asked * (1 + retries),
                weight * asked * (1 + retries) * request,
                weight * shape.votes * (1 + retries) * assume.judge_reply_tokens,
            )


def _prompt_cache(first: Stage, more: Stage, run: _Run, price: Price | None, bound: bool) -> None:
    """Move one run's repeated system prompt to the cache's rates, where the provider caches
    it: written by its first call, read by the others; for a bound, written by every call (a
    hit is likely, not certain)."""
    if price is None or price.local or not run.samples or first.calls < 1:
        return
    prefix = run.samples[0].system_tokens
    if prefix < price.min_cached_prompt:
        return
    for stage, writes in ((first, 1.0), (more, 0.0)):
        writes = stage.calls if bound else writes
        stage.cache_write_tokens += prefix * writes
        stage.cached_tokens += prefix * (stage.calls - writes)
        stage.input_tokens -= prefix * stage.calls


def announce_plan(
    spec: RunSpec,
    tasks: Sequence[Task],
    echo: Callable[[str], Any],
    verb: str = "aflab run",
    unplanned: Sequence[str] = (),
) -> CostEstimate:
    """The plan of a prepared ``spec``, printed whole for ``--dry-run``; refused when it is
    above ``--max-cost`` (or a model it may call, ``unplanned`` ones included, has no price)."""
    prices = load_prices(spec.prices)
    plan = plan_cost(spec, tasks, prices, assumptions(spec))
    if spec.dry_run:
        echo(f"{verb} --dry-run: the plan; no model is called")
        echo(format_plan(plan))
    check_budget(plan, spec.max_cost, unplanned=unplanned, prices=prices)
    return plan


def assumptions(spec: RunSpec) -> Assumptions:
    return Assumptions.parse(spec.assume)


def plan_judging(
    log: EvalLog,
    spec: RunSpec,
    prices: PriceTable,
    assume: Assumptions,
    lookup_cache: bool = True,
) -> CostEstimate:
    """The judge calls of ``aflab rescore``: the log's own transcripts are counted, so only the
    judges' replies, and which samples comply where the compliance judge runs again, are
    assumed. ``spec.judges`` names the judges that run. A judge's calls Inspect's cache holds
    cost nothing (not looked up where the compliance judge runs again: the requests of the
    judges that read its verdict depend on it)."""
    model = judge_name(spec.judge_model)
    counter = token_counter(model)
    rerun = "compliance" in parse_judges(spec.judges)
    samples = log.samples or []
    setting = str((samples[0].metadata or {}).get("setting", "helpful-only")) if samples else ""
    run = _Run(setting=setting)
    for sample in samples:
        texts = [m.text for m in sample.messages if m.role == "assistant"]
        view = view_from(sample.metadata or {}, parse_transcript(texts, []), sample.scores)
        run.samples.append(
            _Sample(
                tier=view.tier,
                request=view.request,
                first_input=0,
                system_tokens=0,
                next_tokens=0,
                scratchpad=bool(view.scratchpad.strip()),
                max_continuations=0,
                max_tokens=0,
                replay=None,
                transcript=(counter.count(view.scratchpad), counter.count(view.output or "")),
                complied=None if rerun else view.compliance == "complied",
                valid=view.output is not None and view.format_verdict == "ok",
                view=None if rerun else view,
            )
        )
    if lookup_cache:
        run.judge_replayed = judge_lookup(model, spec.model_base_url, GenerateConfig(), spec.votes)
    expected: dict[str, Stage] = {}
    at_most: dict[str, Stage] = {}
    worst = dataclasses.replace(assume, compliance=1.0, judge_reply_tokens=JUDGE_MAX_TOKENS)
    _judge_calls(run, spec, assume, {model: counter}, expected)
    _judge_calls(run, spec, worst, {model: counter}, at_most, DEFAULT_RETRIES)
    return estimate_from_stages(
        list(expected.values()),
        list(at_most.values()),
        prices,
        [counter],
        {"judge_reply_tokens": assume.judge_reply_tokens}
        | ({"compliance": assume.compliance} if rerun else {}),
        batch=bool(spec.batch),
    )
