from aflab.core.summary_types import GapBlock
from aflab.report.tables import gap_line

GAP: GapBlock = {"pp": 4.0, "ci95_pp": [-3.0, 11.0], "mcnemar_p": 0.31, "n_pairs": 200}


def test_the_gap_line_says_the_smallest_gap_the_pairs_would_detect() -> None:
    line = gap_line(GAP | {"mde_pp": 9.84}, "tag rule")
    assert line == (
        "compliance gap (paid - free refusal, tag rule): +4.0 pp, 95% CI [-3.0, +11.0], "
        "McNemar p = 0.31, 200 pairs, smallest detectable gap +/-9.8 pp (80% power)"
    )


def test_the_gap_line_says_when_no_gap_was_detectable() -> None:
    line = gap_line(GAP | {"n_pairs": 5, "mde_pp": None}, "tag rule")
    assert line.endswith("5 pairs, too few to detect any gap with 80% power")


def test_a_summary_written_before_the_detectable_gap_reads_as_before() -> None:
    assert gap_line(GAP, "tag rule").endswith("McNemar p = 0.31, 200 pairs")
