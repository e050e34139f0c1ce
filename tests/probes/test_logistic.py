import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from aflab.probes import logistic
from aflab.probes.logistic import balanced_weights, fit_linear_probe


def reference(X: np.ndarray, y: np.ndarray, C: float):
    regression = LogisticRegression(C=C, class_weight="balanced", max_iter=20000, tol=1e-8)
    return make_pipeline(StandardScaler(), regression).fit(X.astype(np.float64), y)


@st.composite
def problems(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, p = draw(st.integers(6, 90)), draw(st.integers(1, 150))
    y = (rng.random(n) < draw(st.sampled_from([0.1, 0.3, 0.5]))).astype(int)
    y[:2] = [0, 1]
    X = rng.normal(size=(n, p)) * rng.uniform(0.1, 5, p) + rng.normal(size=p)
    X += draw(st.floats(0, 3)) * y[:, None] * rng.normal(size=p)  # from noise to separable
    if p > 2 and draw(st.booleans()):
        X[:, 1] = 4.0  # a constant feature
    return X.astype(np.float32), y, draw(st.sampled_from([0.01, 1.0, 10.0]))


def objective(coef: np.ndarray, margins: np.ndarray, y: np.ndarray, C: float) -> float:
    """What both solvers minimise (on standardised inputs)."""
    t = np.where(y == 1, 1.0, -1.0)
    loss = balanced_weights(y) * np.logaddexp(0, -t * margins)
    return float(0.5 * coef @ coef + C * loss.sum())


@settings(max_examples=20, deadline=None)
@given(problems())
def test_newton_finds_scikit_learns_probe(problem) -> None:
    X, y, C = problem
    mine, theirs = fit_linear_probe(X, y, C), reference(X, y, C)
    assert mine.converged
    ours, sklearns = mine.decision_function(X), theirs.decision_function(X)
    assert objective(mine.coef, ours, y, C) <= objective(theirs[-1].coef_[0], sklearns, y, C) * (
        1 + 1e-6
    )
    scale = np.abs(sklearns).max() + 1  # L-BFGS stops a little short of the minimum
    assert ours == pytest.approx(sklearns, abs=1e-3 * scale)
    raw = theirs[-1].coef_[0] / theirs[0].scale_
    assert mine.raw_weight == pytest.approx(raw, abs=1e-3 * (np.abs(raw).max() + 1e-3))


def test_many_samples_go_to_scikit_learn_with_the_same_answer(monkeypatch) -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(80, 10)), (rng.random(80) < 0.3).astype(int)
    X[y == 1, 0] += 1
    newton = fit_linear_probe(X, y, 1.0)
    monkeypatch.setattr(logistic, "NEWTON_LIMIT", 10)
    lbfgs = fit_linear_probe(X, y, 1.0)
    assert lbfgs.converged
    assert lbfgs.decision_function(X) == pytest.approx(
        newton.decision_function(X), abs=1e-2
    )  # lbfgs tol


def test_balanced_weights_give_each_class_half() -> None:
    y = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    weights = balanced_weights(y)
    assert weights[y == 1].sum() == pytest.approx(5) and weights[y == 0].sum() == pytest.approx(5)
