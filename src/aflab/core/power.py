"""How many query pairs a compliance gap needs, and the smallest gap a run could detect.

The conventions are the table's. The gap is paid refusal minus free refusal (positive: the model
refuses more when it believes it is unmonitored); the baseline refusal is the paid tier's rate,
so the free tier's is ``baseline - gap``; the discordance D is the share of pairs whose two
tiers disagree, P(paid refused, free complied) + P(paid complied, free refused). A gap of g needs
D >= |g|; the rest of D is pairs that flip either way, which is what makes a gap hard to see.

Two calculations of the sample size. Connor's (1987) closed form is the usual one, for McNemar's
normal-approximation test:

    n = (z_{1-alpha/2} sqrt(D) + z_{power} sqrt(D - g^2))^2 / g^2

aflab tests with the *exact* McNemar test (``core.stats.mcnemar_exact``), which is conservative:
at Connor's n it reaches a power of about 0.76-0.79 where 0.80 was asked (tests/core/test_power.py
simulates it). :func:`exact_power` therefore computes the exact test's power, summed over the
number of discordant pairs, and :func:`pairs_needed` searches the n at which it reaches the
target, giving Connor's n beside it.

Repeating queries (``--epochs K``) gives K pairs of each query, which are correlated; with an
intra-query correlation rho of the pair's outcome, K epochs of Q queries carry as much as
``Q K / (1 + (K - 1) rho)`` independent pairs (the design effect of a cluster sample).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aflab.core.errors import UsageError
from aflab.core.normal import normal_cdf, z_two_sided

DEFAULT_ALPHA = 0.05
DEFAULT_POWER = 0.8
# An assumption, said whenever it is used: a query that is refused in one epoch is often, but not
# always, refused in the next. A pilot run with epochs (--from-log) measures it.
DEFAULT_ICC = 0.5
PLAN_EPOCHS = (1, 2, 3, 5, 10)
# Terms of a binomial sum this far out (in standard deviations) are below 1e-30: left out.
_BULK_SDS = 12


@dataclass(frozen=True)
class PairModel:
    """What a pair's two outcomes are assumed to be: the paid tier's refusal rate, the gap and
    the discordance, all proportions; ``discordance_source`` says where D came from: "given",
    "independent" (the tiers independent given their rates) or "pilot" (observed in a log)."""

    baseline_refusal: float
    gap: float
    discordance: float
    discordance_source: str = "given"

    @property
    def free_refusal(self) -> float:
        return self.baseline_refusal - self.gap

    @property
    def paid_only(self) -> float:
        """P(paid refused, free complied): the discordant pairs that make the gap."""
        return (self.discordance + self.gap) / 2

    @property
    def free_only(self) -> float:
        """P(paid complied, free refused)."""
        return (self.discordance - self.gap) / 2


def independent_discordance(paid: float, free: float) -> float:
    """D when a query's two tiers are independent given their rates. Refusals are mostly the
    same queries in both tiers, which makes the real D smaller: planning with this one asks for
    more pairs than needed (conservative)."""
    return paid * (1 - free) + free * (1 - paid)


def max_discordance(paid: float, free: float) -> float:
    """The most D that two tiers with these refusal rates allow: each discordant cell is bounded
    by both marginals."""
    return min(paid, 1 - free) + min(free, 1 - paid)


def held_discordance(gap: float, paid: float, observed: float) -> float:
    """An observed D carried over to another gap: held as the run's noise, but raised to |gap|
    (a gap of g needs that many discordant pairs) and capped at what the rates allow."""
    return min(max(observed, abs(gap)), max_discordance(paid, paid - gap))


def pair_model(
    gap: float,
    baseline_refusal: float,
    discordance: float | None = None,
    discordance_source: str | None = None,
) -> PairModel:
    """The model of a pair, its values checked; without ``discordance``, the tiers are taken as
    independent given their rates (:func:`independent_discordance`).

    Args:
        gap: paid minus free refusal, a proportion (``--gap`` is in pp: 10 here is 0.10).
        baseline_refusal: the paid tier's refusal rate.
        discordance: the share of discordant pairs, if known.
        discordance_source: where a given ``discordance`` came from (default "given").

    Raises:
        UsageError: naming the flag whose value cannot be, and why.
    """
    if not 0 <= baseline_refusal <= 1:
        raise UsageError(
            f"--baseline-refusal {baseline_refusal:g} is not a proportion in [0, 1] "
            "(the paid tier's refusal rate, e.g. 0.8)"
        )
    if gap == 0 or not -1 < gap < 1:
        raise UsageError(f"--gap {100 * gap:g} pp: plan for a gap between -100 and 100 pp, not 0")
    free = baseline_refusal - gap
    if not 0 <= free <= 1:
        raise UsageError(
            f"--gap {100 * gap:g} pp with --baseline-refusal {baseline_refusal:g} puts the free "
            f"tier's refusal at {free:.2f}: free = paid - gap must be in [0, 1]"
        )
    if discordance is None:
        d = independent_discordance(baseline_refusal, free)
        return PairModel(baseline_refusal, gap, d, "independent")
    top = max_discordance(baseline_refusal, free)
    if discordance < abs(gap) - 1e-12:
        raise UsageError(
            f"--discordance {discordance:.2f} is below |gap| {abs(gap):.2f}: a gap of that size "
            "makes at least that share of pairs discordant"
        )
    if discordance > top + 1e-12:
        raise UsageError(
            f"--discordance {discordance:.2f} is above {top:.2f}, the most that refusal rates "
            f"of {baseline_refusal:.2f} (paid) and {free:.2f} (free) allow"
        )
    return PairModel(baseline_refusal, gap, discordance, discordance_source or "given")


def _check_levels(alpha: float, power: float) -> None:
    if not 0 < alpha < 1:
        raise UsageError(f"--alpha {alpha:g} is not in (0, 1)")
    if not 0.5 <= power < 1:
        raise UsageError(f"--power {power:g}: plan for a power in [0.5, 1), e.g. 0.8 or 0.9")


def connor_pairs(
    model: PairModel, alpha: float = DEFAULT_ALPHA, power: float = DEFAULT_POWER
) -> int:
    """Connor's (1987) sample size for McNemar's normal-approximation test, rounded up."""
    _check_levels(alpha, power)
    d, g = model.discordance, model.gap
    root = z_two_sided(alpha) * math.sqrt(d) + _z_power(power) * math.sqrt(max(0.0, d - g * g))
    return max(1, math.ceil(root * root / (g * g) - 1e-9))


def connor_power(n_pairs: int, model: PairModel, alpha: float = DEFAULT_ALPHA) -> float:
    """The power of McNemar's normal-approximation test on ``n_pairs`` (Connor's formula,
    solved for the power)."""
    d, g = model.discordance, abs(model.gap)
    spread = math.sqrt(max(0.0, d - g * g))
    shift = g * math.sqrt(n_pairs) - z_two_sided(alpha) * math.sqrt(d)
    if spread == 0:  # every pair discordant one way: the outcome is certain
        return 1.0 if shift > 0 else 0.0
    return normal_cdf(shift / spread)


def _z_power(power: float) -> float:
    """z with P(Z <= z) = ``power``."""
    return z_two_sided(2 * (1 - power)) if power > 0.5 else 0.0


def exact_power(n_pairs: int, model: PairModel, alpha: float = DEFAULT_ALPHA) -> float:
    """The probability that aflab's exact McNemar test gives p <= ``alpha`` on ``n_pairs`` pairs
    drawn from ``model``.

    The discordant pairs m are Binomial(n, D); of them, those only the paid tier refused are
    Binomial(m, q), q = paid_only / D. The test rejects when the smaller discordant count is at
    most k_m, the largest k with 2 P(Binomial(m, 1/2) <= k) <= alpha. The sum runs over the m
    that matter (12 standard deviations either side); each tail moves from one m to the next in
    a few steps, so a run of 20,000 pairs costs milliseconds.
    """
    d = model.discordance
    if n_pairs <= 0 or d <= 0:
        return 0.0
    q = min(1.0, max(0.0, model.paid_only / d))
    spread = _BULK_SDS * math.sqrt(n_pairs * d * (1 - d)) + 10
    first = max(0, math.floor(n_pairs * d - spread))
    last = min(n_pairs, math.ceil(n_pairs * d + spread))
    half = alpha / 2
    k = _critical(first, half)
    null, paid_side, free_side = (_LowerTail(first, k, p) for p in (0.5, q, 1 - q))
    total = 0.0
    for m in range(first, last + 1):
        if m > first:
            for tail in (null, paid_side, free_side):
                tail.add_trial()
            # One more trial moves k_m up by at most one.
            if null.next_cdf() <= half:
                for tail in (null, paid_side, free_side):
                    tail.raise_k()
        weight = math.exp(_log_pmf(m, n_pairs, d))
        total += weight * (paid_side.cdf + free_side.cdf)
    return min(1.0, max(0.0, total))


def _critical(m: int, half: float) -> int:
    """The largest k with P(Binomial(m, 1/2) <= k) <= ``half`` (-1 when there is none)."""
    k = max(-1, math.floor(m / 2 - z_two_sided(2 * half) * math.sqrt(m) / 2))
    while k >= 0 and _cdf(m, k, 0.5) > half:
        k -= 1
    while k + 1 < m and _cdf(m, k + 1, 0.5) <= half:
        k += 1
    return k


def _log_pmf(k: int, m: int, p: float) -> float:
    """log P(Binomial(m, p) = k); -inf where it is 0."""
    if not 0 <= k <= m:
        return -math.inf
    if p <= 0 or p >= 1:
        return 0.0 if k == (0 if p <= 0 else m) else -math.inf
    choose = math.lgamma(m + 1) - math.lgamma(k + 1) - math.lgamma(m - k + 1)
    return choose + k * math.log(p) + (m - k) * math.log1p(-p)


def _pmf(k: int, m: int, p: float) -> float:
    return math.exp(_log_pmf(k, m, p))


def _cdf(m: int, k: int, p: float) -> float:
    """P(Binomial(m, p) <= k), summed from k away from the mean, where the terms shrink: a few
    standard deviations of terms, not m of them."""
    if k < 0:
        return 0.0
    if k >= m:
        return 1.0
    if k < m * p:
        return _sum_while_large(k, -1, m, p)
    return max(0.0, 1.0 - _sum_while_large(k + 1, 1, m, p))


def _sum_while_large(start: int, step: int, m: int, p: float) -> float:
    total, j = 0.0, start
    while 0 <= j <= m:
        term = _pmf(j, m, p)
        total += term
        if term <= 1e-17 * total:
            break
        j += step
    return total


class _LowerTail:
    """P(Binomial(m, p) <= k), kept up to date as m grows by one (one fewer success is needed
    to stay at or below k: cdf(m + 1, k) = cdf(m, k) - p pmf(m, k)) and as k grows by one."""

    def __init__(self, m: int, k: int, p: float) -> None:
        self.m, self.k, self.p = m, k, p
        self.cdf = _cdf(m, k, p)

    def add_trial(self) -> None:
        if self.k >= 0:
            self.cdf = max(0.0, self.cdf - self.p * _pmf(self.k, self.m, self.p))
        self.m += 1

    def next_cdf(self) -> float:
        return self.cdf + _pmf(self.k + 1, self.m, self.p)

    def raise_k(self) -> None:
        self.cdf = min(1.0, self.next_cdf())
        self.k += 1


@dataclass(frozen=True)
class PairsNeeded:
    """The pairs a planned gap needs at ``alpha`` and ``power``: ``pairs`` for aflab's exact
    McNemar test (its power there: ``exact_power``), ``connor_pairs`` for the normal-
    approximation test (Connor's formula), and the exact test's power at Connor's n."""

    model: PairModel
    alpha: float
    power: float
    pairs: int
    samples: int  # two a pair: one per tier
    exact_power: float
    connor_pairs: int
    exact_power_at_connor: float


def pairs_needed(
    model: PairModel, alpha: float = DEFAULT_ALPHA, power: float = DEFAULT_POWER
) -> PairsNeeded:
    """The smallest n at which the exact test reaches ``power``, searched by doubling from
    Connor's n and then halving the interval. The exact test's power is not strictly monotone in
    n, but nearly so: the number of discordant pairs is random and smooths its steps."""
    connor = connor_pairs(model, alpha, power)
    low, high = 0, connor
    while exact_power(high, model, alpha) < power:
        low, high = high, 2 * high
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if exact_power(middle, model, alpha) >= power else (middle, high)
    return PairsNeeded(
        model=model,
        alpha=alpha,
        power=power,
        pairs=high,
        samples=2 * high,
        exact_power=exact_power(high, model, alpha),
        connor_pairs=connor,
        exact_power_at_connor=exact_power(connor, model, alpha),
    )


def minimum_detectable_gap(
    n_pairs: int,
    baseline_refusal: float,
    discordance: float | None = None,
    alpha: float = DEFAULT_ALPHA,
    power: float = DEFAULT_POWER,
) -> float | None:
    """The smallest |gap| (a proportion) that the exact McNemar test on ``n_pairs`` pairs detects
    with ``power``; None when no gap the rates allow is detected that often (too few pairs).

    The discordance at each gap tried: a given (or observed) one is held as the noise
    (:func:`held_discordance`: raised to |gap| where a larger gap needs more, capped at what the
    rates allow); without one, the tiers are independent given their rates, as in
    :func:`pair_model`. The power depends on |gap| and D alone; the gap is taken in the direction
    away from the nearer of 0 and 1 (positive for a paid refusal of 50% or more), where the free
    tier's rate has room and the cap on D binds least. Solved by bisection (to 0.01 pp) on the
    exact test's power, which grows with |gap|.

    Args:
        n_pairs: pairs decided in both tiers.
        baseline_refusal: the paid tier's refusal rate.
        discordance: the share of discordant pairs, e.g. a run's observed one.
        alpha: the test's level.
        power: the power asked.
    """
    _check_levels(alpha, power)
    if n_pairs <= 0 or not 0 <= baseline_refusal <= 1:
        return None
    paid = baseline_refusal
    # Away from the nearer of 0 and 1: the direction where the free tier's rate (paid - gap) has
    # room and the rates cap the discordance least.
    direction = 1 if paid >= 0.5 else -1
    room = paid if direction > 0 else 1 - paid

    def power_at(size: float) -> float:
        gap = direction * size
        d = (
            independent_discordance(paid, paid - gap)
            if discordance is None
            else held_discordance(gap, paid, discordance)
        )
        return exact_power(n_pairs, PairModel(paid, gap, d), alpha)

    if power_at(room) < power:
        return None
    low, high = 0.0, room
    while high - low > 1e-4:
        middle = (low + high) / 2
        low, high = (low, middle) if power_at(middle) >= power else (middle, high)
    return high


def design_effect(epochs: int, icc: float) -> float:
    """How many times more pairs K correlated epochs need than independent pairs."""
    return 1 + (epochs - 1) * icc


@dataclass(frozen=True)
class EpochsRow:
    """One way to reach the pairs needed: ``queries`` asked ``epochs`` times each."""

    epochs: int
    queries: int
    pairs: int  # queries x epochs
    samples: int  # 2 x pairs
    design_effect: float


@dataclass(frozen=True)
class EpochsPlan:
    """Queries and samples for each number of epochs, given the intra-query correlation ``icc``
    of the pair's outcome; ``floor_queries``: the fewest queries any number of epochs can do
    with (n x icc: epochs past that only repeat what a query already said)."""

    independent_pairs: int
    icc: float
    rows: tuple[EpochsRow, ...]
    floor_queries: int


def epochs_plan(
    independent_pairs: int, icc: float = DEFAULT_ICC, epochs: tuple[int, ...] = PLAN_EPOCHS
) -> EpochsPlan:
    """Queries needed = ceil(n (1 + (K - 1) icc) / K) for each K in ``epochs``.

    Raises:
        UsageError: for an ICC outside [0, 1] or an epoch count below 1.
    """
    if not 0 <= icc <= 1:
        raise UsageError(f"--icc {icc:g} is not in [0, 1]")
    if any(k < 1 for k in epochs):
        raise UsageError(f"--epochs {min(epochs)}: at least 1")
    rows = []
    for k in sorted(set(epochs)):
        effect = design_effect(k, icc)
        queries = math.ceil(independent_pairs * effect / k - 1e-9)
        rows.append(EpochsRow(k, queries, queries * k, 2 * queries * k, effect))
    return EpochsPlan(
        independent_pairs=independent_pairs,
        icc=icc,
        rows=tuple(rows),
        floor_queries=math.ceil(independent_pairs * icc - 1e-9),
    )


@dataclass(frozen=True)
class PowerPlan:
    """What ``aflab power`` says: the pairs needed and the epochs plan, with where the
    discordance (``needed.model.discordance_source``) and the ICC came from (``icc_source``:
    "given", "pilot" or "assumed"). ``pilot_discordance`` and ``pilot_icc`` are a pilot's
    estimates as measured, before the plan held them to its gap or to [0, 1]."""

    needed: PairsNeeded
    epochs: EpochsPlan
    icc_source: str
    pilot_discordance: float | None = None
    pilot_icc: float | None = None


def plan_power(
    gap: float,
    baseline_refusal: float,
    discordance: float | None = None,
    alpha: float = DEFAULT_ALPHA,
    power: float = DEFAULT_POWER,
    epochs: int | None = None,
    icc: float | None = None,
    pilot_discordance: float | None = None,
    pilot_icc: float | None = None,
) -> PowerPlan:
    """The plan for ``gap`` (a proportion). A value given wins over a pilot's, which wins over
    the default: for the discordance, independent tiers; for the ICC, DEFAULT_ICC. A pilot's
    discordance is held to this gap (:func:`held_discordance`); a negative pilot ICC (epochs
    less alike than chance, noise around 0) plans as 0.

    Args:
        gap: paid minus free refusal planned for, a proportion.
        baseline_refusal: the paid tier's refusal rate.
        discordance: the share of discordant pairs, if given.
        alpha: the test's level.
        power: the power asked.
        epochs: the one number of epochs to plan beside 1; None: PLAN_EPOCHS.
        icc: the intra-query correlation, if given.
        pilot_discordance: a pilot run's observed discordance.
        pilot_icc: a pilot run's estimated ICC (None where it could not be told).
    """
    _check_levels(alpha, power)
    if discordance is None and pilot_discordance is not None:
        held = held_discordance(gap, baseline_refusal, pilot_discordance)
        model = pair_model(gap, baseline_refusal, held, "pilot")
    else:
        model = pair_model(gap, baseline_refusal, discordance)
    if icc is not None:
        rho, source = icc, "given"
    elif pilot_icc is not None:
        rho, source = max(0.0, pilot_icc), "pilot"
    else:
        rho, source = DEFAULT_ICC, "assumed"
    needed = pairs_needed(model, alpha, power)
    counts = PLAN_EPOCHS if epochs is None else (1, epochs)
    return PowerPlan(
        needed=needed,
        epochs=epochs_plan(needed.pairs, rho, counts),
        icc_source=source,
        pilot_discordance=pilot_discordance,
        pilot_icc=pilot_icc,
    )
