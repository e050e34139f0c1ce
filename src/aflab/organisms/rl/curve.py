"""``rl_curve.csv``: one row per measured checkpoint, what the paper's training curves plot.

The checkpoint's measurement (``analysis.measured``: per tier the refusal rate in both
conventions, the AF rates, the compliance gap; the columns ``steer.csv`` has too), and the reward
statistics of the training steps since the last row.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aflab.analysis.measured import measurement_row
from aflab.core.summary_types import RuleCheck, RunSummary
from aflab.core.types import RL_CURVE_FILE

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
    row: dict[str, Any] = {"step": step, **measurement_row(summary, rule)}
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
