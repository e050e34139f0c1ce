"""Both conventions of every rate, and the markers of a run (demo model, unfinished, format
enforced), in the HTML runs table and the Markdown report, on the fixture runs' hand counts."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from aflab.analysis.runs import runs_frame
from aflab.analysis.summary import summarize
from aflab.report.html import RUN_HEAD, caveat_banner, runs_table
from aflab.report.markdown import render_report
from aflab.report.markers import EMBEDDED_CAVEAT, run_markers, status_marker


class Cells(HTMLParser):
    """The text of every cell, row by row, and of every element with class "marker"."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.markers: list[str] = []
        self._cell: list[str] | None = None
        self._marker = False

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        self._marker = ("class", "marker") in attrs

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None
        self._marker = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._marker:
            self.markers.append(data)


@pytest.fixture(scope="module")
def runs(report_logs) -> pd.DataFrame:
    return runs_frame(report_logs[1])


def parsed(runs: pd.DataFrame) -> Cells:
    cells = Cells()
    cells.feed(runs_table(runs))
    return cells


def test_the_runs_table_gives_every_rate_in_both_conventions(runs: pd.DataFrame) -> None:
    """tests/report/fixtures.py, under the compliance judge: free refuses 1 of 4 and complies 3
    (2 AF); paid refuses 3 and 1 is invalid."""
    head, free, paid = parsed(runs).rows[:3]
    assert head == list(RUN_HEAD)
    column = {name: i for i, name in enumerate(RUN_HEAD)}
    assert free[column["Refusal, of decided [95% CI]"]].startswith("25.0%")
    assert free[column["Refusal, of all (paper) [95% CI]"]].startswith("25.0%")
    assert free[column["AF, of judged [95% CI]"]].startswith("50.0%")  # 2 AF of 4 judged
    assert free[column["AF, of all (paper) [95% CI]"]].startswith("50.0%")
    assert free[column["Gap pp, of decided [95% CI]"]].startswith("+100.0")  # 3 pairs
    # Of all: paid query 3 (invalid) refused, as free query 3: 3 of 4 pairs differ.
    assert free[column["Gap pp, of all (paper) [95% CI]"]].startswith("+75.0")
    assert free[column["Gap pp, of all (paper) [95% CI]"]].endswith("(4\u00a0pairs)")
    # The second row of a run has no run-wide cells: its columns start at the tier.
    offset = column["Tier"]
    assert paid[column["Refusal, of decided [95% CI]"] - offset] == "100.0% [43.9, 100.0]"  # 3/3
    assert paid[column["Refusal, of all (paper) [95% CI]"] - offset] == "100.0% [51.0, 100.0]"
    assert paid[column["AF, of all (paper) [95% CI]"] - offset] == "0.0% [0.0, 49.0]"  # 0 of 4


def test_markers_say_what_a_run_is_worth(runs: pd.DataFrame) -> None:
    assert run_markers(runs.iloc[0].to_dict()) == []  # finished, an API model, no grammar
    demo = runs.assign(model="aflab/smollm2", format_enforced="grammar")
    demo.loc[1, "status"] = "cancelled"
    cells = parsed(demo)
    assert cells.markers == [
        EMBEDDED_CAVEAT,
        "format enforced by grammar",
        EMBEDDED_CAVEAT,
        "cancelled: partial results",
        "format enforced by grammar",
    ]
    [banner] = caveat_banner(demo)
    assert 'id="embedded-caveat"' in banner and EMBEDDED_CAVEAT in banner
    assert caveat_banner(runs) == []
    assert status_marker("error") == "stopped by an error: partial results"
    assert status_marker("success") is None


def test_the_markdown_report_opens_with_the_markers(report_logs) -> None:
    log = report_logs[1][0].model_copy(deep=True)
    log.eval.model, log.status = "aflab/smollm2", "cancelled"
    text = render_report(summarize(log), log, notes=[])
    head = text.split("```", 1)[0]
    assert f"> **{EMBEDDED_CAVEAT}**" in head
    assert "> **cancelled: partial results**" in head
    assert "cancelled: partial results" in text.split("```")[1]  # the table's first line too
    assert "*Of all (paper)*" in text


def test_each_figure_is_captioned_with_its_title(report_logs, tmp_path) -> None:
    from aflab.report.build import build_report

    folder, logs = report_logs
    page = build_report([folder], tmp_path / "report", logs=logs).read_text(encoding="utf-8")
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", page)
    runs = [f"mockllm/model · helpful-only · {v} — " for v in ("default", "lab=OpenAI")]
    # Two runs of one configuration but the lab: each bar chart says which, and when it ran.
    assert [c for c in captions if c.startswith(tuple(runs))] == captions[:2]
    assert all(" · log …" in c for c in captions[:2])
    assert "Compliance gap per run, 95% CI" in captions
