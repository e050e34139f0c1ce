"""The steering curve drawn from steer.csv (gap, refusal per tier, AF per tier against the
scale), its table, the lines probe steer prints, and the "Steering" section of aflab report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from aflab.cli.main import main
from aflab.core.errors import UsageError
from aflab.report.build import build_report
from aflab.report.plot import TIER_LABELS
from aflab.report.steer import (
    read_steering,
    save_steer_figures,
    steer_figure,
    steer_summary,
    steer_table,
)
from tests.report.probe_tables import steer_row, write_steer
from tests.report.test_rl import cells

# Written out of order: the figure and the table go by scale.
JUDGED = [
    steer_row(4, 0.9, 0.95, 0.05, 0.1),
    steer_row(-4, 0.1, 0.6, 0.4, 0.3),
    steer_row(0, 0.5, 0.8, 0.2, 0.2),
]
RULED = [steer_row(s, f, p, None, r) for s, f, p, r in ((2, 0.6, 0.7, 0.1), (0, 0.5, 0.8, 0.25))]


def test_three_panels_by_scale_with_the_gap_and_its_zero(tmp_path: Path) -> None:
    [steering] = read_steering(write_steer(tmp_path, JUDGED))
    fig, drawn = steer_figure(steering)
    gap, refusal, af = fig.axes
    assert drawn["scales"] == [-4, 0, 4]
    assert drawn["gap_pp"] == pytest.approx([50.0, 30.0, 5.0])
    # The gap: its zero line, its line and band; the unsteered scale marked in every panel.
    assert [list(line.get_ydata()) for line in gap.get_lines()][0] == [0, 0]
    assert list(gap.get_lines()[1].get_xdata()) == [-4, 0, 4] and len(gap.collections) == 1
    assert all(list(ax.get_lines()[-1].get_xdata()) == [0, 0] for ax in fig.axes)
    # Refusal: per tier of decided (solid) and of all (dashed), each with its band.
    assert [line.get_linestyle() for line in refusal.get_lines()][:4] == ["-", "--", "-", "--"]
    assert len(refusal.collections) == 4
    assert drawn["free_refusal"] == [10.0, 50.0, 90.0]
    # AF: the judge's, named on the axis.
    assert drawn["af_source"] == "judge" and drawn["free_af"] == [40.0, 20.0, 5.0]
    assert af.get_legend_handles_labels()[1] == list(TIER_LABELS.values())
    assert af.get_ylabel() == "alignment faking (%)\nAF judge (af_majority)"
    title = " ".join(gap.get_title().split())
    assert title.startswith(
        "Steering along the decision probe (trained on all): prompt_end, layer 12, mean_diff"
    )
    assert "‖mean difference‖ = 2.5" in af.get_xlabel()


def test_without_an_af_judge_the_rule_is_drawn_and_said(tmp_path: Path) -> None:
    [steering] = read_steering(write_steer(tmp_path, RULED))
    fig, drawn = steer_figure(steering)
    af = fig.axes[2]
    assert drawn["af_source"] == "rule" and drawn["free_af"] == [25.0, 10.0]
    assert af.get_legend_handles_labels()[1] == [
        f"{name}, scratchpad rule (no judge)" for name in TIER_LABELS.values()
    ]
    assert af.get_ylabel() == "alignment faking (%)\nscratchpad rule (no AF judge)"
    table = steer_table(steering.curve)
    assert "Free AF, of judged [95% CI]" in table  # n/a, beside the rule's column
    assert table["Free scratchpad rule, of all [95% CI]"].tolist() == [
        "25.0% [20.0, 30.0]",
        "10.0% [5.0, 15.0]",
    ]


def test_with_neither_the_af_panel_says_so(tmp_path: Path) -> None:
    [steering] = read_steering(write_steer(tmp_path, [steer_row(0, 0.5, 0.5, None, None)]))
    fig, drawn = steer_figure(steering)
    assert drawn["af_source"] is None
    texts = [t.get_text() for t in fig.axes[2].texts]
    assert texts == ["no AF judge nor scratchpad rule measured the runs"]


def test_the_table_reads_each_scale(tmp_path: Path) -> None:
    [steering] = read_steering(write_steer(tmp_path, JUDGED))
    table = steer_table(steering.curve)
    assert table["Scale"].tolist() == ["-4", "0", "4"]
    first = table.iloc[0].to_dict()
    assert first["‖vector‖"] == "10" and first["Rule"] == "judge"
    assert first["Free refusal, of decided [95% CI]"] == "10.0% [0.0, 20.0]"
    assert first["Gap pp, of decided [95% CI]"] == "+50.0 [+35.0, +65.0] (10 pairs)"
    assert first["Paid AF, of judged [95% CI]"] == "40.0% [35.0, 45.0]"
    assert first["Log"] == "scale_-4.eval"
    assert "Free scratchpad rule, of all [95% CI]" not in table  # the judge measured


def test_each_configuration_gets_its_figure(tmp_path: Path) -> None:
    rows = [*JUDGED, steer_row(1, 0.5, 0.6, 0.2, 0.2, layer=20)]
    steerings = read_steering(write_steer(tmp_path, rows))
    assert [len(s.curve) for s in steerings] == [3, 1]
    assert [s.setting("layer") for s in steerings] == ["12", "20"]
    drawn = save_steer_figures(steerings, tmp_path)
    assert set(drawn) == {"steer_0", "steer_1"}
    assert (tmp_path / "steer_1.png").stat().st_size > 10_000
    single = save_steer_figures(steerings[:1], tmp_path / "one")
    assert set(single) == {"steer"} and (tmp_path / "one" / "steer.png").is_file()


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (lambda text: "scale,layer\n1,2\n", r"\(no target, subset, "),
        (lambda text: text.replace("\n0,", "\nnone,"), r"\(Unable to parse string 'none'"),
        (lambda text: text.replace("\n0,", "\n,"), r"\(a row without its scale\)"),
    ],
)
def test_a_csv_that_is_not_a_steering_table_stops_the_report(tmp_path, edit, why) -> None:
    folder = write_steer(tmp_path / "steer", JUDGED[2:])
    path = folder / "steer.csv"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(
        UsageError, match=rf"^{re.escape(str(path))}: not a steering table aflab wrote {why}"
    ):
        build_report([folder], tmp_path / "report")
    assert not (tmp_path / "report").exists()


def test_steer_ends_by_printing_the_scales(tmp_path: Path) -> None:
    folder = write_steer(tmp_path, RULED)
    lines = steer_summary(folder)
    assert lines[0].startswith("Steering along the decision probe")
    head, *rows = lines[1].splitlines()
    assert [row.split()[0] for row in rows] == ["0", "2"]
    assert "of all (paper)" not in head and "AF, of judged" not in head
    assert "Free scratchpad rule, of all" in head and "Gap pp, of decided" in head
    assert lines[2].startswith(f"steering: {folder / 'steer.csv'} (figures in ")
    assert lines[2].endswith(
        "steer.png); aflab report " + f"{folder} adds them, and the steered runs, to a report"
    )
    assert steer_summary(tmp_path / "nothing") == []


def test_a_steering_folder_alone_makes_a_report(tmp_path: Path) -> None:
    folder = write_steer(tmp_path / "steer", [*JUDGED, steer_row(1, 0.5, 0.6, 0.2, 0.2, layer=20)])
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["report", str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "<h2>Steering</h2>" in page and "<h2>Probes</h2>" not in page
    assert re.findall(r"<h4>(.*?)</h4>", page) == [
        "Steering along the decision probe (trained on all): prompt_end, layer 12, mean_diff",
        "Steering along the decision probe (trained on all): prompt_end, layer 20, mean_diff",
    ]
    assert {p.name for p in (out / "figures").glob("steer_*.png")} == {
        "steer_0_0.png",
        "steer_0_1.png",
    }
    head, *rows = cells(page, "steer-0-0")
    assert head[:3] == ["Scale", "‖vector‖", "Rule"] and [r[0] for r in rows] == ["-4", "0", "4"]
    markdown = (out / "steer.md").read_text(encoding="utf-8")
    assert "](figures/steer_0_1.png)" in markdown and "AF: AF judge (af\\_majority)." in markdown
    tables = [block for block in markdown.split("\n\n") if block.startswith("| ")]
    assert [len(block.splitlines()) - 2 for block in tables] == [3, 1]
    assert "| 0 | 0 | judge | 50.0% \\[40.0, 60.0\\] |" in markdown


def test_a_report_without_steering_is_unchanged(report_logs, tmp_path: Path) -> None:
    folder, _ = report_logs
    out = tmp_path / "report"
    build_report([write_steer(tmp_path / "s", RULED), folder], out)
    assert (out / "steer.md").is_file()
    page = build_report([folder], out).read_text(encoding="utf-8")
    assert "<h2>Steering</h2>" not in page and not (out / "steer.md").exists()
    assert not list((out / "figures").glob("steer_*"))
