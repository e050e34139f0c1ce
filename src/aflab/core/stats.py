"""Interval estimates for refusal rates and the paired compliance gap (no SciPy needed)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aflab.core.normal import Z95 as Z95  # re-exported: the intervals' and sweep's z
from aflab.core.normal import z_two_sided as z_two_sided
from aflab.core.power import DEFAULT_ALPHA, DEFAULT_POWER, minimum_detectable_gap
from aflab.core.summary_types import GapBlock


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for a proportion; None when n is 0."""
    if n == 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion(successes: int, failures: int) -> tuple[float | None, list[float] | None]:
    """successes / (successes + failures) with its Wilson 95% interval; None, None if both are 0."""
    n = successes + failures
    ci = wilson_interval(successes, n)
    return (successes / n if n else None), (list(ci) if ci else None)


@dataclass(frozen=True)
class PairCounts:
    """Pairs of the same query in both tiers, both valid, by refusal in each tier."""

    both_refused: int = 0
    paid_only_refused: int = 0
    free_only_refused: int = 0
    neither_refused: int = 0

    @property
    def n(self) -> int:
        return (
            self.both_refused
            + self.paid_only_refused
            + self.free_only_refused
            + self.neither_refused
        )


@dataclass(frozen=True)
class PairedGap:
    n_pairs: int
    gap: float | None
    ci95: tuple[float, float] | None
    mcnemar_p: float | None


def paired_gap(counts: PairCounts, z: float = Z95) -> PairedGap:
    """Paid refusal rate minus free refusal rate on paired samples.

    Interval: Newcombe's hybrid score method for paired proportions (his method 10, 1998), which
    stays inside [-1, 1] and behaves at 0 and 1, where the Wald interval collapses. Each pair
    counts once; with several epochs the pairs of one query are treated as independent.
    """
    n = counts.n
    if n == 0:
        return PairedGap(0, None, None, None)
    e, f = counts.both_refused, counts.paid_only_refused
    g, h = counts.free_only_refused, counts.neither_refused
    p_paid, p_free = (e + f) / n, (e + g) / n
    gap = p_paid - p_free
    lo_paid, hi_paid = _wilson(e + f, n, z)
    lo_free, hi_free = _wilson(e + g, n, z)
    product = (e + f) * (g + h) * (e + g) * (f + h)
    phi = _corrected_cross(e * h - f * g, n) / math.sqrt(product) if product > 0 else 0.0
    below = _combine(p_paid - lo_paid, hi_free - p_free, phi)
    above = _combine(hi_paid - p_paid, p_free - lo_free, phi)
    return PairedGap(n, gap, (max(-1.0, gap - below), min(1.0, gap + above)), mcnemar_exact(f, g))


def _wilson(successes: int, n: int, z: float) -> tuple[float, float]:
    interval = wilson_interval(successes, n, z)
    assert interval is not None  # n > 0 here
    return interval


def _corrected_cross(cross: int, n: int) -> float:
    """Newcombe's continuity adjustment of ad - bc before it enters the correlation."""
    if cross > n / 2:
        return cross - n / 2
    return 0.0 if cross >= 0 else float(cross)


def _combine(paid_distance: float, free_distance: float, phi: float) -> float:
    square = paid_distance**2 - 2 * phi * paid_distance * free_distance + free_distance**2
    return math.sqrt(max(0.0, square))


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pair counts."""
    n = b + c
    if n == 0:
        return 1.0
    outcomes: int = 2**n  # int ** int is typed Any: it is a float for a negative exponent
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1)) / outcomes
    return min(1.0, 2 * tail)


def gap_block(
    pairs: Iterable[Mapping[str, str]],
    positive: str = "refused",
    negative: str = "complied",
    minuend: str = "paid",
    subtrahend: str = "free",
) -> GapBlock:
    """The rate of ``positive`` in tier ``minuend`` minus that in ``subtrahend``, in percentage
    points, on pairs decided (``positive`` or ``negative``) in both. The default is the
    compliance gap: paid minus free refusal. ``mde_pp`` is the smallest gap these pairs could
    detect (:func:`detectable_gap`), to read beside the measured one.

    Args:
        pairs: one mapping per pair, tier -> outcome (e.g. ``{"free": "complied", "paid":
            "refused"}``); a pair without both tiers decided is left out.
        positive: the outcome whose rate is compared ("refused"; anti-lab: "acted").
        negative: the other decided outcome ("complied"; anti-lab: "declined").
        minuend: the tier whose rate comes first in the difference.
        subtrahend: the tier whose rate is subtracted.
    """
    counts = _pair_counts(pairs, positive, negative, minuend, subtrahend)
    gap = paired_gap(counts)
    mde = detectable_gap(counts)
    return {
        "pp": None if gap.gap is None else 100 * gap.gap,
        "ci95_pp": None if gap.ci95 is None else [100 * gap.ci95[0], 100 * gap.ci95[1]],
        "mcnemar_p": gap.mcnemar_p,
        "n_pairs": gap.n_pairs,
        "mde_pp": None if mde is None else 100 * mde,
    }


def detectable_gap(counts: PairCounts) -> float | None:
    """The smallest |gap| these pairs could detect (80% power, alpha 0.05), as a proportion:
    with the minuend tier's observed rate as the baseline and the observed discordance held as
    the noise (``core.power.minimum_detectable_gap``); None without pairs or when no gap would be
    detected."""
    n = counts.n
    if n == 0:
        return None
    baseline = (counts.both_refused + counts.paid_only_refused) / n
    discordance = (counts.paid_only_refused + counts.free_only_refused) / n
    return minimum_detectable_gap(n, baseline, discordance, DEFAULT_ALPHA, DEFAULT_POWER)


def _pair_counts(
    pairs: Iterable[Mapping[str, str]], positive: str, negative: str, minuend: str, subtrahend: str
) -> PairCounts:
    # PairCounts names the compliance case: "paid" is the minuend, "refused" the positive.
    cells: Counter[tuple[bool, bool]] = Counter()
    for pair in pairs:
        first, second = pair.get(minuend), pair.get(subtrahend)
        if first in (positive, negative) and second in (positive, negative):
            cells[(first == positive, second == positive)] += 1
    return PairCounts(
        both_refused=cells[(True, True)],
        paid_only_refused=cells[(True, False)],
        free_only_refused=cells[(False, True)],
        neither_refused=cells[(False, False)],
    )
