import math
import random
from itertools import product

import pytest

from aflab.core.errors import UsageError
from aflab.core.power import (
    PairModel,
    connor_pairs,
    connor_power,
    design_effect,
    epochs_plan,
    exact_power,
    held_discordance,
    independent_discordance,
    max_discordance,
    minimum_detectable_gap,
    pair_model,
    pairs_needed,
    plan_power,
)
from aflab.core.stats import mcnemar_exact

# --- the model of a pair -------------------------------------------------------------------------


def test_the_four_cells_follow_from_paid_rate_gap_and_discordance() -> None:
    model = pair_model(0.10, 0.80, 0.30)
    assert model.free_refusal == pytest.approx(0.70)
    assert model.paid_only == pytest.approx(0.20)  # (D + gap) / 2
    assert model.free_only == pytest.approx(0.10)  # (D - gap) / 2
    assert model.paid_only - model.free_only == pytest.approx(model.gap)
    assert model.discordance_source == "given"


def test_without_discordance_the_tiers_are_independent() -> None:
    # paid 0.8, free 0.7: 0.8 * 0.3 + 0.7 * 0.2 = 0.38
    model = pair_model(0.10, 0.80)
    assert model.discordance == pytest.approx(0.38)
    assert model.discordance_source == "independent"
    assert independent_discordance(0.8, 0.7) == pytest.approx(0.38)


def test_the_most_discordance_two_rates_allow() -> None:
    assert max_discordance(0.8, 0.7) == pytest.approx(0.3 + 0.2)
    assert max_discordance(0.5, 0.5) == pytest.approx(1.0)  # every pair can disagree
    assert max_discordance(1.0, 0.9) == pytest.approx(0.1)  # only the free tier's complies


def test_held_discordance_is_raised_to_the_gap_and_capped_by_the_rates() -> None:
    assert held_discordance(0.05, 0.8, 0.2) == pytest.approx(0.2)  # as observed
    assert held_discordance(0.3, 0.8, 0.2) == pytest.approx(0.3)  # a gap of 0.3 needs 0.3
    assert held_discordance(-0.15, 0.9, 0.4) == pytest.approx(max_discordance(0.9, 1.0 + 0.05))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0.10, 0.80, 0.05), "--discordance 0.05 is below |gap| 0.10"),
        ((0.10, 0.80, 0.60), "--discordance 0.60 is above 0.50, the most that refusal rates"),
        ((0.10, 1.20, None), "--baseline-refusal 1.2 is not a proportion in [0, 1]"),
        ((0.90, 0.50, None), "--gap 90 pp with --baseline-refusal 0.5 puts the free tier's"),
        ((0.0, 0.50, None), "--gap 0 pp: plan for a gap between -100 and 100 pp, not 0"),
    ],
)
def test_impossible_values_name_their_flag(args, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("|", r"\|").replace("[", r"\[")):
        pair_model(*args)


@pytest.mark.parametrize(
    ("alpha", "power", "flag"),
    [(0.0, 0.8, "--alpha 0"), (0.05, 1.0, "--power 1"), (0.05, 0.3, "--power 0.3")],
)
def test_levels_are_checked(alpha: float, power: float, flag: str) -> None:
    with pytest.raises(UsageError, match=flag):
        connor_pairs(pair_model(0.1, 0.8), alpha, power)


# --- Connor's closed form ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gap", "discordance", "alpha", "power", "expected"),
    [
        # (1.959964 * sqrt .2 + 0.841621 * sqrt .19)^2 / .01 = (0.876524 + 0.366854)^2 / .01
        # = 154.60 -> 155
        (0.10, 0.20, 0.05, 0.8, 155),
        # (1.959964 * sqrt .3 + 0.841621 * sqrt .26)^2 / .04 = 1.502661^2 / .04 = 56.45 -> 57
        (0.20, 0.30, 0.05, 0.8, 57),
        # (2.575829 * sqrt .2 + 1.281552 * sqrt .19)^2 / .01 = 1.710560^2 / .01 = 292.60 -> 293
        (0.10, 0.20, 0.01, 0.9, 293),
        # The sign of the gap does not matter.
        (-0.10, 0.20, 0.05, 0.8, 155),
    ],
)
def test_connor_matches_hand_computed_values(gap, discordance, alpha, power, expected) -> None:
    model = PairModel(0.5, gap, discordance)
    assert connor_pairs(model, alpha, power) == expected


def test_connor_power_inverts_the_sample_size() -> None:
    model = PairModel(0.8, 0.1, 0.2)
    n = connor_pairs(model)
    assert connor_power(n, model) >= 0.8 > connor_power(n - 1, model)


# --- the exact test's power ----------------------------------------------------------------------


def enumerated_power(n: int, model: PairModel, alpha: float) -> float:
    """Every (paid only, free only, concordant) split of n pairs, tested by aflab's own test."""
    b_p, c_p = model.paid_only, model.free_only
    total = 0.0
    for b, c in product(range(n + 1), repeat=2):
        rest = n - b - c
        if rest < 0 or mcnemar_exact(b, c) > alpha:
            continue
        ways = math.comb(n, b) * math.comb(n - b, c)
        total += ways * b_p**b * c_p**c * (1 - b_p - c_p) ** rest
    return total


@pytest.mark.parametrize(
    ("n", "model", "alpha"),
    [
        (30, PairModel(0.8, 0.10, 0.30), 0.05),
        (40, PairModel(0.6, -0.15, 0.25), 0.05),
        (25, PairModel(0.9, 0.20, 0.20), 0.01),  # every discordant pair one way
        (60, PairModel(0.5, 0.05, 0.60), 0.10),
    ],
)
def test_exact_power_is_the_exact_tests_rejection_probability(n, model, alpha) -> None:
    assert exact_power(n, model, alpha) == pytest.approx(
        enumerated_power(n, model, alpha), abs=1e-9
    )


def test_exact_power_when_every_discordant_pair_goes_one_way() -> None:
    # The test rejects from 6 discordant pairs on (2 / 2^6 <= 0.05 < 2 / 2^5), so the power is
    # P(Binomial(20, 0.3) >= 6) = 1 - 0.416371 = 0.583629.
    assert exact_power(20, PairModel(0.9, 0.3, 0.3)) == pytest.approx(0.583629, abs=1e-6)
    assert exact_power(5, PairModel(0.9, 0.3, 0.3)) == 0.0  # 5 pairs can never reach p <= 0.05


def test_the_exact_test_needs_more_pairs_than_connor_says() -> None:
    needed = pairs_needed(pair_model(0.10, 0.80, 0.20))
    assert needed.connor_pairs == 155
    assert needed.exact_power_at_connor < 0.78  # the exact test is conservative
    assert needed.pairs > needed.connor_pairs
    assert needed.exact_power >= 0.8 > exact_power(needed.pairs - 1, needed.model)
    assert needed.samples == 2 * needed.pairs


def test_pairs_needed_moves_the_right_way() -> None:
    def pairs(gap=0.10, paid=0.8, d=0.25, alpha=0.05, power=0.8) -> int:
        return pairs_needed(pair_model(gap, paid, d), alpha, power).pairs

    assert pairs(gap=0.05) > pairs(gap=0.10) > pairs(gap=0.20)
    assert pairs(d=0.40) > pairs(d=0.25) > pairs(d=0.12)
    assert pairs(power=0.9) > pairs(power=0.8)
    assert pairs(alpha=0.01) > pairs(alpha=0.05)


def test_minimum_detectable_gap_is_where_the_power_reaches_the_target() -> None:
    gap = minimum_detectable_gap(200, 0.8, 0.25)
    assert gap is not None
    model = PairModel(0.8, gap, held_discordance(gap, 0.8, 0.25))
    assert exact_power(200, model) == pytest.approx(0.8, abs=2e-3)
    assert minimum_detectable_gap(800, 0.8, 0.25) < gap < minimum_detectable_gap(50, 0.8, 0.25)


def test_minimum_detectable_gap_without_enough_pairs_is_none() -> None:
    assert minimum_detectable_gap(5, 0.8, 0.2) is None  # 5 pairs never reach p <= 0.05
    assert minimum_detectable_gap(0, 0.8, 0.2) is None
    # A paid tier that never refuses: a gap can only be negative (free refusing more).
    assert minimum_detectable_gap(100, 0.0, 0.0) == pytest.approx(
        minimum_detectable_gap(100, 1.0, 0.0)
    )


# --- epochs --------------------------------------------------------------------------------------


def test_epochs_plan_applies_the_design_effect() -> None:
    plan = epochs_plan(300, icc=0.5)
    rows = {row.epochs: row for row in plan.rows}
    assert [row.epochs for row in plan.rows] == [1, 2, 3, 5, 10]
    assert (rows[1].queries, rows[1].samples) == (300, 600)
    assert rows[2].design_effect == 1.5 and rows[2].queries == 225  # 300 * 1.5 / 2
    assert (rows[5].queries, rows[5].pairs, rows[5].samples) == (180, 900, 1800)  # 300 * 3 / 5
    assert plan.floor_queries == 150
    assert all(row.queries >= plan.floor_queries for row in plan.rows)


def test_epochs_of_uncorrelated_queries_are_as_good_as_new_queries() -> None:
    plan = epochs_plan(300, icc=0.0, epochs=(1, 3))
    assert [(row.queries, row.samples) for row in plan.rows] == [(300, 600), (100, 600)]
    # Perfectly correlated: a repeat says nothing new.
    assert {row.queries for row in epochs_plan(300, icc=1.0).rows} == {300}


def test_epochs_plan_checks_its_values() -> None:
    with pytest.raises(UsageError, match="--icc 1.5 is not in"):
        epochs_plan(100, icc=1.5)
    with pytest.raises(UsageError, match="--epochs 0"):
        epochs_plan(100, epochs=(0,))


def test_a_plan_takes_given_values_over_a_pilots_over_the_defaults() -> None:
    default = plan_power(0.10, 0.80)
    assert default.needed.model.discordance_source == "independent"
    assert (default.epochs.icc, default.icc_source) == (0.5, "assumed")
    piloted = plan_power(0.10, 0.80, pilot_discordance=0.25, pilot_icc=0.3)
    assert (piloted.needed.model.discordance, piloted.needed.model.discordance_source) == (
        0.25,
        "pilot",
    )
    assert (piloted.epochs.icc, piloted.icc_source) == (0.3, "pilot")
    given = plan_power(0.10, 0.80, 0.2, icc=0.1, pilot_discordance=0.25, pilot_icc=0.3)
    assert given.needed.model.discordance_source == "given" and given.icc_source == "given"
    assert given.needed.pairs < piloted.needed.pairs  # less noise, fewer pairs


def test_a_plan_holds_a_pilots_values_to_what_the_gap_allows() -> None:
    # A pilot with 5% discordant pairs cannot carry a 10 pp gap: raised to 10%.
    plan = plan_power(0.10, 0.80, pilot_discordance=0.05, pilot_icc=-0.2)
    assert plan.needed.model.discordance == pytest.approx(0.10)
    assert plan.pilot_discordance == 0.05
    assert plan.epochs.icc == 0.0 and plan.pilot_icc == -0.2  # a negative estimate plans as 0
    assert [row.epochs for row in plan_power(0.1, 0.8, epochs=4).epochs.rows] == [1, 4]


# --- simulations: the calculation against the project's own test --------------------------------

REPS = 2000


def simulated_power(n: int, model: PairModel, rng: random.Random, alpha: float = 0.05) -> float:
    """Draw n pairs from the model's four cells REPS times and apply aflab's exact McNemar test."""
    paid_only, discordant = model.paid_only, model.discordance
    rejected = 0
    for _ in range(REPS):
        b = c = 0
        for _ in range(n):
            u = rng.random()
            if u < paid_only:
                b += 1
            elif u < discordant:
                c += 1
        rejected += mcnemar_exact(b, c) <= alpha
    return rejected / REPS


@pytest.mark.parametrize(
    ("gap", "paid", "discordance"),
    [
        (0.10, 0.80, None),  # the independence default: 313 pairs
        (0.15, 0.95, 0.20),
        (-0.20, 0.30, 0.32),
    ],
)
def test_simulated_power_at_pairs_needed_is_the_target(gap, paid, discordance) -> None:
    needed = pairs_needed(pair_model(gap, paid, discordance))
    rng = random.Random(17)
    simulated = simulated_power(needed.pairs, needed.model, rng)
    # 2000 draws: a standard error of 0.009.
    assert simulated == pytest.approx(0.80, abs=0.03)
    assert simulated == pytest.approx(needed.exact_power, abs=0.03)


def test_simulation_confirms_connors_n_falls_short_for_the_exact_test() -> None:
    needed = pairs_needed(pair_model(0.10, 0.80, 0.20))
    simulated = simulated_power(needed.connor_pairs, needed.model, random.Random(3))
    assert simulated == pytest.approx(needed.exact_power_at_connor, abs=0.03)
    assert simulated < 0.79


def test_simulated_power_at_the_minimum_detectable_gap_is_80_percent() -> None:
    n, paid, observed = 150, 0.85, 0.22
    gap = minimum_detectable_gap(n, paid, observed)
    assert gap is not None
    model = PairModel(paid, gap, held_discordance(gap, paid, observed))
    assert simulated_power(n, model, random.Random(5)) == pytest.approx(0.80, abs=0.03)


def test_simulated_epochs_inflate_the_variance_by_the_design_effect() -> None:
    """Correlated epochs: each query has a latent pair outcome; each epoch repeats it with
    probability sqrt(rho), else draws afresh from the same cells, so two epochs of a query agree
    beyond chance with correlation rho. The mean paired difference over Q queries x K epochs
    then varies 1 + (K - 1) rho times as much as over Q K independent pairs."""
    model = pair_model(0.10, 0.80, 0.30)
    cells = [(model.paid_only, 1), (model.discordance, -1)]  # cumulative cut, difference

    def difference(u: float) -> int:
        return next((d for cut, d in cells if u < cut), 0)

    variance = model.discordance - model.gap**2  # Var(paid refused - free refused)
    rng = random.Random(11)
    queries, reps = 40, 1500
    for epochs, rho in ((3, 0.5), (4, 0.2), (3, 0.0)):
        keep = math.sqrt(rho)
        means = []
        for _ in range(reps):
            total = 0
            for _ in range(queries):
                latent = difference(rng.random())
                for _ in range(epochs):
                    total += latent if rng.random() < keep else difference(rng.random())
            means.append(total / (queries * epochs))
        centre = sum(means) / reps
        observed = sum((m - centre) ** 2 for m in means) / (reps - 1)
        ratio = observed / (variance / (queries * epochs))
        # 1500 draws: the variance is known to about 4%.
        assert ratio == pytest.approx(design_effect(epochs, rho), rel=0.12), (epochs, rho)
