import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from aflab.probes.auroc import (
    auroc,
    bootstrap_auroc,
    group_resample_weights,
    weighted_aurocs,
)


@st.composite
def scored(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(2, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    labels[:2] = [0, 1]  # both classes
    scores = rng.integers(0, draw(st.integers(1, 6)), n).astype(float)  # few values: many ties
    weights = rng.integers(0, 4, n).astype(float)
    return scores, labels, weights


@settings(max_examples=200, deadline=None)
@given(scored())
def test_auroc_is_sklearns_with_ties_and_weights(case) -> None:
    scores, labels, weights = case
    assert auroc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))
    if weights[labels == 1].sum() and weights[labels == 0].sum():
        expected = roc_auc_score(labels, scores, sample_weight=weights)
        assert auroc(scores, labels, weights) == pytest.approx(expected)
    else:
        assert np.isnan(auroc(scores, labels, weights))


def test_every_row_of_weights_is_its_own_auroc() -> None:
    rng = np.random.default_rng(1)
    scores, labels = rng.normal(size=50).round(1), rng.integers(0, 2, 50)
    weights = rng.integers(0, 3, (30, 50)).astype(float)
    weights[3, labels == 1] = 0  # no positive drawn
    values = weighted_aurocs(scores, labels, weights)
    assert np.isnan(values[3])
    for row in (0, 7, 29):
        expected = roc_auc_score(labels, scores, sample_weight=weights[row])
        assert values[row] == pytest.approx(expected)


def test_one_class_has_no_auroc() -> None:
    assert np.isnan(auroc(np.array([0.1, 0.5]), np.array([1, 1])))


def test_a_resample_draws_whole_groups() -> None:
    groups = np.array(["a", "a", "b", "c", "c", "c"])
    weights = group_resample_weights(groups, 500, np.random.default_rng(0))
    assert weights.shape == (500, 6)
    assert (weights[:, 0] == weights[:, 1]).all() and (weights[:, 3] == weights[:, 5]).all()
    group_draws = weights[:, [0, 2, 3]]
    assert (group_draws.sum(axis=1) == 3).all()  # as many groups drawn as there are
    assert 0.8 < group_draws.mean() < 1.2  # each about once


def test_bootstrap_interval_is_seeded_and_brackets_the_auroc() -> None:
    rng = np.random.default_rng(2)
    labels = np.repeat(rng.integers(0, 2, 60), 2)
    scores = labels + rng.normal(size=120)
    groups = np.repeat(np.arange(60), 2)
    first = bootstrap_auroc(scores, labels, groups, 400, 7)
    assert first == bootstrap_auroc(scores, labels, groups, 400, 7)
    assert first.lo < first.auroc < first.hi and first.lo > 0.5
    assert first.skipped == 0 and first.resamples == 400


def test_resamples_with_one_class_are_counted_not_averaged() -> None:
    labels = np.array([1, 0, 0, 0, 0, 0])
    found = bootstrap_auroc(np.arange(6.0), labels, np.arange(6), 300, 0)
    # the one positive is left out of a resample with probability (5/6)^6, about a third
    assert 0.2 < found.skipped_share < 0.5


def test_a_thousand_resamples_of_many_probes_take_little_time() -> None:
    import time

    rng = np.random.default_rng(3)
    labels, groups = rng.integers(0, 2, 240), np.repeat(np.arange(120), 2)
    started = time.perf_counter()
    for _ in range(50):
        bootstrap_auroc(rng.normal(size=240), labels, groups, 1000, 0)
    assert time.perf_counter() - started < 10  # a few ms each; generous for a shared CPU
