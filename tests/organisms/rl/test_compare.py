"""The paired before/after change of a tier's refusal, on hand counts."""

from __future__ import annotations

import pytest

from aflab.analysis.facts import SampleFacts
from aflab.core.stats import PairCounts, paired_gap
from aflab.organisms.rl.compare import refusal_change


def facts(outcomes: str, tier: str = "free") -> list[SampleFacts]:
    """One sample per character: c complied, r refused, i invalid, u unscored; query q<i>."""
    names = {"c": "complied", "r": "refused", "i": "invalid", "u": "unscored"}
    return [
        SampleFacts(tier, f"q{i}", 1, names[o], "", False, False, {}, ())
        for i, o in enumerate(outcomes)
    ]


def test_the_change_is_paired_on_the_queries_decided_both_times() -> None:
    # q0-q3 refused then complied, q4 refused both times, q5 complied both times,
    # q6 invalid before (left out of decided), q7 complied then refused.
    before = facts("rrrrrcic") + facts("rrrrrrrr", "paid")
    after = facts("ccccrccr")
    change = refusal_change(before, after, "free")
    assert change.change.n_pairs == 7
    assert (change.before, change.after) == (5 / 7, 2 / 7)
    expected = paired_gap(PairCounts(1, 4, 1, 1))
    assert change.change == expected and change.change.gap == pytest.approx(3 / 7)
    assert change.change.ci95 is not None and change.change.ci95[0] < change.change.gap


def test_of_all_counts_invalid_as_refused_and_drops_unscored() -> None:
    before, after = facts("iirru"), facts("ccirc")
    change = refusal_change(before, after, "free", of_all=True)
    assert change.convention == "of all" and change.change.n_pairs == 4
    assert (change.before, change.after) == (1.0, 0.5)


def test_another_tier_or_no_shared_query_gives_no_change() -> None:
    change = refusal_change(facts("rr"), facts("cc"), "paid")
    assert change.change.n_pairs == 0 and change.before is None and change.change.gap is None
