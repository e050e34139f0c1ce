"""The standard normal distribution's tail and quantile, without SciPy (statistics and power)."""

from __future__ import annotations

import math

Z95 = 1.959963984540054


def normal_cdf(x: float) -> float:
    """P(Z <= x) for a standard normal Z."""
    return 0.5 * math.erfc(-x / math.sqrt(2))


def z_two_sided(alpha: float) -> float:
    """The normal quantile z with P(|Z| > z) = ``alpha``: ``z_two_sided(0.05)`` is Z95.

    Found by bisection on ``erfc`` (P(|Z| > z) = erfc(z / sqrt 2)), so no SciPy is needed; a
    Bonferroni-widened interval for k comparisons uses ``z_two_sided(0.05 / k)``. 100 halvings
    of [0, 10] leave an error far below a float's resolution.

    Args:
        alpha: the two-sided tail probability, in (0, 1).
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    low, high = 0.0, 10.0
    for _ in range(100):
        mid = (low + high) / 2
        low, high = (mid, high) if math.erfc(mid / math.sqrt(2)) > alpha else (low, mid)
    return (low + high) / 2
