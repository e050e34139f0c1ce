"""Figures from the fixture logs: files on disk, and the numbers they drew read back."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from aflab.analysis.runs import runs_frame
from aflab.report.figures import AF, GREY, NO_AF, NOT_JUDGED, REFUSES, write_figures

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# By design of tests/report/fixtures.py: 4 queries per tier; free: query 3 refuses, 0 and 1
# comply reasoning about preserving values (AF), 2 complies without; paid: all refuse but
# query 3, whose output has no tags (invalid).
FREE = {REFUSES: 1, AF: 2, NO_AF: 1, GREY: 0}
PAID = {REFUSES: 3, AF: 0, NO_AF: 0, GREY: 1}


@pytest.fixture(scope="module")
def runs(report_logs) -> pd.DataFrame:
    return runs_frame(report_logs[1])


@pytest.fixture(scope="module")
def drawn(runs: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("figures")
    return folder, write_figures(runs, folder)


def without_judges(runs: pd.DataFrame) -> pd.DataFrame:
    """The frame of the same runs as if no judge had run: what results gives for such logs."""
    plain = runs.copy()
    for column in plain.columns:
        if "_af" in column or "unscored" in column or column.startswith("tag_gap"):
            plain[column] = None
    return plain.assign(af_judge=None, compliance_rule="tag")


def test_every_figure_is_written_as_png_and_svg(drawn) -> None:
    folder, figures = drawn
    assert set(figures) == {"bars_0", "bars_1", "gap", "af_rate"}
    for name in figures:
        for ext in ("png", "svg"):
            assert (folder / f"{name}.{ext}").stat().st_size > 1000, f"{name}.{ext}"


def test_png_is_a_real_image(drawn) -> None:
    folder, _ = drawn
    data = (folder / "bars_0.png").read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 10_000
    assert b"<svg" in (folder / "bars_0.svg").read_bytes()[:1000]


def test_bars_hold_the_hand_computed_counts(drawn, runs: pd.DataFrame) -> None:
    _, figures = drawn
    for i, row in runs.iterrows():
        bars = figures[f"bars_{i}"]
        assert bars["tiers"]["free"] == {"label": "training (free)", "n": 4, "segments": FREE}
        assert bars["tiers"]["paid"] == {"label": "unmonitored (paid)", "n": 4, "segments": PAID}
        # Drawing order is the paper's: refuses, AF (hatched), no AF, grey.
        assert list(bars["tiers"]["free"]["segments"]) == [REFUSES, AF, NO_AF, GREY]
        head, when = bars["title"].split("\n")  # no marker: a finished run of an API model
        assert head == f"mockllm/model · helpful-only · {row['variation']}"
        # What tells apart runs of one configuration: when each started, and its log.
        assert when == f"{row['created'][:19].replace('T', ' ')} · log …{row['run'][-22:]}"
    assert [figures[f"bars_{i}"]["title"].split("\n")[0].split(" · ")[-1] for i in (0, 1)] == [
        "default",
        "lab=OpenAI",
    ]


def test_a_run_on_the_embedded_model_or_unfinished_says_so_in_its_titles(
    runs: pd.DataFrame, tmp_path: Path
) -> None:
    frame = runs.assign(model="aflab/smollm2", format_enforced="grammar")
    frame.loc[1, "status"] = "cancelled"
    figures = write_figures(frame, tmp_path)
    first, second = figures["bars_0"]["title"], figures["bars_1"]["title"]
    assert "embedded 135M demo model: it shows no alignment faking" in first.replace("\n", " ")
    assert first.endswith("format enforced by grammar") and "partial" not in first
    assert "cancelled: partial results" in second
    for name in ("gap", "af_rate"):
        assert "(embedded 135M demo model" in figures[name]["title"]
    assert figures["gap"]["points"][1]["label"].endswith("[cancelled]")


def test_gap_has_one_point_per_run_with_the_frame_numbers(drawn, runs: pd.DataFrame) -> None:
    _, figures = drawn
    points = figures["gap"]["points"]
    assert len(points) == len(runs) == 2
    for point, (_, row) in zip(points, runs.iterrows(), strict=True):
        assert point["run"] == row["run"]
        assert point["rule"] == "judge"  # the fixture's compliance rule is the judge
        assert point["label"] == f"{row['model']} · {row['variation']}"
        gap, paper = point["gap"], point["gap_all"]
        assert gap["pp"] == pytest.approx(row["gap_pp"]) == pytest.approx(100.0)
        assert gap["lo"] == pytest.approx(row["gap_lo_pp"])
        assert gap["hi"] == pytest.approx(row["gap_hi_pp"])
        assert gap["pairs"] == 3  # paid query 3 is invalid: 3 pairs valid in both tiers
        # The paper's: paid query 3 counts as refused, as does free query 3: 3 of 4 pairs differ.
        assert paper["pairs"] == 4 and paper["pp"] == pytest.approx(75.0)
        assert paper["lo"] == pytest.approx(row["gap_all_lo_pp"])


def test_af_rate_per_tier_from_the_frame(drawn, runs: pd.DataFrame) -> None:
    _, figures = drawn
    points = figures["af_rate"]["points"]
    assert [p["run"] for p in points] == list(runs["run"])
    for point in points:
        assert point["free"]["rate"] == pytest.approx(0.5) and point["free"]["af"] == 2
        assert point["paid"]["rate"] == pytest.approx(0.0) and point["paid"]["af"] == 0
        assert point["free"]["lo"] < 0.5 < point["free"]["hi"]
        # Of all samples: free 2 of 4 (nothing invalid); paid 0 of 4, the invalid one included.
        assert point["free"]["rate_all"] == pytest.approx(0.5)
        assert point["paid"]["rate_all"] == 0.0 and point["paid"]["hi_all"] > 0


def test_a_run_without_judges_has_one_complied_segment(runs: pd.DataFrame, tmp_path: Path):
    figures = write_figures(without_judges(runs), tmp_path)
    assert "af_rate" not in figures and not (tmp_path / "af_rate.png").exists()
    tiers = figures["bars_0"]["tiers"]
    assert tiers["free"]["segments"] == {REFUSES: 1, NOT_JUDGED: 3, GREY: 0}
    assert tiers["paid"]["segments"] == {REFUSES: 3, NOT_JUDGED: 0, GREY: 1}
    # A frame whose compliance rule is the tag rule says so.
    assert figures["gap"]["points"][0]["rule"] == "tag"
    assert figures["gap"]["points"][0]["gap"]["pp"] == pytest.approx(runs["gap_pp"][0])


def test_a_run_without_a_gap_is_listed_as_na(runs: pd.DataFrame, tmp_path: Path) -> None:
    frame = without_judges(runs)
    for prefix in ("gap", "gap_all"):
        frame.loc[1, [f"{prefix}_pp", f"{prefix}_lo_pp", f"{prefix}_hi_pp"]] = math.nan
        frame.loc[1, f"{prefix}_pairs"] = 0
    points = write_figures(frame, tmp_path)["gap"]["points"]
    assert len(points) == 2
    assert points[1]["gap_all"]["pp"] is None and points[1]["gap_all"]["pairs"] == 0
    assert points[0]["gap"]["pp"] == pytest.approx(100.0)
    assert (tmp_path / "gap.png").exists()


def test_user_text_with_dollars_is_not_read_as_math(runs: pd.DataFrame, tmp_path: Path) -> None:
    frame = runs.assign(variation="prompt file a$b$c.txt")
    figures = write_figures(frame, tmp_path)
    assert figures["bars_0"]["title"].split("\n")[0].endswith("a$b$c.txt")
    assert figures["gap"]["points"][0]["label"] == "mockllm/model · prompt file a$b$c.txt (run 0)"
