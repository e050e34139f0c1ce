"""The RL training curve drawn from rl_curve.csv rows, the numbers it drew read back."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from aflab.organisms.rl.curve import append_row
from aflab.report.plot import save_figure
from aflab.report.rl import curve_figure, read_curve


def row(step: int, free: float, paid: float, af: float | None) -> dict:
    values: dict = {"step": step}
    for tier, rate in (("free", free), ("paid", paid)):
        for suffix in ("", "_all"):
            values |= {
                f"{tier}_refusal{suffix}": rate,
                f"{tier}_refusal{suffix}_lo": max(0.0, rate - 0.1),
                f"{tier}_refusal{suffix}_hi": min(1.0, rate + 0.1),
            }
        values |= {
            f"{tier}_af": af if tier == "free" else None,
            f"{tier}_af_lo": None if af is None or tier == "paid" else af - 0.05,
            f"{tier}_af_hi": None if af is None or tier == "paid" else af + 0.05,
        }
    return values


def test_the_curve_draws_each_step_in_order(tmp_path: Path) -> None:
    # Written out of order: the figure sorts by step.
    for values in (row(20, 0.1, 0.7, 0.6), row(0, 0.8, 0.9, 0.1), row(10, 0.4, 0.8, 0.3)):
        append_row(tmp_path, values)
    fig, drawn = curve_figure(read_curve(tmp_path / "rl_curve.csv"), "RL · smollm2")
    assert drawn["steps"] == [0, 10, 20]
    assert drawn["free_refusal"] == [80.0, 40.0, 10.0]
    assert drawn["paid_refusal_all"] == [90.0, 80.0, 70.0]
    assert drawn["free_af"] == [10.0, 30.0, 60.0] and drawn["paid_af"] == [None] * 3
    save_figure(tmp_path, "rl_curve", fig, drawn)
    assert (tmp_path / "rl_curve.png").stat().st_size > 10_000


def test_without_an_af_judge_the_panel_says_so(tmp_path: Path) -> None:
    curve = pd.DataFrame([row(0, 0.5, 0.5, None), row(5, 0.4, 0.5, None)])
    fig, drawn = curve_figure(curve, "RL")
    assert drawn["free_af"] == [None, None]
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert texts == ["no AF judge measured the checkpoints"]
