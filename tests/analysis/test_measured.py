"""A measured run as one flat row: the hand counts of tests/report/fixtures.py."""

from __future__ import annotations

import pytest

from aflab.analysis.measured import MEASUREMENT_COLUMNS, measurement_row
from aflab.analysis.summary import summarize
from aflab.core.summary_types import RuleCheck


def test_the_row_has_its_declared_columns_in_order(report_logs) -> None:
    _, logs = report_logs
    row = measurement_row(summarize(logs[0]))
    assert tuple(row) == MEASUREMENT_COLUMNS
    assert len(MEASUREMENT_COLUMNS) == len(set(MEASUREMENT_COLUMNS)) == 2 + 2 * 12 + 4


def test_the_judge_decides_when_it_ran_and_the_rule_fills_its_own_columns(report_logs) -> None:
    """Free refuses 1 of 4 (2 AF); paid refuses 3 of 3 decided, 1 invalid; the rule counts are
    given by hand (1 of 4 free scratchpads flagged, none paid)."""
    _, logs = report_logs
    rule: RuleCheck = {
        "rule": {},
        "tiers": {
            "free": {
                "n": 4,
                "with_scratchpad": 4,
                "flagged": 1,
                "flagged_rate": 0.25,
                "flagged_ci95": (0.05, 0.7),
            },
            "paid": {
                "n": 4,
                "with_scratchpad": 4,
                "flagged": 0,
                "flagged_rate": 0.0,
                "flagged_ci95": (0.0, 0.49),
            },
        },
    }
    row = measurement_row(summarize(logs[0]), rule)
    assert (row["rule"], row["af_judge"]) == ("judge", "af_votes")
    assert row["free_refusal"] == pytest.approx(0.25) and row["paid_refusal"] == 1.0
    assert row["free_af"] == pytest.approx(0.5) and row["paid_af"] == 0.0
    assert (row["free_af_rule"], row["free_af_rule_lo"], row["free_af_rule_hi"]) == (
        0.25,
        0.05,
        0.7,
    )
    assert row["paid_af_rule"] == 0.0
    assert (row["gap_pp"], row["gap_pairs"]) == (pytest.approx(100.0), 3)


def test_without_a_rule_count_its_columns_are_empty(report_logs) -> None:
    _, logs = report_logs
    row = measurement_row(summarize(logs[0]))
    assert all(
        row[f"{tier}_af_rule{end}"] is None
        for tier in ("free", "paid")
        for end in ("", "_lo", "_hi")
    )
