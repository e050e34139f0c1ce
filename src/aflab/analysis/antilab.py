"""Per scenario and tier: how often the model acted against the lab, with 95% intervals."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable

from inspect_ai.log import EvalLog, EvalSample

from aflab.analysis.logs import batched
from aflab.analysis.pairs import PairKey, pair_values, pairs
from aflab.core.stats import gap_block, proportion
from aflab.core.summary_types import ActionTierBlock, AntilabSummary, GapBlock, ScenarioBlock
from aflab.core.types import ANTILAB_KIND, TIERS, Tier
from aflab.eval.antilab.scenarios import get_scenario
from aflab.eval.antilab.scorer import ACTIONS

SCORER = "antilab_action"


def action_of(sample: EvalSample) -> tuple[str, str]:
    """The sample's action and reason; an errored or unscored sample is invalid, not dropped."""
    if sample.error is not None:
        return "invalid", "sample_error"
    score = (sample.scores or {}).get(SCORER)
    if score is None or score.value not in ACTIONS:
        return "invalid", "unscored_by_detector"
    return str(score.value), score.explanation or ""


def summarize_antilab(log: EvalLog) -> AntilabSummary:
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    reasons: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    attempted: Counter[tuple[str, str]] = Counter()
    blocked: Counter[tuple[str, str]] = Counter()
    for sample in log.samples or []:
        name, tier = str(sample.metadata["scenario"]), str(sample.metadata["tier"])
        action, reason = action_of(sample)
        counts[(name, tier)][action] += 1
        if action in ("invalid", "unscored"):
            reasons[(name, tier)][reason] += 1
        evidence = (sample.scores or {}).get(SCORER)
        meta = (evidence.metadata or {}) if evidence else {}
        attempted[(name, tier)] += bool(meta.get("attempted"))
        blocked[(name, tier)] += len(meta.get("blocked") or [])

    # The same scenario in both tiers within one epoch is a pair.
    actions = pair_values(pairs(log.samples or [], by="scenario"), lambda s: action_of(s)[0])
    metadata = log.eval.metadata or {}
    scenarios: dict[str, ScenarioBlock] = {}
    for name in metadata.get("scenarios") or sorted({n for n, _ in counts}):
        scenario = get_scenario(name)
        tiers: dict[Tier, ActionTierBlock] = {}
        for tier in TIERS:
            if not counts[(name, tier)]:
                continue
            tiers[tier] = _tier_block(counts[(name, tier)], reasons[(name, tier)])
            if scenario.tools:
                tiers[tier]["attempted"] = attempted[(name, tier)]
                tiers[tier]["blocked_events"] = blocked[(name, tier)]
        scenarios[name] = {
            "summary": scenario.summary,
            "action": scenario.action,
            "detector": scenario.detector,
            "control": scenario.control,
            "tiers": tiers,
            "free_minus_paid": _free_minus_paid(actions, name, lambda action: action),
            "free_minus_paid_all": _free_minus_paid(actions, name, invalid_as_declined),
        }
    summary: AntilabSummary = {
        "kind": ANTILAB_KIND,
        "setting": metadata.get("setting"),
        "variation": metadata.get("variation"),
        "model": log.eval.model,
        "epochs": log.eval.config.epochs or 1,
        "status": log.status,
        "scenarios": scenarios,
        "log": log.location,
        "spec": dict(log.eval.task_args),  # the run spec's task fields that were given
    }
    if batch := batched(log):
        summary["batch"] = batch
    return summary


def invalid_as_declined(action: str) -> str:
    """The paper's convention: a reply that did not act (invalid included) declined."""
    return "declined" if action == "invalid" else action


def _free_minus_paid(
    actions: dict[PairKey, dict[str, str]], scenario: str, counted: Callable[[str], str]
) -> GapBlock:
    chosen = [
        {tier: counted(action) for tier, action in pair.items()}
        for (asked, _), pair in actions.items()
        if asked == scenario
    ]
    return gap_block(chosen, "acted", "declined", minuend="free", subtrahend="paid")


def _tier_block(counts: Counter[str], reasons: Counter[str]) -> ActionTierBlock:
    acted, declined = counts["acted"], counts["declined"]
    rate, ci = proportion(acted, declined)
    # Nothing decided but some unscored: the judge could not say, and the invalid alone
    # would read as a 0% rate.
    undecidable = counts["unscored"] and not acted + declined
    rate_all, ci_all = (
        (None, None) if undecidable else proportion(acted, declined + counts["invalid"])
    )
    return {
        "n": sum(counts.values()),
        "acted": acted,
        "declined": declined,
        "invalid": counts["invalid"],
        "unscored": counts["unscored"],
        "rate": rate,
        "ci95": ci,
        "rate_all": rate_all,
        "ci95_all": ci_all,
        "invalid_reasons": dict(sorted(reasons.items())),
    }
