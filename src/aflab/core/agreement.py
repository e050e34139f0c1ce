"""Agreement between raters on nominal verdicts: percent agreement, Cohen's kappa (two raters),
Krippendorff's alpha (any number, missing ratings allowed) and a cluster bootstrap interval.

Every statistic is computed from a table of cells keyed by a pair of categories, which adds up
over units: the joint table of two raters (cell (a, b): units the first rated a and the second
b) for agreement and kappa, the coincidence matrix for alpha. That is what lets the bootstrap
resample whole clusters of units cheaply: a draw sums the tables of the clusters it picked.

A statistic that the data cannot define (no unit rated by both raters; every rating one and the
same category, where kappa and alpha are 0/0) is an :class:`Estimate` with no value and the
reason, never a silent 0 or NaN.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

Cell = tuple[str, str]
Table = Mapping[Cell, float]  # (category, category) -> count (or weight, for coincidences)

DRAWS = 1000
LEVEL = 0.95
# Fewer defined draws than this share and the interval is not given: a statistic undefined in
# many resamples (nearly every rating one category) has no interval worth reading.
MIN_DEFINED_SHARE = 0.5


@dataclass(frozen=True)
class Estimate:
    """A statistic's value, or None with the reason it is undefined."""

    value: float | None
    undefined: str | None = None


def pair_table(pairs: Iterable[tuple[str | None, str | None]]) -> dict[Cell, float]:
    """The joint table of two raters from their ratings of each unit; a unit that either did not
    rate (None) is left out."""
    table: Counter[Cell] = Counter()
    for first, second in pairs:
        if first is not None and second is not None:
            table[(first, second)] += 1
    return {cell: float(count) for cell, count in table.items()}


def percent_agreement(table: Table) -> Estimate:
    """Share of the units rated by both on which they gave the same category."""
    n = sum(table.values())
    if n == 0:
        return Estimate(None, "no unit rated by both")
    return Estimate(sum(v for (a, b), v in table.items() if a == b) / n)


def cohen_kappa(table: Table) -> Estimate:
    """Cohen's kappa of a joint table: (p_o - p_e) / (1 - p_e), p_o the observed agreement and
    p_e the agreement expected from each rater's own category shares (Cohen 1960).

    Undefined when no unit was rated by both, and when p_e is 1: both raters gave one and the
    same category to every unit, so kappa is 0/0 (agreement is total but says nothing about
    telling categories apart).
    """
    n = sum(table.values())
    if n == 0:
        return Estimate(None, "no unit rated by both")
    first: dict[str, float] = {}
    second: dict[str, float] = {}
    for (a, b), count in table.items():
        first[a] = first.get(a, 0.0) + count
        second[b] = second.get(b, 0.0) + count
    observed = sum(v for (a, b), v in table.items() if a == b) / n
    expected = sum(first[c] * second.get(c, 0.0) for c in first) / (n * n)
    if math.isclose(expected, 1.0):
        only = next(iter(first))
        return Estimate(None, f"both raters said {only!r} of every unit: chance agreement is 1")
    return Estimate((observed - expected) / (1 - expected))


def coincidences(units: Iterable[Sequence[str | None]]) -> dict[Cell, float]:
    """Krippendorff's coincidence matrix: for every unit with m >= 2 ratings, each ordered pair
    of its ratings by different raters adds 1 / (m - 1) to the cell (c, k) of their categories.
    A unit's ratings are listed by rater, None where a rater gave none; units with fewer than
    two ratings pair nothing and are left out (Krippendorff 2011, "Computing Krippendorff's
    Alpha-Reliability", section C)."""
    matrix: dict[Cell, float] = {}
    for unit in units:
        values = [v for v in unit if v is not None]
        m = len(values)
        if m < 2:
            continue
        counts = Counter(values)
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                # Ordered pairs of different raters: n_c * n_k, less the pairs of a rating
                # with itself on the diagonal.
                pairs = n_c * (n_k - 1) if c == k else n_c * n_k
                if pairs:
                    matrix[(c, k)] = matrix.get((c, k), 0.0) + pairs / (m - 1)
    return matrix


def krippendorff_alpha(matrix: Table) -> Estimate:
    """Krippendorff's alpha for nominal data from a coincidence matrix: 1 - D_o / D_e, with
    D_o = sum over c != k of o_ck / n and D_e = sum over c != k of n_c n_k / (n (n - 1)), n_c
    the row sums and n the number of pairable ratings; so alpha = 1 - (n - 1) * sum(o_ck, c !=
    k) / sum(n_c n_k, c != k).

    Undefined when no unit has two ratings, and when every pairable rating is the same
    category: the expected disagreement D_e is 0 and alpha is 0/0.
    """
    totals: dict[str, float] = {}
    for (c, _), weight in matrix.items():
        totals[c] = totals.get(c, 0.0) + weight
    n = sum(totals.values())
    if n == 0:
        return Estimate(None, "no unit has two ratings")
    observed = sum(weight for (c, k), weight in matrix.items() if c != k)
    expected = n * n - sum(n_c * n_c for n_c in totals.values())
    if math.isclose(expected, 0.0, abs_tol=1e-9):
        only = next(iter(totals))
        return Estimate(None, f"every rating is {only!r}: expected disagreement is 0")
    return Estimate(1 - (n - 1) * observed / expected)


def confusion(table: Table, categories: Sequence[str]) -> list[list[int]]:
    """The joint table as rows (the first rater's categories) by columns (the second's)."""
    return [[round(table.get((a, b), 0.0)) for b in categories] for a in categories]


def add_tables(tables: Iterable[Table]) -> dict[Cell, float]:
    total: dict[Cell, float] = {}
    for table in tables:
        for cell, value in table.items():
            total[cell] = total.get(cell, 0.0) + value
    return total


@dataclass(frozen=True)
class Bootstrap:
    """A percentile bootstrap interval, or None with the reason; how it was drawn."""

    interval: tuple[float, float] | None
    draws: int
    clusters: int
    undefined_draws: int = 0  # resamples in which the statistic was undefined, left out
    reason: str | None = None
    seed: int = 0
    level: float = LEVEL


def cluster_bootstrap(
    clusters: Sequence[Table],
    statistic: Callable[[Table], Estimate],
    draws: int = DRAWS,
    seed: int = 0,
    level: float = LEVEL,
) -> Bootstrap:
    """Percentile interval of ``statistic`` resampling whole clusters with replacement.

    Units of one cluster (in aflab: the samples of one query, both tiers and every epoch) are
    not independent, so they are drawn together: each of ``draws`` resamples picks as many
    clusters as there are, with replacement, and sums their tables. Resamples in which the
    statistic is undefined are left out and counted; if they are more than half, no interval
    is given. Seeded: the same clusters, seed and draws give the same interval.

    Args:
        clusters: each cluster's table (cells add up over units); empty ones are left out.
        statistic: the statistic of a summed table (e.g. :func:`cohen_kappa`).
        draws: number of resamples.
        seed: of the random generator (Python's Mersenne Twister).
        level: coverage of the interval, e.g. 0.95 (quantiles 2.5% and 97.5%).
    """
    if draws < 1:
        raise ValueError(f"draws must be at least 1, not {draws}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), not {level}")
    kept = [table for table in clusters if any(table.values())]

    def result(
        interval: tuple[float, float] | None, undefined: int, reason: str | None = None
    ) -> Bootstrap:
        return Bootstrap(interval, draws, len(kept), undefined, reason, seed, level)

    whole = statistic(add_tables(kept))
    if whole.value is None:
        return result(None, 0, whole.undefined)
    if len(kept) < 2:
        return result(None, 0, "one cluster: nothing to resample")
    # Clusters with the same table are interchangeable: a resample is how many times each
    # distinct table was picked, which keeps a draw cheap however many clusters there are.
    distinct: dict[tuple[tuple[Cell, float], ...], int] = {}
    kinds = [distinct.setdefault(tuple(sorted(t.items())), len(distinct)) for t in kept]
    tables = list(distinct)
    rng = random.Random(seed)
    values: list[float] = []
    for _ in range(draws):
        picked = Counter(rng.choices(kinds, k=len(kinds)))
        summed: dict[Cell, float] = {}
        for kind, times in picked.items():
            for cell, value in tables[kind]:
                summed[cell] = summed.get(cell, 0.0) + times * value
        estimate = statistic(summed)
        if estimate.value is not None:
            values.append(estimate.value)
    undefined = draws - len(values)
    if len(values) < MIN_DEFINED_SHARE * draws:
        return result(None, undefined, f"undefined in {undefined} of {draws} resamples")
    tail = (1 - level) / 2
    values.sort()
    return result((quantile(values, tail), quantile(values, 1 - tail)), undefined)


def quantile(ordered: Sequence[float], q: float) -> float:
    """The ``q`` quantile of sorted values, interpolated linearly between order statistics (the
    default of NumPy and R's type 7)."""
    if not ordered:
        raise ValueError("no values")
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])
