"""Agreement statistics against hand computations, their undefined cases and the bootstrap."""

from fractions import Fraction

import pytest

from aflab.core.agreement import (
    Estimate,
    add_tables,
    cluster_bootstrap,
    cohen_kappa,
    coincidences,
    confusion,
    krippendorff_alpha,
    pair_table,
    percent_agreement,
    quantile,
)

# Two raters, 50 units, yes/no:
#                 second yes   second no
#   first yes         20            5        (25)
#   first no          10           15        (25)
#                    (30)          (20)
# p_o = (20 + 15) / 50 = 0.7; p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5;
# kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4 exactly.
# Alpha on the same ratings: n = 100 pairable values, 55 yes and 45 no; the 15 discordant units
# (m = 2) each add 1 to o_yn and to o_ny, so sum(o_ck, c != k) = 30 and sum(n_c n_k, c != k) =
# 2 * 55 * 45 = 4950: alpha = 1 - 99 * 30 / 4950 = 1 - 0.6 = 0.4 as well.
KAPPA_UNITS = (
    [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
)


def test_kappa_and_agreement_of_a_hand_computed_table() -> None:
    table = pair_table(KAPPA_UNITS)
    assert table == {("yes", "yes"): 20, ("yes", "no"): 5, ("no", "yes"): 10, ("no", "no"): 15}
    assert cohen_kappa(table).value == pytest.approx(0.4, abs=1e-12)
    assert percent_agreement(table).value == pytest.approx(0.7, abs=1e-12)
    assert confusion(table, ["yes", "no"]) == [[20, 5], [10, 15]]
    assert krippendorff_alpha(coincidences(KAPPA_UNITS)).value == pytest.approx(0.4, abs=1e-12)


def test_units_missing_a_rating_are_left_out_of_the_pair() -> None:
    table = pair_table([*KAPPA_UNITS, ("yes", None), (None, "no"), (None, None)])
    assert cohen_kappa(table).value == pytest.approx(0.4, abs=1e-12)


# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C: 4 observers,
# 12 units, values 1-5, missing ratings (None).
#   unit:  1  2  3  4  5  6  7  8  9 10 11 12
A = [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None]
B = [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3]
C = [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None]
D = [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]
# Unit 12 has one rating and pairs nothing. The pairable ratings: n = 40, with n_1 = 9, n_2 = 13,
# n_3 = 10, n_4 = 5, n_5 = 3. Disagreements: unit 2 (2, 2, 3, 2; m = 4) puts 3 ordered pairs
# of (2, 3) and 3 of (3, 2) at 1/3 each: 2; unit 6 (1, 2, 3, 4) has 12 ordered discordant pairs
# at 1/3: 4; unit 8 (1, 1, 2, 1) like unit 2: 2. So sum(o_ck, c != k) = 8, and
# sum(n_c n_k, c != k) = 40^2 - (81 + 169 + 100 + 25 + 9) = 1216:
# alpha = 1 - 39 * 8 / 1216 = 113 / 152 = 0.7434, the paper's 0.743.
KRIPPENDORFF = [
    [None if v is None else str(v) for v in unit] for unit in zip(A, B, C, D, strict=True)
]


def test_krippendorff_alpha_of_the_papers_example() -> None:
    matrix = coincidences(KRIPPENDORFF)
    # The paper's coincidence matrix, row 1 and the diagonal.
    assert matrix[("1", "1")] == pytest.approx(7)
    assert matrix[("1", "2")] == pytest.approx(4 / 3)
    assert matrix[("1", "3")] == matrix[("1", "4")] == pytest.approx(1 / 3)
    assert [matrix[(c, c)] for c in "2345"] == pytest.approx([10, 8, 4, 3])
    assert sum(matrix.values()) == pytest.approx(40)
    alpha = krippendorff_alpha(matrix)
    assert alpha.value == pytest.approx(float(Fraction(113, 152)), abs=1e-12)
    assert round(alpha.value, 3) == 0.743


def test_alpha_does_not_depend_on_the_order_of_raters_or_units() -> None:
    shuffled = [list(reversed(unit)) for unit in reversed(KRIPPENDORFF)]
    assert krippendorff_alpha(coincidences(shuffled)).value == pytest.approx(113 / 152)


def test_perfect_and_opposite_agreement() -> None:
    perfect = pair_table([("a", "a"), ("b", "b"), ("a", "a")])
    assert cohen_kappa(perfect) == Estimate(1.0)
    assert krippendorff_alpha(coincidences([("a", "a"), ("b", "b"), ("a", "a")])).value == 1.0
    # Always opposite, shares 50/50: p_o = 0, p_e = 0.5, kappa = -1.
    opposite = pair_table([("a", "b"), ("b", "a")])
    assert cohen_kappa(opposite).value == pytest.approx(-1.0)


def test_undefined_cases_say_why_and_give_no_number() -> None:
    one_category = pair_table([("no", "no")] * 5)
    kappa = cohen_kappa(one_category)
    assert kappa.value is None and "chance agreement is 1" in (kappa.undefined or "")
    assert percent_agreement(one_category).value == 1.0  # defined: they did agree
    alpha = krippendorff_alpha(coincidences([("no", "no")] * 5))
    assert alpha.value is None and "expected disagreement is 0" in (alpha.undefined or "")
    assert cohen_kappa({}) == Estimate(None, "no unit rated by both")
    assert percent_agreement({}) == Estimate(None, "no unit rated by both")
    lonely = coincidences([("a", None), (None, "b")])
    assert lonely == {} and krippendorff_alpha(lonely) == Estimate(None, "no unit has two ratings")
    # Each rater always gives its own one category: p_e = 0, kappa = 0, defined.
    assert cohen_kappa(pair_table([("a", "b")] * 3)).value == 0.0


def test_quantile_interpolates_like_numpy() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    assert quantile(values, 0.0) == 1.0 and quantile(values, 1.0) == 4.0
    assert quantile(values, 0.5) == 2.5
    assert quantile(values, 0.025) == pytest.approx(1.075)  # numpy.quantile gives 1.075


def clusters_of(units: list[tuple[str, str]], size: int) -> list[dict]:
    return [pair_table(units[i : i + size]) for i in range(0, len(units), size)]


def test_bootstrap_is_seeded_and_brackets_the_estimate() -> None:
    clusters = clusters_of(KAPPA_UNITS, 1)
    first = cluster_bootstrap(clusters, cohen_kappa, draws=500, seed=7)
    again = cluster_bootstrap(clusters, cohen_kappa, draws=500, seed=7)
    other = cluster_bootstrap(clusters, cohen_kappa, draws=500, seed=8)
    assert first == again and first.interval != other.interval
    low, high = first.interval
    assert low < 0.4 < high and low >= -1 and high <= 1
    assert (first.draws, first.clusters, first.seed, first.level) == (500, 50, 7, 0.95)
    assert add_tables(clusters) == pair_table(KAPPA_UNITS)


def test_units_of_one_cluster_move_together() -> None:
    """Each cluster here is 10 units on which the raters always agree or always disagree: every
    resample's agreement is a multiple of 10 units, and the interval is wider than if the 50
    units were independent (fewer effective draws)."""
    units = [("yes", "yes")] * 20 + [("yes", "no")] * 10 + [("no", "no")] * 20
    clustered = clusters_of(units, 10)
    assert len(clustered) == 5
    seen: set[float] = set()

    def recording(table) -> Estimate:
        seen.add(sum(table.values()))
        return percent_agreement(table)

    wide = cluster_bootstrap(clustered, recording, draws=300, seed=1)
    assert seen == {50.0}  # every resample holds 5 clusters of 10 units
    independent = cluster_bootstrap(clusters_of(units, 1), percent_agreement, draws=300, seed=1)
    assert wide.clusters == 5 and independent.clusters == 50
    width = wide.interval[1] - wide.interval[0]
    assert width > independent.interval[1] - independent.interval[0]
    # With 5 clusters of whole agreement or disagreement, every value is k / 5.
    assert all(round(v * 5, 9) == round(v * 5) for v in wide.interval)


def test_bootstrap_of_an_undefined_or_unresamplable_statistic() -> None:
    undefined = cluster_bootstrap(clusters_of([("no", "no")] * 6, 2), cohen_kappa)
    assert undefined.interval is None and "chance agreement is 1" in (undefined.reason or "")
    single = cluster_bootstrap([pair_table(KAPPA_UNITS)], cohen_kappa)
    assert single.interval is None and single.reason == "one cluster: nothing to resample"
    # Resamples in which the statistic is undefined are left out and counted: one cluster of
    # "yes" among 39 of "no" is missed by about (38/39)^39 = 36% of resamples, where kappa is 0/0.
    rare = clusters_of([("no", "no")] * 38 + [("yes", "yes")], 1)
    sparse = cluster_bootstrap(rare, cohen_kappa, draws=200)
    assert sparse.interval == (1.0, 1.0) and 40 < sparse.undefined_draws < 100

    # Undefined in more than half of them: no interval. Here the statistic is defined only when
    # the resample holds exactly two "yes" units, as the data do (about 27% of resamples).
    def exactly_two(table) -> Estimate:
        return percent_agreement(table) if table.get(("yes", "yes")) == 2 else Estimate(None, "")

    two = clusters_of([("no", "no")] * 37 + [("yes", "yes")] * 2, 1)
    mostly_undefined = cluster_bootstrap(two, exactly_two, draws=200)
    assert mostly_undefined.interval is None and mostly_undefined.undefined_draws > 100
    assert mostly_undefined.reason == (
        f"undefined in {mostly_undefined.undefined_draws} of 200 resamples"
    )
    with pytest.raises(ValueError):
        cluster_bootstrap(rare, percent_agreement, draws=0)
