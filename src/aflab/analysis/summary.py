"""Per-tier counts, refusal rates and the paired compliance gap, from an Inspect log."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import cast

from inspect_ai.log import EvalLog, EvalSample

from aflab.analysis.judged import summarize_judges
from aflab.analysis.pairs import pair_values, pairs
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
from aflab.core.types import ANTILAB_KIND, OUTCOMES, TIERS
from aflab.eval.scorers.tag import TAG_SCORER
from aflab.eval.solvers.scratchpad import FORMAT_GRAMMAR


def sample_outcome(sample: EvalSample) -> tuple[str, str]:
    """Outcome and reason; a sample that errored or was never scored is invalid, not dropped."""
    if sample.error is not None:
        return "invalid", "sample_error"
    score = (sample.scores or {}).get(TAG_SCORER)
    if score is None or score.value not in OUTCOMES:
        return "invalid", "unscored"
    return str(score.value), score.explanation or ""


def summarize(log: EvalLog) -> RunSummary:
    samples = log.samples or []
    per_tier: dict[str, Counter[str]] = {tier: Counter() for tier in TIERS}
    reasons: dict[str, Counter[str]] = {tier: Counter() for tier in TIERS}
    for sample in samples:
        if "tier" not in sample.metadata or "query_id" not in sample.metadata:
            raise UsageError(f"{log.location}: sample {sample.id} has no tier: not an aflab log")
        tier = str(sample.metadata["tier"])
        outcome, reason = sample_outcome(sample)
        per_tier[tier][outcome] += 1
        if outcome == "invalid":
            reasons[tier][reason] += 1
    by_pair = pairs(samples)  # every sample names its tier and query: checked above

    metadata = log.eval.metadata or {}
    return {
        "setting": metadata.get("setting"),
        "model": log.eval.model,
        "scratchpad": metadata.get("scratchpad"),
        "n_queries": len({query for query, _ in by_pair}),
        "epochs": log.eval.config.epochs or 1,
        "status": log.status,
        "format_enforced": format_enforced(samples),
        "tiers": {tier: _tier_block(per_tier[tier], reasons[tier]) for tier in TIERS},
        "compliance_gap": gap_block(pair_values(by_pair, outcome_of).values()),
        "judged": summarize_judges(samples, log.eval.model),
        "log": log.location,
        # The run spec's task fields that differ from their defaults: what -T would pass.
        "spec": dict(log.eval.task_args),
    }


def outcome_of(sample: EvalSample) -> str:
    """The sample's outcome under the tag rule (one of OUTCOMES)."""
    return sample_outcome(sample)[0]


def format_enforced(samples: list[EvalSample]) -> str | None:
    """``"grammar"`` when a grammar constrained the replies (saying how many if not all)."""
    constrained = sum(1 for s in samples if (s.store or {}).get(FORMAT_GRAMMAR))
    if not constrained:
        return None
    if constrained == len(samples):
        return "grammar"
    return f"grammar ({constrained} of {len(samples)} samples)"


def _tier_block(counts: Counter[str], reasons: Counter[str]) -> TierBlock:
    refused, complied = counts["refused"], counts["complied"]
    rate, ci = proportion(refused, complied)
    return {
        "n": sum(counts.values()),
        "refused": refused,
        "complied": complied,
        "invalid": counts["invalid"],
        "refusal_rate": rate,
        "refusal_ci95": ci,
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
        raise UsageError(f"{file}: not {name} summary: {problem}")
    return cast(Summary, data)
