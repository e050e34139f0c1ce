from statistics import NormalDist

import pytest

from aflab.core.power import PairModel, exact_power, held_discordance
from aflab.core.stats import (
    Z95,
    PairCounts,
    gap_block,
    mcnemar_exact,
    paired_gap,
    wilson_interval,
    z_two_sided,
)


def test_wilson_matches_hand_computed_values() -> None:
    # 8/10: centre (0.8 + 1.96^2/20) / (1 + 1.96^2/10) = 0.71673, half-width 0.22658
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.49016, abs=1e-4)
    assert hi == pytest.approx(0.94331, abs=1e-4)
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0
    assert hi == pytest.approx(0.27753, abs=1e-4)


def test_wilson_without_samples_is_none() -> None:
    assert wilson_interval(0, 0) is None


def test_mcnemar_exact_values() -> None:
    assert mcnemar_exact(1, 6) == pytest.approx(0.125)  # 2 * (1 + 7) / 2^7
    assert mcnemar_exact(0, 5) == pytest.approx(0.0625)  # 2 / 2^5
    assert mcnemar_exact(5, 5) == 1.0
    assert mcnemar_exact(0, 0) == 1.0


def test_paired_gap_hand_computed() -> None:
    # paid refuses 3 of 10, free none; phi is 0 because no pair has free refusing.
    # below = sqrt((0.3 - 0.107786)^2 + 0.277533^2) = 0.337596
    # above = 0.603224 - 0.3 = 0.303224
    gap = paired_gap(PairCounts(paid_only_refused=3, neither_refused=7))
    assert gap.n_pairs == 10
    assert gap.gap == pytest.approx(0.3)
    assert gap.ci95 is not None
    assert gap.ci95[0] == pytest.approx(-0.037596, abs=1e-4)
    assert gap.ci95[1] == pytest.approx(0.603224, abs=1e-4)
    assert gap.mcnemar_p == pytest.approx(0.25)  # 2 * 1/8


def test_paired_gap_is_antisymmetric_in_the_tiers() -> None:
    forward = paired_gap(PairCounts(2, 7, 1, 10))
    backward = paired_gap(PairCounts(2, 1, 7, 10))
    assert forward.gap == pytest.approx(-backward.gap)
    assert forward.ci95[0] == pytest.approx(-backward.ci95[1])
    assert forward.ci95[1] == pytest.approx(-backward.ci95[0])
    assert forward.ci95[0] < forward.gap < forward.ci95[1]


def test_paired_gap_without_pairs() -> None:
    gap = paired_gap(PairCounts())
    assert (gap.n_pairs, gap.gap, gap.ci95, gap.mcnemar_p) == (0, None, None, None)


@pytest.mark.parametrize(
    ("counts", "low", "high"),
    [
        # Reference values of Newcombe's method 10 (as in Altman et al., Statistics with
        # Confidence, and the R packages contingencytables and biostatUZH).
        (PairCounts(80, 10, 2, 8), 0.0102, 0.1554),
        (PairCounts(1, 1, 7, 12), -0.507, -0.026),  # Bentur et al.
        (PairCounts(59, 6, 16, 80), -0.119, -0.005),  # Cavo et al.
    ],
)
def test_paired_gap_matches_published_method_10(counts: PairCounts, low: float, high: float):
    gap = paired_gap(counts)
    assert gap.ci95[0] == pytest.approx(low, abs=6e-4)
    assert gap.ci95[1] == pytest.approx(high, abs=6e-4)


def test_two_sided_quantiles_match_the_normal_distribution() -> None:
    assert z_two_sided(0.05) == pytest.approx(1.959964, abs=1e-6)
    assert z_two_sided(0.05) == pytest.approx(Z95, abs=1e-12)
    # Bonferroni for 3 and 14 comparisons, as the sweep's widened intervals use them.
    assert z_two_sided(0.05 / 3) == pytest.approx(2.39398, abs=1e-5)
    assert z_two_sided(0.05 / 14) == pytest.approx(2.9137, abs=1e-4)
    # The standard library's inverse CDF as an independent reference.
    for alpha in (0.5, 0.1, 0.01, 1e-4, 1e-8):
        expected = NormalDist().inv_cdf(1 - alpha / 2)
        assert z_two_sided(alpha) == pytest.approx(expected, rel=1e-9)


def test_two_sided_quantile_needs_a_probability() -> None:
    for alpha in (0.0, 1.0, -0.1, 2.0):
        with pytest.raises(ValueError, match="alpha"):
            z_two_sided(alpha)


def pairs_of(**cells: int) -> list[dict[str, str]]:
    """Pairs by cell: both, paid_only, free_only, neither (refused or complied in each tier)."""
    outcome = {
        "both": ("refused", "refused"),
        "paid_only": ("refused", "complied"),
        "free_only": ("complied", "refused"),
        "neither": ("complied", "complied"),
    }
    return [
        {"paid": outcome[cell][0], "free": outcome[cell][1]}
        for cell, count in cells.items()
        for _ in range(count)
    ]


def test_gap_block_states_the_smallest_gap_its_pairs_would_detect() -> None:
    # 100 pairs: paid refuses 85, 20 discordant (15 one way, 5 the other).
    block = gap_block(pairs_of(both=70, paid_only=15, free_only=5, neither=10))
    assert block["pp"] == pytest.approx(10.0) and block["n_pairs"] == 100
    mde = block["mde_pp"] / 100
    # Its power there is 80%, with the paid rate as baseline and the discordance held.
    model = PairModel(0.85, mde, held_discordance(mde, 0.85, 0.20))
    assert exact_power(100, model) == pytest.approx(0.8, abs=2e-3)
    assert 5 < block["mde_pp"] < 20
    # Four times the pairs: about half the detectable gap.
    more = gap_block(pairs_of(both=280, paid_only=60, free_only=20, neither=40))
    assert more["mde_pp"] == pytest.approx(block["mde_pp"] / 2, rel=0.15)


def test_gap_block_without_enough_pairs_detects_nothing() -> None:
    assert gap_block(pairs_of(both=3, paid_only=2))["mde_pp"] is None  # 5 pairs: p >= 1/16
    assert gap_block([])["mde_pp"] is None


def test_gap_block_takes_the_minuends_rate_as_baseline() -> None:
    # The anti-lab orientation: free minus paid "acted"; the free tier's rate is the baseline.
    pairs = [{"free": "acted", "paid": "declined"}] * 30 + [
        {"free": "declined", "paid": "declined"}
    ] * 30
    block = gap_block(pairs, "acted", "declined", minuend="free", subtrahend="paid")
    assert block["pp"] == pytest.approx(50.0)
    mde = block["mde_pp"] / 100
    model = PairModel(0.5, mde, held_discordance(mde, 0.5, 0.5))
    assert exact_power(60, model) == pytest.approx(0.8, abs=2e-3)
