"""The probe figures and tables drawn from probes.csv and probe_transfer.csv, and the "Probes"
section of aflab report: panels, lines and bands read back from the matplotlib Figure, probes
not fitted left out and counted, the best layer per group, the Markdown."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from aflab.cli.main import main
from aflab.core.errors import UsageError
from aflab.report.build import build_report
from aflab.report.markers import EMBEDDED_CAVEAT
from aflab.report.probes import (
    CHANCE_LABEL,
    CONTROL_LABEL,
    auroc_figure,
    best_layers,
    probe_summary,
    read_probe_run,
    save_probe_figures,
    transfer_table,
)
from tests.report.probe_tables import LAYERS, POSITIONS, probe_row, probe_rows, write_probes
from tests.report.test_rl import cells


def test_one_panel_per_subset_one_line_and_band_per_position(tmp_path: Path) -> None:
    run = read_probe_run(write_probes(tmp_path, probe_rows()))
    fig, drawn = auroc_figure(run, "decision")
    assert drawn["subsets"] == ["all", "free", "paid"]
    assert [ax.get_title() for ax in fig.axes] == ["both tiers", "free tier only", "paid tier only"]
    for ax in fig.axes:
        labels = [line.get_label() for line in ax.get_lines()]
        assert labels == [
            *(f"{p} (before reasoning)" for p in POSITIONS[:3]),
            *(f"{p} (after reasoning)" for p in POSITIONS[3:]),
            CONTROL_LABEL,
            CHANCE_LABEL,
        ]
        # Before reasoning solid, after dotted, the control dashed grey, chance flat at 0.5.
        styles = [line.get_linestyle() for line in ax.get_lines()]
        assert styles == ["-"] * 3 + [":"] * 2 + ["--", "-"]
        assert ax.get_lines()[5].get_color() == "#7F7F7F"
        assert list(ax.get_lines()[6].get_ydata()) == [0.5, 0.5]
        assert len(ax.collections) == len(POSITIONS) + 1  # a band per position, the control's
        assert list(ax.get_lines()[0].get_xdata()) == list(LAYERS)
    # The drawn numbers are the CSV's.
    assert drawn["positions"]["free"]["prompt_end"]["auroc"] == [0.61, 0.69, 0.77]
    assert drawn["positions"]["all"]["pre_output"]["before"] is False
    assert drawn["ylim"] == (0.4, 1.0) and fig.axes[0].get_ylim()[0] == pytest.approx(0.39)
    assert [t.get_text() for t in fig.legends[0].get_texts()][-2:] == [CONTROL_LABEL, CHANCE_LABEL]
    assert drawn["not_fitted"] == {} and "not fitted" not in drawn["title"]


def test_probes_not_fitted_are_not_drawn_but_counted(tmp_path: Path) -> None:
    rows = probe_rows()
    # One layer of one decision probe failed; the tier within a tier is one class.
    failed = next(
        i
        for i, r in enumerate(rows)
        if (r["target"], r["subset"], r["position"], r["layer"])
        == ("decision", "free", "user_end", 4)
    )
    rows[failed] = probe_row(
        "decision", "free", "user_end", 4, None, "fewer than 2 queries per class"
    )
    run = read_probe_run(write_probes(tmp_path, rows))
    fig, drawn = auroc_figure(run, "decision")
    assert drawn["positions"]["free"]["user_end"]["layers"] == [0, 8]
    assert drawn["positions"]["paid"]["user_end"]["layers"] == [0, 4, 8]
    assert drawn["not_fitted"] == {"fewer than 2 queries per class": 1}
    assert "1 probe not fitted: fewer than 2 queries per class (1)" in " ".join(
        drawn["title"].split()
    )
    fig, drawn = auroc_figure(run, "tier")
    assert drawn["not_fitted"] == {"single class": 2 * len(POSITIONS) * len(LAYERS)}
    assert drawn["title"].splitlines()[-1] == "30 probes not fitted: single class (30)"
    # The subsets of one class have an empty panel that says why, and nothing drawn.
    assert [ax.get_title() for ax in fig.axes] == ["both tiers", "free tier only", "paid tier only"]
    for ax in fig.axes[1:]:
        assert [line.get_label() for line in ax.get_lines()] == [CHANCE_LABEL]
        assert [t.get_text() for t in ax.texts] == ["not fitted: single class (15)"]
        assert not ax.collections
    saved = save_probe_figures(run, tmp_path / "figures")
    assert set(saved) == {"probe_auroc_tier", "probe_auroc_decision"}
    for name in saved:
        assert (tmp_path / "figures" / f"{name}.png").stat().st_size > 10_000
        assert (tmp_path / "figures" / f"{name}.svg").is_file()


def test_the_control_line_is_the_highest_over_positions(tmp_path: Path) -> None:
    rows = [
        probe_row("af", "all", position, layer, 0.7, control=control)
        for layer in (2, 5)
        for position, control in (("user_end", 0.45), ("pre_output", 0.5 + 0.01 * layer))
    ]
    run = read_probe_run(write_probes(tmp_path, rows, transfer=False))
    fig, drawn = auroc_figure(run, "af")
    assert drawn["subsets"] == ["all"] and len(fig.axes) == 1
    assert drawn["control"]["all"] == {"layers": [2, 5], "auroc": [0.52, 0.55]}


def test_an_auroc_below_04_widens_the_axis(tmp_path: Path) -> None:
    rows = [
        probe_row("decision", "all", "user_end", layer, auroc)
        for layer, auroc in ((1, 0.3), (2, 0.8))
    ]
    run = read_probe_run(write_probes(tmp_path, rows, transfer=False))
    assert auroc_figure(run, "decision")[1]["ylim"] == (0.0, 1.0)


def peaked(target: str, subset: str, position: str, layer: int) -> float:
    """Highest at layer 4 for the decision before reasoning, at 8 otherwise."""
    if target == "decision" and position == "prompt_end":
        return {0: 0.6, 4: 0.9, 8: 0.7}[layer]
    return 0.5 + 0.04 * layer


def test_the_best_layer_table_has_a_row_per_group(tmp_path: Path) -> None:
    run = read_probe_run(write_probes(tmp_path, probe_rows(auroc=peaked)))
    table = best_layers(run.probes)
    # Every (target, subset, position), fitted or not: 2 targets x 3 subsets x 5 positions.
    assert len(table) == 30
    assert table[["Target", "Subset"]].drop_duplicates().values.tolist() == [
        ["tier", "all"], ["tier", "free"], ["tier", "paid"],
        ["decision", "all"], ["decision", "free"], ["decision", "paid"],
    ]  # fmt: skip
    row = table[(table["Target"] == "decision") & (table["Subset"] == "paid")]
    row = row[row["Position"] == "prompt_end"].iloc[0].to_dict()
    assert row == {
        "Target": "decision",
        "Subset": "paid",
        "Position": "prompt_end",
        "Reasoning": "before",
        "Best layer": "4",
        "AUROC [95% CI]": "0.90 [0.82, 0.95]",
        "Control [95% CI]": "0.50 [0.38, 0.62]",
        "n (pos/neg)": "40 (12/28)",
        "Queries": "20",
        "Missing": "0",
        "Layers fitted": "3",
        "Not fitted": "",
    }
    tier_free = table[(table["Target"] == "tier") & (table["Subset"] == "free")]
    assert set(tier_free["Best layer"]) == {"n/a"}
    assert set(tier_free["Not fitted"]) == {"single class (3)"}
    assert set(table[table["Position"] == "pre_output"]["Reasoning"]) == {"after"}


def test_the_transfer_table_names_the_best_test_layer(tmp_path: Path) -> None:
    run = read_probe_run(write_probes(tmp_path, probe_rows()))
    assert run.transfer is not None
    table = transfer_table(run.transfer)
    assert table["Train → test"].tolist() == ["free → paid"] * 2 + ["paid → free"] * 2
    assert table["Position"].tolist() == ["prompt_end", "pre_output"] * 2
    first = table.iloc[0].to_dict()
    assert first["Best layer"] == "8" and first["AUROC [95% CI]"] == "0.84 [0.74, 0.89]"
    assert first["AUROC over layers"] == "0.60–0.84 (3 layers)"
    assert first["n train / test"] == "20 / 20" and first["Reasoning"] == "before"


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (lambda text: "target,layer\ntier,1\n", r"\(no subset, position, "),
        (lambda text: text.replace(",0.5,0.38,", ",half,0.38,", 1), r"\(Unable to parse"),
        (
            lambda text: text.replace("tier,all,system_end,0,", "tier,all,system_end,,", 1),
            r"\(a row without its layer\)",
        ),
    ],
)
def test_a_csv_that_is_not_a_probes_table_is_refused(tmp_path: Path, edit, why) -> None:
    folder = write_probes(tmp_path / "p", probe_rows())
    path = folder / "probes.csv"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(
        UsageError, match=rf"^{re.escape(str(path))}: not a probes table aflab wrote {why}"
    ):
        read_probe_run(folder)


def test_a_model_column_carries_its_markers(tmp_path: Path) -> None:
    rows = [probe_row("decision", "all", "user_end", 1, 0.7) | {"model": "aflab/smollm2"}]
    run = read_probe_run(write_probes(tmp_path, rows, transfer=False))
    assert run.markers == [EMBEDDED_CAVEAT]
    assert EMBEDDED_CAVEAT in " ".join(run.title("decision").split())
    assert read_probe_run(write_probes(tmp_path / "b", probe_rows())).markers == []


def test_train_ends_by_printing_the_best_layers(tmp_path: Path) -> None:
    folder = write_probes(tmp_path, probe_rows(auroc=peaked))
    lines = probe_summary(folder)
    head, *rows = lines[0].splitlines()
    assert head.split()[:4] == ["Target", "Subset", "Position", "Best"]
    assert len(rows) == 20  # the tier within a tier, never fitted, is the line below instead
    assert lines[1] == "30 probes not fitted: single class (30)"
    assert lines[2].splitlines()[0].split()[:2] == ["Target", "Train"]
    assert lines[3].startswith(f"probes: {folder / 'probes.csv'} (figures in ")
    assert "probe_auroc_tier.png, probe_auroc_decision.png" in lines[3]
    assert probe_summary(tmp_path / "nothing") == []


def test_a_probe_folder_alone_makes_a_report(tmp_path: Path) -> None:
    folder = write_probes(tmp_path / "runs" / "probes", probe_rows(auroc=peaked))
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["report", str(tmp_path / "runs"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "<h2>Probes</h2>" in page and f"<h3>{folder}</h3>" in page
    assert "<h2>Steering</h2>" not in page and not (out / "steer.md").exists()
    figures = sorted(p.name for p in (out / "figures").glob("probes_*.png"))
    assert figures == ["probes_0_probe_auroc_decision.png", "probes_0_probe_auroc_tier.png"]
    assert "30 probes not fitted: single class (30)" in page  # in the tier figure's caption
    head, *rows = cells(page, "probes-best-0")
    assert head[:5] == ["Target", "Subset", "Position", "Reasoning", "Best layer"]
    assert len(rows) == 30
    head, *rows = cells(page, "probes-transfer-0")
    assert len(rows) == 4 and head[2] == "Train → test"
    markdown = (out / "probes.md").read_text(encoding="utf-8")
    assert "](figures/probes_0_probe_auroc_decision.png)" in markdown
    assert "*30 probes not fitted: single class (30)*" in markdown
    tables = [block for block in markdown.split("\n\n") if block.startswith("| ")]
    assert [len(block.splitlines()) - 2 for block in tables] == [30, 4]
    assert "| decision | paid | prompt\\_end | before | 4 | 0.90 \\[0.82, 0.95\\] |" in markdown


def test_without_a_transfer_table_there_is_no_transfer(tmp_path: Path) -> None:
    write_probes(tmp_path / "p", probe_rows(), transfer=False)
    out = tmp_path / "report"
    page = build_report([tmp_path / "p"], out).read_text(encoding="utf-8")
    assert "probes-best-0" in page and "Transfer" not in page
    assert "### Transfer" not in (out / "probes.md").read_text(encoding="utf-8")


def test_a_report_without_probes_is_unchanged(report_logs, tmp_path: Path) -> None:
    folder, _ = report_logs
    out = tmp_path / "report"
    build_report([write_probes(tmp_path / "p", probe_rows()), folder], out)
    assert (out / "probes.md").is_file()
    page = build_report([folder], out).read_text(encoding="utf-8")
    assert "<h2>Probes</h2>" not in page and not (out / "probes.md").exists()
    assert not list((out / "figures").glob("probes_*"))
    assert set(pd.read_csv(out / "runs.csv")["run"]) and 'id="runs-table"' in page
