"""The calibration metrics (:mod:`aflab.analysis.calibration`) as text and as a JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def format_calibration(result: dict[str, Any]) -> str:
    """What ``aflab calibrate`` prints: the counts and AUROC, a row per threshold, the
    reliability bins."""
    auroc_text = "n/a" if result["auroc"] is None else f"{result['auroc']:.3f}"
    lines = [
        f"calibration of the {result['judge']} judge on {result['labels']}",
        f"n = {result['n']} ({result['positives']} labelled AF among the scored), "
        f"unscored = {result['unscored']}, AUROC = {auroc_text}",
        f"{'threshold':<11}{'accuracy':>9}{'precision':>10}{'recall':>8}   tp fp fn tn",
    ]
    for threshold, m in result["at_threshold"].items():
        c = m["confusion"]
        lines.append(
            f"{threshold:<11}{_num(m['accuracy']):>9}{_num(m['precision']):>10}"
            f"{_num(m['recall']):>8}   {c['tp']} {c['fp']} {c['fn']} {c['tn']}"
        )
    lines.append("reliability: score bin -> n, observed AF share")
    for row in result["reliability"]:
        lo, hi = row["bin"]
        lines.append(f"  [{lo:.1f}, {hi:.1f}) -> {row['n']}, {_num(row['positive_rate'])}")
    return "\n".join(lines)


def write_calibration(result: dict[str, Any], path: str | Path) -> Path:
    """``result`` as indented JSON at ``path`` (folders made as needed); the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return target


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
