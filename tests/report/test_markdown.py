from aflab.analysis.summary import summarize
from aflab.report.markdown import render_report


def test_the_markdown_report_shows_the_smallest_detectable_gap(report_logs) -> None:
    log = report_logs[1][0]
    summary = summarize(log)
    text = render_report(summary, log, notes=[])
    table = text.split("```")[1]
    gap_lines = [line for line in table.splitlines() if line.startswith("compliance gap")]
    assert gap_lines and all("(80% power)" in line or "too few" in line for line in gap_lines)
    assert "the smallest gap its pairs would detect with 80% power" in text
