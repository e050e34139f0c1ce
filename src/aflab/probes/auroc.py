"""AUROC, and its 95% interval by a bootstrap over queries.

A run's samples come in pairs (the same query in both tiers), so samples are not independent: the
interval resamples whole queries with replacement, and a resample is a vector of multiplicities,
one per sample. The AUROC of every resample is computed at once as a weighted Mann-Whitney
statistic (ties count one half), so thousands of probes times a thousand resamples take seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Resamples times samples handled in one block: bounds the memory of a large store's bootstrap.
_BLOCK = 2_000_000


@dataclass(frozen=True)
class Interval:
    """An AUROC with its percentile interval; ``skipped`` resamples drew one class only and give
    no AUROC, so the interval is taken over ``resamples - skipped`` values."""

    auroc: float
    lo: float
    hi: float
    resamples: int
    skipped: int

    @property
    def skipped_share(self) -> float:
        return self.skipped / self.resamples if self.resamples else 0.0


def weighted_aurocs(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The AUROC under each row of ``weights`` (resamples x samples, e.g. bootstrap counts).

    P(score of a positive > score of a negative) + 1/2 P(equal), each pair weighted by the product
    of its two weights. NaN for a row whose positives or negatives weigh nothing.
    """
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(labels).astype(bool)
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    if scores.ndim != 1 or positive.shape != scores.shape or weights.shape[1] != len(scores):
        raise ValueError(
            f"scores {scores.shape}, labels {positive.shape} and weights {weights.shape} disagree"
        )
    if not np.isfinite(scores).all():
        raise ValueError("scores must be finite")
    if len(scores) == 0:
        return np.full(len(weights), np.nan)
    order = np.argsort(scores, kind="stable")
    sorted_scores, positive = scores[order], positive[order]
    # Tied scores form one bin: a positive beats the negatives of lower bins, half of its own.
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    out = np.empty(len(weights))
    step = max(1, _BLOCK // len(scores))
    for first in range(0, len(weights), step):
        block = weights[first : first + step][:, order]
        pos = np.add.reduceat(block * positive, starts, axis=1)
        neg = np.add.reduceat(block * ~positive, starts, axis=1)
        below = np.cumsum(neg, axis=1) - neg
        wins = (pos * (below + 0.5 * neg)).sum(axis=1)
        pairs = pos.sum(axis=1) * neg.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[first : first + step] = np.where(pairs > 0, wins / pairs, np.nan)
    return out


def auroc(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> float:
    """The AUROC of ``scores`` for ``labels`` (1: positive), maybe weighted; NaN if one class."""
    w = np.ones(len(scores)) if weights is None else np.asarray(weights, dtype=np.float64)
    return float(weighted_aurocs(scores, labels, w[None, :])[0])


def group_resample_weights(
    groups: np.ndarray, resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """resamples x samples: how often each sample is drawn when the groups (queries) are drawn
    with replacement, as many as there are; a sample counts as often as its group."""
    _, codes = np.unique(np.asarray(groups), return_inverse=True)
    count = int(codes.max()) + 1 if len(codes) else 0
    if count == 0:
        return np.zeros((resamples, 0))
    draws = rng.multinomial(count, np.full(count, 1.0 / count), size=resamples)
    return draws[:, codes].astype(np.float64)


def bootstrap_auroc(
    scores: np.ndarray,
    labels: np.ndarray,
    groups: np.ndarray,
    resamples: int,
    seed: int | np.random.SeedSequence,
) -> Interval:
    """The AUROC and its 95% percentile interval over ``resamples`` draws of the groups."""
    point = auroc(scores, labels)
    if resamples <= 0:
        return Interval(point, np.nan, np.nan, 0, 0)
    rng = np.random.default_rng(seed)
    values = weighted_aurocs(scores, labels, group_resample_weights(groups, resamples, rng))
    kept = values[~np.isnan(values)]
    if len(kept) == 0:
        return Interval(point, np.nan, np.nan, resamples, resamples)
    lo, hi = np.percentile(kept, [2.5, 97.5])
    return Interval(point, float(lo), float(hi), resamples, resamples - len(kept))
