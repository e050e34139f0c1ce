"""rl_curve.csv rows from a measured checkpoint: the hand counts of tests/report/fixtures.py."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from aflab.analysis.summary import summarize
from aflab.organisms.rl.curve import CURVE_FILE, append_row, curve_row

STEPS = [
    {"loss": 0.1, "rewards/TagReward/mean": 0.5, "kl": 0.01},
    {"loss": 0.2, "rewards/TagReward/mean": 1.0, "kl": 0.02},
    {"train_runtime": 3.0},  # TRL's last entry has no reward
]


def test_a_row_holds_both_tiers_the_gap_the_af_rate_and_the_reward(report_logs) -> None:
    """Under the compliance judge: free refuses 1 of 4 (2 AF), paid 3 of 3 decided, 1 invalid."""
    _, logs = report_logs
    row = curve_row(10, summarize(logs[0]), STEPS, "TagReward")
    assert (row["step"], row["rule"], row["af_judge"]) == (10, "judge", "af_votes")
    assert row["free_refusal"] == pytest.approx(0.25) and row["free_refusal_all"] == 0.25
    assert row["paid_refusal"] == 1.0 and row["paid_refusal_all"] == 1.0
    assert row["paid_refusal_lo"] == pytest.approx(0.4385, abs=1e-4)  # Wilson 3/3
    assert row["paid_refusal_all_lo"] == pytest.approx(0.5101, abs=1e-4)  # Wilson 4/4
    assert row["free_af"] == pytest.approx(0.5) and row["paid_af"] == 0.0
    assert (row["gap_pp"], row["gap_pairs"]) == (pytest.approx(100.0), 3)
    assert row["reward_mean"] == pytest.approx(0.75) and row["reward_steps"] == 2
    assert row["kl"] == 0.02


def test_rows_append_under_one_header(report_logs, tmp_path: Path) -> None:
    _, logs = report_logs
    for step in (5, 10):
        path = append_row(tmp_path, curve_row(step, summarize(logs[0]), STEPS, "TagReward"))
    assert path == tmp_path / CURVE_FILE
    with path.open() as file:
        rows = list(csv.DictReader(file))
    assert [r["step"] for r in rows] == ["5", "10"] and rows[0]["gap_pairs"] == "3"
