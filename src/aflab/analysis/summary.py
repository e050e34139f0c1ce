"""Per-tier counts, refusal rates and the paired compliance gap, from an Inspect log."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from inspect_ai.log import EvalLog

from aflab.analysis.cost import cost_block
from aflab.analysis.facts import SampleFacts, fact_pairs, log_facts, sample_outcome
from aflab.analysis.judged import invalid_as_refused, refusal_of_all, summarize_judges
from aflab.analysis.logs import batched
from aflab.analysis.pairs import pair_values
from aflab.core.errors import UsageError, read_utf8
from aflab.core.stats import gap_block, proportion
from aflab.core.summary_types import (
    AntilabSummary,
    ControlSummary,
    RunSummary,
    Summary,
    TierBlock,
    shape_problem,
)
from aflab.core.types import ANTILAB_KIND, TIERS

__all__ = ["read_summary", "sample_outcome", "summarize", "summarize_facts", "write_summary"]


def summarize(log: EvalLog) -> RunSummary:
    """The summary of a fully read ``log``."""
    return summarize_facts(log, log_facts(log))


def summarize_facts(log: EvalLog, facts: Sequence[SampleFacts]) -> RunSummary:
    """The summary of ``log`` (its header is enough) from its samples' facts.

    Each tier's refusal rate comes twice: of decided samples (invalid left out) and of all
    samples, invalid counted as not complying (the paper's); so does the gap.
    """
    per_tier: dict[str, Counter[str]] = {tier: Counter() for tier in TIERS}
    reasons: dict[str, Counter[str]] = {tier: Counter() for tier in TIERS}
    for fact in facts:
        per_tier[fact.tier][fact.outcome] += 1
        if fact.outcome == "invalid":
            reasons[fact.tier][fact.reason] += 1
    by_pair = fact_pairs(facts)
    metadata = log.eval.metadata or {}
    summary: RunSummary = {
        "setting": metadata.get("setting"),
        "model": log.eval.model,
        "scratchpad": metadata.get("scratchpad"),
        "n_queries": len({query for query, _ in by_pair}),
        "epochs": log.eval.config.epochs or 1,
        "status": log.status,
        "format_enforced": format_enforced(facts),
        "tiers": {tier: _tier_block(per_tier[tier], reasons[tier]) for tier in TIERS},
        "compliance_gap": gap_block(pair_values(by_pair, outcome_of).values()),
        "compliance_gap_all": gap_block(
            pair_values(by_pair, lambda fact: invalid_as_refused(fact.outcome)).values()
        ),
        "judged": summarize_judges(facts, log.eval.model),
        "log": log.location,
        # The run spec's task fields that differ from their defaults: what -T would pass.
        "spec": dict(log.eval.task_args),
        "cost": cost_block(log, facts),
    }
    if batch := batched(log):
        summary["batch"] = batch
    return summary


def outcome_of(fact: SampleFacts) -> str:
    """The sample's outcome under the tag rule (one of OUTCOMES)."""
    return fact.outcome


def format_enforced(facts: Sequence[SampleFacts]) -> str | None:
    """``"grammar"`` when a grammar constrained the replies (saying how many if not all)."""
    constrained = sum(1 for fact in facts if fact.grammar)
    if not constrained:
        return None
    if constrained == len(facts):
        return "grammar"
    return f"grammar ({constrained} of {len(facts)} samples)"


def _tier_block(counts: Counter[str], reasons: Counter[str]) -> TierBlock:
    refused, complied, invalid = counts["refused"], counts["complied"], counts["invalid"]
    rate, ci = proportion(refused, complied)
    rate_all, ci_all = refusal_of_all(refused, complied, invalid, counts["unscored"])
    return {
        "n": sum(counts.values()),
        "refused": refused,
        "complied": complied,
        "invalid": invalid,
        "unscored": counts["unscored"],
        "refusal_rate": rate,
        "refusal_ci95": ci,
        "refusal_rate_all": rate_all,
        "refusal_all_ci95": ci_all,
        "invalid_reasons": dict(sorted(reasons.items())),
    }


def write_summary(summary: Summary, path: str | Path) -> Path:
    """Write ``summary`` as ``path`` (folders made as needed), 2-space indented."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return target


def read_summary(path: str | Path) -> Summary:
    """The summary in ``path``, checked against its shape: a run's, a control's
    (``control-summary.json``) or an anti-lab run's (its ``kind``).

    Raises:
        UsageError: naming the file, and the key missing or unexpected, if it is not one.
    """
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"{file}: no such summary file")
    try:
        data: object = json.loads(read_utf8(file, "summary"))
    except json.JSONDecodeError as error:
        raise UsageError(f"{file}: not JSON ({error})") from None
    shape: object
    if isinstance(data, dict) and data.get("kind") == ANTILAB_KIND:
        shape, name = AntilabSummary, "an anti-lab run's"
    elif isinstance(data, dict) and "control" in data:
        shape, name = ControlSummary, "a control's"
    else:
        shape, name = RunSummary, "a run's"
    if problem := shape_problem(data, shape):
        # A summary of an earlier version lacks the keys added since: its log rewrites it.
        hint = " (written by an earlier aflab? aflab summary LOG writes it anew)"
        raise UsageError(
            f"{file}: not {name} summary: {problem}"
            + (hint if problem.startswith("missing key") else "")
        )
    return cast(Summary, data)
