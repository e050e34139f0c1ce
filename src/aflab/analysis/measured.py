"""One measured run as a flat row: what every curve of aflab plots against its own x axis (an RL
step in ``rl_curve.csv``, a steering scale in ``steer.csv``), so that the curves share columns.

Per tier the refusal rate in both conventions with its interval, the alignment-faking rate where
an AF judge ran, the transparent scratchpad rule's rate where it was counted, and the compliance
gap. The rule in use is the judge's when it ran (``analysis.runs.run_row``).
"""

from __future__ import annotations

from typing import Any

from aflab.analysis.runs import bounds
from aflab.core.summary_types import RuleCheck, RunSummary
from aflab.core.types import TIERS


def _tier_columns(tier: str) -> list[str]:
    refusal = [f"{tier}_refusal{end}" for end in ("", "_lo", "_hi")]
    refusal_all = [f"{tier}_refusal_all{end}" for end in ("", "_lo", "_hi")]
    af = [f"{tier}_af{end}" for end in ("", "_lo", "_hi")]
    af_rule = [f"{tier}_af_rule{end}" for end in ("", "_lo", "_hi")]
    return [*refusal, *refusal_all, *af, *af_rule]


# The columns of measurement_row, in order: readers of the CSVs can find them without a row.
MEASUREMENT_COLUMNS: tuple[str, ...] = (
    "rule",
    "af_judge",
    *(column for tier in TIERS for column in _tier_columns(tier)),
    "gap_pp",
    "gap_lo_pp",
    "gap_hi_pp",
    "gap_pairs",
)


def measurement_row(summary: RunSummary, rule: RuleCheck | None = None) -> dict[str, Any]:
    """The columns of ``MEASUREMENT_COLUMNS`` for a run measured as ``summary``; ``rule``: the
    transparent scratchpad rule's counts (``organisms.control.rule_check``), the AF column when
    no AF judge ran (``{tier}_af_rule``, a share of all the tier's samples)."""
    judged = summary["judged"]
    by_judge = bool(judged and judged["compliance_rule"] == "judge")
    row: dict[str, Any] = {
        "rule": "judge" if by_judge else "tag",
        "af_judge": judged["af_judge"] if judged else None,
    }
    for tier in TIERS:
        block = judged["tiers"][tier] if judged and by_judge else summary["tiers"][tier]
        decided, paper = bounds(block["refusal_ci95"]), bounds(block["refusal_all_ci95"])
        row |= {
            f"{tier}_refusal": block["refusal_rate"],
            f"{tier}_refusal_lo": decided[0],
            f"{tier}_refusal_hi": decided[1],
            f"{tier}_refusal_all": block["refusal_rate_all"],
            f"{tier}_refusal_all_lo": paper[0],
            f"{tier}_refusal_all_hi": paper[1],
        }
        af = judged["tiers"][tier] if judged and judged["af_judge"] else None
        lo, hi = bounds(af["af_rate_ci95"] if af else None)
        row |= {
            f"{tier}_af": af["af_rate"] if af else None,
            f"{tier}_af_lo": lo,
            f"{tier}_af_hi": hi,
        }
        flagged = rule["tiers"][tier] if rule else None
        lo, hi = bounds(flagged["flagged_ci95"] if flagged else None)
        row |= {
            f"{tier}_af_rule": flagged["flagged_rate"] if flagged else None,
            f"{tier}_af_rule_lo": lo,
            f"{tier}_af_rule_hi": hi,
        }
    gap = judged["compliance_gap"] if judged and by_judge else summary["compliance_gap"]
    lo, hi = bounds(gap["ci95_pp"])
    row |= {"gap_pp": gap["pp"], "gap_lo_pp": lo, "gap_hi_pp": hi, "gap_pairs": gap["n_pairs"]}
    return row
