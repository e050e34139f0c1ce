"""The RL training curve drawn from rl_curve.csv rows, the numbers it drew read back; and the
curve in ``aflab report``: figure, table (page and rl_curve.md) and markers."""

from __future__ import annotations

import json
import re
import shutil
from html import escape
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from aflab.analysis.summary import summarize
from aflab.cli.main import main
from aflab.core.errors import UsageError
from aflab.organisms.rl.curve import append_row, curve_row
from aflab.report.build import build_report
from aflab.report.markers import EMBEDDED_CAVEAT
from aflab.report.plot import TIER_LABELS, save_figure
from aflab.report.rl import curve_figure, curve_summary, curve_table, read_curve, read_rl_run
from tests.organisms.rl.test_curve import STEPS


def row(step: int, free: float, paid: float, af: float | None) -> dict:
    values: dict = {"step": step, "rule": "tag"}
    for tier, rate in (("free", free), ("paid", paid)):
        for suffix in ("", "_all"):
            values |= {
                f"{tier}_refusal{suffix}": rate,
                f"{tier}_refusal{suffix}_lo": max(0.0, rate - 0.1),
                f"{tier}_refusal{suffix}_hi": min(1.0, rate + 0.1),
            }
        values |= {
            f"{tier}_af": af if tier == "free" else None,
            f"{tier}_af_lo": None if af is None or tier == "paid" else af - 0.05,
            f"{tier}_af_hi": None if af is None or tier == "paid" else af + 0.05,
        }
    gap = 100 * (paid - free)
    values |= {"gap_pp": gap, "gap_lo_pp": gap - 20, "gap_hi_pp": gap + 20, "gap_pairs": 10}
    return values | {"reward_mean": 0.5, "reward_steps": 1, "kl": 0.01}


def test_the_curve_draws_each_step_in_order(tmp_path: Path) -> None:
    # Written out of order: the figure sorts by step.
    for values in (row(20, 0.1, 0.7, 0.6), row(0, 0.8, 0.9, 0.1), row(10, 0.4, 0.8, 0.3)):
        append_row(tmp_path, values)
    fig, drawn = curve_figure(read_curve(tmp_path / "rl_curve.csv"), "RL · smollm2")
    assert drawn["steps"] == [0, 10, 20]
    assert drawn["free_refusal"] == [80.0, 40.0, 10.0]
    assert drawn["paid_refusal_all"] == [90.0, 80.0, 70.0]
    assert drawn["free_af"] == [10.0, 30.0, 60.0] and drawn["paid_af"] == [None] * 3
    save_figure(tmp_path, "rl_curve", fig, drawn)
    assert (tmp_path / "rl_curve.png").stat().st_size > 10_000


def test_without_an_af_judge_the_panel_says_so(tmp_path: Path) -> None:
    curve = pd.DataFrame([row(0, 0.5, 0.5, None), row(5, 0.4, 0.5, None)])
    fig, drawn = curve_figure(curve, "RL")
    assert drawn["free_af"] == [None, None]
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert texts == ["no AF judge measured the checkpoints"]


def test_without_an_af_judge_the_scratchpad_rule_is_drawn_and_tabled() -> None:
    rows = [row(0, 0.5, 0.5, None), row(5, 0.4, 0.5, None)]
    for values, flagged in zip(rows, (0.1, 0.3), strict=True):
        for tier in ("free", "paid"):
            values |= {
                f"{tier}_af_rule": flagged,
                f"{tier}_af_rule_lo": flagged - 0.05,
                f"{tier}_af_rule_hi": flagged + 0.05,
            }
    curve = pd.DataFrame(rows)
    fig, drawn = curve_figure(curve, "RL")
    assert drawn["free_af"] == [10.0, 30.0] and not fig.axes[1].texts
    labels = fig.axes[1].get_legend_handles_labels()[1]
    assert labels == [f"{name}, scratchpad rule (no judge)" for name in TIER_LABELS.values()]
    table = curve_table(curve)
    assert table["Free scratchpad rule, of all [95% CI]"].tolist()[1].startswith("30.0%")


def rl_folder(folder: Path, report_logs, base: str | None = "smollm2") -> Path:
    """An RL output folder as train rl leaves it: two rows measured on the fixture's first run
    (written out of order), and aflab-rl.json unless ``base`` is None (training not ended)."""
    _, logs = report_logs
    summary = summarize(logs[0])
    folder.mkdir(parents=True)
    for step in (10, 5):
        append_row(folder, curve_row(step, summary, STEPS, "TagReward"))
    if base is not None:
        settings = {"options": {"base": base, "setting": "helpful-only"}, "base": "/cache/hf"}
        (folder / "aflab-rl.json").write_text(json.dumps(settings), encoding="utf-8")
    return folder


def cells(page: str, table_id: str) -> list[list[str]]:
    table = re.search(rf'<table id="{table_id}">.*?</table>', page, re.S)
    assert table, f"no table {table_id}"
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(0), re.S)
    return [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r) for r in rows]


def test_an_rl_folder_alone_is_reported_with_its_curve_and_table(report_logs, tmp_path) -> None:
    """No log under it (its checkpoints deleted): the curve alone makes the report."""
    rl = rl_folder(tmp_path / "rl", report_logs)
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["report", str(rl), "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text(encoding="utf-8")
    # The figure's title names the base as the markers know it and carries the caveat.
    title = read_rl_run(rl).title
    assert title.startswith("RL training curve: aflab/smollm2 · helpful-only\n")
    assert EMBEDDED_CAVEAT in " ".join(title.split())
    assert f"<figcaption>{escape(' — '.join(title.splitlines()))}</figcaption>" in page
    assert f'<p class="caveat">{escape(EMBEDDED_CAVEAT)}</p>' in page
    assert (out / "figures" / "rl_curve_0.png").stat().st_size > 10_000
    head, *rows = cells(page, "rl-curve-0")
    assert head[:4] == [
        "Step",
        "Rule",
        "Free refusal, of decided [95% CI]",
        "Free refusal, of all (paper) [95% CI]",
    ]
    assert head[6:] == [
        "Gap pp, of decided [95% CI]",
        "Free AF, of judged [95% CI]",
        "Paid AF, of judged [95% CI]",
        "Mean reward",
        "KL",
    ]
    # By step. Under the compliance judge free refuses 1 of 4 (2 AF), paid 3 of 3 decided and
    # 1 invalid, which the paper's convention counts as refused (test_curve's hand counts).
    assert [r[0] for r in rows] == ["5", "10"]
    first = dict(zip(head, rows[0], strict=True))
    assert first["Rule"] == "judge"
    assert first["Free refusal, of decided [95% CI]"] == "25.0% [4.6, 69.9]"
    assert first["Paid refusal, of decided [95% CI]"] == "100.0% [43.9, 100.0]"
    assert first["Paid refusal, of all (paper) [95% CI]"] == "100.0% [51.0, 100.0]"
    assert first["Gap pp, of decided [95% CI]"].startswith("+100.0 [")
    assert first["Gap pp, of decided [95% CI]"].endswith(" (3 pairs)")
    assert first["Free AF, of judged [95% CI]"].startswith("50.0% [")
    assert (first["Mean reward"], first["KL"]) == ("0.750", "0.02")
    markdown = (out / "rl_curve.md").read_text(encoding="utf-8")
    assert f"> **{EMBEDDED_CAVEAT}**" in markdown
    assert "](figures/rl_curve_0.png)" in markdown
    assert "| Step | Rule | Free refusal, of decided \\[95% CI\\] |" in markdown
    assert "| 5 | judge | 25.0% \\[4.6, 69.9\\] |" in markdown
    assert markdown.index("| 5 |") < markdown.index("| 10 |")


def test_a_folder_with_logs_and_a_curve_gets_both(report_logs, tmp_path) -> None:
    """The checkpoints' logs (checkpoints/step-NNNNN/logs) are runs like any other."""
    _, logs = report_logs
    rl = rl_folder(tmp_path / "rl", report_logs, base="Qwen/Qwen2.5-0.5B-Instruct")
    checkpoint_logs = rl / "checkpoints" / "step-00005" / "logs"
    checkpoint_logs.mkdir(parents=True)
    for log in logs:
        shutil.copy(log.location, checkpoint_logs)
    out = tmp_path / "report"
    page = build_report([rl], out).read_text(encoding="utf-8")
    assert len(pd.read_csv(out / "runs.csv")) == 2
    assert 'id="runs-table"' in page and "<h2>RL training curves</h2>" in page
    assert [r[0] for r in cells(page, "rl-curve-0")[1:]] == ["5", "10"]
    # Not the embedded model: no caveat, in the page or the figure.
    assert EMBEDDED_CAVEAT not in page and EMBEDDED_CAVEAT not in read_rl_run(rl).title
    assert "RL training curve: Qwen/Qwen2.5-0.5B-Instruct · helpful-only" in page


def test_every_rl_folder_under_a_path_has_its_curve(report_logs, tmp_path) -> None:
    runs = tmp_path / "runs"
    rl_folder(runs / "a-finished", report_logs)
    rl_folder(runs / "b-training" / "rl", report_logs, base=None)
    out = tmp_path / "report"
    page = build_report([runs], out).read_text(encoding="utf-8")
    assert {p.name for p in (out / "figures").glob("rl_curve_*.png")} == {
        "rl_curve_0.png",
        "rl_curve_1.png",
    }
    headings = re.findall(r"<h3>(.*?)</h3>", page)
    assert headings == [str(runs / "a-finished"), str(runs / "b-training" / "rl")]
    # Before aflab-rl.json is written the base is unknown and the curve is partial.
    training = read_rl_run(runs / "b-training" / "rl").title.splitlines()
    assert training[0] == "RL training curve" and training[-1] == "unfinished: partial results"
    assert page.count('<p class="caveat">unfinished: partial results</p>') == 1


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (lambda text: "step,loss\n1,0.5\n", r"\(no rule, "),
        (lambda text: text.replace("\n10,", "\nten,"), r"\(Unable to parse string 'ten'"),
        (lambda text: text.replace("\n10,", "\n,"), r"\(a row without its step\)"),
    ],
)
def test_a_csv_that_is_not_a_curve_stops_the_report(report_logs, tmp_path, edit, why) -> None:
    rl = rl_folder(tmp_path / "rl", report_logs)
    curve = rl / "rl_curve.csv"
    curve.write_text(edit(curve.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(
        UsageError, match=rf"^{re.escape(str(curve))}: not an RL curve aflab wrote {why}"
    ):
        build_report([rl], tmp_path / "report")
    assert not (tmp_path / "report").exists()  # nothing written


def test_a_rebuild_without_the_curve_drops_it(report_logs, tmp_path) -> None:
    folder, _ = report_logs
    out = tmp_path / "report"
    build_report([rl_folder(tmp_path / "rl", report_logs), folder], out)
    assert (out / "rl_curve.md").is_file()
    page = build_report([folder], out).read_text(encoding="utf-8")
    assert not (out / "rl_curve.md").exists() and "RL training curves" not in page
    assert not list((out / "figures").glob("rl_curve_*"))


def test_without_a_curve_or_a_log_there_is_nothing_to_report(tmp_path) -> None:
    result = CliRunner().invoke(main, ["report", str(tmp_path), "--out", str(tmp_path / "r")])
    assert result.exit_code == 1 and "no aflab logs found" in result.output


def test_train_rl_ends_by_printing_the_curve(report_logs, tmp_path) -> None:
    rl = rl_folder(tmp_path / "rl", report_logs)
    lines = curve_summary(rl)
    assert lines[0] == EMBEDDED_CAVEAT
    table = lines[1].splitlines()
    assert table[0].split()[:4] == ["Step", "Free", "refusal,", "of"]
    assert [row.split()[0] for row in table[1:]] == ["5", "10"]  # by step
    assert "AF, of judged" in table[0] and "scratchpad rule" not in table[0]
    assert lines[2].startswith(f"curve: {rl / 'rl_curve.csv'}")
    assert curve_summary(tmp_path / "nothing") == []
