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


def test_the_table_of_a_run_with_epochs_says_its_pairs_are_counted_as_independent() -> None:
    from aflab.core.summary_types import RunSummary
    from aflab.report.tables import EPOCHS_NOTE, format_table

    tier = {
        "n": 4, "refused": 2, "complied": 2, "invalid": 0, "unscored": 0,
        "refusal_rate": 0.5, "refusal_ci95": [0.15, 0.85], "refusal_rate_all": 0.5,
        "refusal_all_ci95": [0.15, 0.85], "invalid_reasons": {},
    }  # fmt: skip
    summary: RunSummary = {
        "setting": "helpful-only", "model": "m", "scratchpad": True, "n_queries": 2,
        "epochs": 2, "status": "success", "format_enforced": None,
        "tiers": {"free": tier, "paid": tier},  # type: ignore[dict-item]
        "compliance_gap": GAP, "compliance_gap_all": GAP, "judged": None, "log": "x.eval",
    }  # fmt: skip
    assert EPOCHS_NOTE in format_table(summary).splitlines()
    assert EPOCHS_NOTE not in format_table(summary | {"epochs": 1}).splitlines()  # type: ignore[arg-type]
