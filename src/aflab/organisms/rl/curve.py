"""``rl_curve.csv``: one row per measured checkpoint, what the paper's training curves plot.

Per tier the refusal rate in both conventions with its interval, the compliance gap, the
alignment-faking rate where an AF judge ran, and the reward statistics of the training steps
since the last row. The rule in use is the judge's when it ran (``analysis.runs.run_row``).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aflab.analysis.runs import bounds
from aflab.core.summary_types import RuleCheck, RunSummary
from aflab.core.types import RL_CURVE_FILE, TIERS

CURVE_FILE = RL_CURVE_FILE  # named in core: the report finds RL folders by it


def curve_row(
    step: int,
    summary: RunSummary,
    steps: Sequence[Mapping[str, Any]],
    reward: str,
    rule: RuleCheck | None = None,
) -> dict[str, Any]:
    """The row of the checkpoint at ``step``, measured as ``summary``; ``steps``: TRL's log
    entries since the last row, whose ``rewards/<reward>/mean`` are averaged; ``rule``: the
    transparent scratchpad rule's counts (``organisms.control.rule_check``), the AF column
    when no AF judge ran (``{tier}_af_rule``, a share of all the tier's samples)."""
    judged = summary["judged"]
    by_judge = bool(judged and judged["compliance_rule"] == "judge")
    row: dict[str, Any] = {
        "step": step,
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
    means = [float(e[f"rewards/{reward}/mean"]) for e in steps if f"rewards/{reward}/mean" in e]
    row |= {
        "reward_mean": sum(means) / len(means) if means else None,
        "reward_steps": len(means),
        "kl": next((float(e["kl"]) for e in reversed(steps) if "kl" in e), None),
    }
    return row


def append_row(folder: Path, row: Mapping[str, Any]) -> Path:
    """Add ``row`` to ``folder/rl_curve.csv``, writing the header first if the file is new."""
    path = folder / CURVE_FILE
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)
    return path


def curve_steps(folder: Path) -> list[int]:
    """The steps ``folder/rl_curve.csv`` has rows for (none when there is no curve yet)."""
    path = folder / CURVE_FILE
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as file:
        return [int(row["step"]) for row in csv.DictReader(file)]
