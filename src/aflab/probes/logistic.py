"""The probe's model: standardised inputs, L2-penalised logistic regression with balanced class
weights (what ``StandardScaler`` then ``LogisticRegression(C, class_weight="balanced")`` fit).

A store is a few hundred samples of hundreds of dimensions, and a training run fits thousands of
probes; scikit-learn's solver spends most of such a fit on its own bookkeeping. With fewer
samples than ``NEWTON_LIMIT`` the same minimum is found here by Newton's method in the samples'
span (the penalised weight vector always lies in it, so there are as many unknowns as samples);
with more, scikit-learn's solver does it. Tests hold the two to the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# Newton's method costs samples^3 per step: above this many samples, scikit-learn's L-BFGS.
NEWTON_LIMIT = 256
MAX_ITER = 5000
_NEWTON_STEPS = 100
_TOLERANCE = 1e-8


@dataclass(frozen=True)
class LinearProbe:
    """A fitted probe: ``decision_function(x) = ((x - mean) / scale) . coef + intercept``."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    converged: bool

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(((X - self.mean) / self.scale) @ self.coef + self.intercept)

    @property
    def raw_weight(self) -> np.ndarray:
        """The weight in the activations' own units (toward class 1)."""
        return np.asarray(self.coef / self.scale)


def fit_linear_probe(X: np.ndarray, y: np.ndarray, C: float) -> LinearProbe:
    """Fit on ``X`` (samples x features) for ``y`` in {0, 1}, both classes present."""
    raw = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).astype(np.int64)
    mean = raw.mean(axis=0)
    scale = raw.std(axis=0)
    scale[scale == 0] = 1.0  # a constant feature is left unscaled, as StandardScaler does
    Z = (raw - mean) / scale
    if len(y) <= NEWTON_LIMIT:
        coef, intercept, converged = _newton(Z, y, C)
    else:
        coef, intercept, converged = _lbfgs(Z, y, C)
    return LinearProbe(mean, scale, coef, intercept, converged)


def balanced_weights(y: np.ndarray) -> np.ndarray:
    """scikit-learn's "balanced": each class weighs as much in total, n / (2 n_class) a sample."""
    positives = int(y.sum())
    return np.where(y == 1, len(y) / (2 * positives), len(y) / (2 * (len(y) - positives)))


def _newton(Z: np.ndarray, y: np.ndarray, C: float) -> tuple[np.ndarray, float, bool]:
    """Minimise ||w||^2 / 2 + C sum_i s_i log(1 + exp(-t_i (z_i . w + b))) with w = Z^T a.

    Every quantity goes through the Gram matrix K = Z Z^T. The gradient in ``a`` is K r with
    r = a - C s t q (q: each sample's probability of the wrong class); a Newton step solves
    (I + C H K) da + C H 1 db = -r beside the intercept's row, a system that stays regular
    where K is singular (standardising makes it so), and a halving line search keeps each step
    downhill.
    """
    n = len(y)
    t = np.where(y == 1, 1.0, -1.0)
    s = balanced_weights(y)
    K = Z @ Z.T
    a, b = np.zeros(n), 0.0

    def objective(a: np.ndarray, b: float) -> float:
        margins = K @ a + b
        return float(0.5 * a @ (margins - b) + C * (s * np.logaddexp(0.0, -t * margins)).sum())

    value = objective(a, b)
    converged = False
    system = np.empty((n + 1, n + 1))
    for _ in range(_NEWTON_STEPS):
        margins = K @ a + b
        wrong = 0.5 * (1.0 - np.tanh(0.5 * t * margins))  # sigmoid(-t m), without overflow
        r = a - C * s * t * wrong
        gradient = np.r_[K @ r, -C * (s * t * wrong).sum()]
        # Stop on the gradient in the weights' own space (Z^T r), relative to the loss's scale.
        if max(np.abs(Z.T @ r).max(), abs(gradient[n])) <= _TOLERANCE * max(1.0, C * n):
            converged = True
            break
        h = C * s * wrong * (1.0 - wrong)
        system[:n, :n] = h[:, None] * K
        system[np.arange(n), np.arange(n)] += 1.0
        system[:n, n] = h
        system[n, :n] = h @ K
        system[n, n] = h.sum()
        step = np.linalg.solve(system, -np.r_[r, gradient[n]])
        slope, length = float(gradient @ step), 1.0
        while True:
            trial = objective(a + length * step[:n], b + length * step[n])
            if trial <= value + 1e-4 * length * slope or length < 1e-12:
                break
            length /= 2
        a, b, value = a + length * step[:n], b + length * step[n], trial
    return Z.T @ a, b, converged


def _lbfgs(Z: np.ndarray, y: np.ndarray, C: float) -> tuple[np.ndarray, float, bool]:
    from sklearn.linear_model import LogisticRegression

    model: Any = LogisticRegression(C=C, class_weight="balanced", max_iter=MAX_ITER)
    model.fit(Z, y)
    return model.coef_[0].copy(), float(model.intercept_[0]), bool(model.n_iter_[0] < MAX_ITER)
