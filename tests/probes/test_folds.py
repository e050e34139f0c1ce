import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from aflab.probes.folds import grouped_folds, minority_groups, transfer_splits


@st.composite
def tables(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Random label tables: queries of one to three samples, labels per sample, a tier each."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    queries = draw(st.integers(2, 40))
    sizes = rng.integers(1, 4, queries)
    groups = np.repeat(rng.permutation(queries) * 7, sizes)  # not 0..n-1, not sorted
    labels = rng.integers(0, 2, len(groups))
    tiers = rng.choice(np.array(["free", "paid"], dtype=object), len(groups))
    return labels, groups, tiers, draw(st.integers(2, 8))


@settings(max_examples=300, deadline=None)
@given(tables(), st.integers(0, 1000))
def test_no_query_is_on_both_sides_of_a_fold(table, seed) -> None:
    labels, groups, tiers, k = table
    plan = grouped_folds(labels, groups, k, seed)
    if not plan.ok:
        assert minority_groups(labels, groups) < 2
        return
    assert 2 <= plan.k <= k and plan.k == len(plan.splits)
    tested = np.concatenate([test for _, test in plan.splits])
    assert sorted(tested) == list(range(len(labels)))  # every row tested exactly once
    for train, test in plan.splits:
        assert not set(groups[train]) & set(groups[test])
        assert sorted(np.r_[train, test]) == list(range(len(labels)))
    for a, b in (("free", "paid"), ("paid", "free")):
        for train, test in transfer_splits(plan, tiers, a, b):
            assert not set(groups[train]) & set(groups[test])
            assert (tiers[train] == a).all() and (tiers[test] == b).all()


def test_folds_are_lowered_to_the_queries_of_the_minority_class() -> None:
    groups = np.repeat(np.arange(20), 2)
    labels = np.zeros(40, dtype=int)
    labels[[0, 1, 10, 30]] = 1  # queries 0, 5 and 15
    plan = grouped_folds(labels, groups, 5, 0)
    assert plan.ok and plan.k == 3 and "3 made" in (plan.note or "")
    for train, test in plan.splits:
        assert labels[test].sum() >= 1 and labels[train].sum() >= 1


def test_one_query_of_a_class_is_too_few() -> None:
    groups = np.repeat(np.arange(10), 2)
    labels = (groups == 4).astype(int)
    plan = grouped_folds(labels, groups, 5, 0)
    assert not plan.ok and plan.status is not None and "too few queries" in plan.status
    assert grouped_folds(np.ones(20, dtype=int), groups, 5, 0).status == "one class"


def test_folds_are_seeded() -> None:
    rng = np.random.default_rng(0)
    groups, labels = np.repeat(np.arange(30), 2), rng.integers(0, 2, 60)

    def tests(seed: int) -> list[list[int]]:
        return [sorted(t) for _, t in grouped_folds(labels, groups, 5, seed).splits]

    assert tests(1) == tests(1) and tests(1) != tests(2)
