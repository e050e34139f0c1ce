"""The training curve of an RL run (``rl_curve.csv``): refusal per tier and the AF rate against
the step, with 95% intervals, as the paper plots its RL runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from aflab.report.plot import TIER_LABELS, TIER_MARKS


def curve_figure(curve: pd.DataFrame, title: str) -> tuple[Figure, dict[str, Any]]:
    """Two panels sharing the step axis: refusal per tier (of decided, solid; of all, the
    paper's, dashed) and the AF rate per tier where a judge measured it."""
    fig = Figure(figsize=(7.5, 5.2), layout="constrained")
    refusal, af = fig.subplots(2, 1, sharex=True)
    steps = curve["step"].tolist()
    drawn: dict[str, Any] = {"title": title, "steps": steps}
    for tier, name in TIER_LABELS.items():
        colour, marker = TIER_MARKS[tier]
        for suffix, style in (("", "-"), ("_all", "--")):
            rates = curve[f"{tier}_refusal{suffix}"]
            drawn[f"{tier}_refusal{suffix}"] = _percent(rates)
            refusal.plot(
                steps,
                100 * rates,
                style,
                marker=marker,
                color=colour,
                label=f"{name}, {'of all (paper)' if suffix else 'of decided'}",
            )
            refusal.fill_between(
                steps,
                100 * curve[f"{tier}_refusal{suffix}_lo"],
                100 * curve[f"{tier}_refusal{suffix}_hi"],
                color=colour,
                alpha=0.12,
            )
        rates = curve[f"{tier}_af"]
        drawn[f"{tier}_af"] = _percent(rates)
        if rates.notna().any():
            af.plot(steps, 100 * rates, "-", marker=marker, color=colour, label=name)
            af.fill_between(
                steps,
                100 * curve[f"{tier}_af_lo"],
                100 * curve[f"{tier}_af_hi"],
                color=colour,
                alpha=0.12,
            )
    refusal.set_ylabel("refusal (%)")
    refusal.set_ylim(-2, 102)
    refusal.set_title(title)
    refusal.legend(fontsize=8, ncol=2)
    af.set_ylabel("alignment faking (%)")
    af.set_ylim(-2, 102)
    af.set_xlabel("RL step")
    if not af.get_legend_handles_labels()[0]:
        af.text(
            0.5,
            0.5,
            "no AF judge measured the checkpoints",
            ha="center",
            transform=af.transAxes,
            color="#666666",
        )
    else:
        af.legend(fontsize=8)
    return fig, drawn


def read_curve(path: Path) -> pd.DataFrame:
    return pd.read_csv(path).sort_values("step")


def _percent(rates: pd.Series) -> list[float | None]:
    return [None if pd.isna(r) else 100 * float(r) for r in rates]
