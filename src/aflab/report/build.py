"""``aflab report``: figures, tables and the transcript browser for one or many runs."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from inspect_ai.log import EvalLog

from aflab.antilab import is_antilab
from aflab.report.antilab import write_antilab
from aflab.report.figures import write_figures
from aflab.report.html import write_html
from aflab.report.reference import compare_to_paper
from aflab.report.sweep import write_sweep
from aflab.results import read_logs, run_id, runs_frame, samples


def build_report(
    paths: Sequence[str | Path], out: str | Path, logs: Sequence[EvalLog] | None = None
) -> Path:
    """Write ``out/index.html`` (self-contained), figures as PNG and SVG, and the tables as CSV;
    a variation sweep among the logs adds ``sweep.csv``, its figures and a section of the page,
    and anti-lab runs add ``antilab.csv``, theirs and a section."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    logs = list(logs) if logs is not None else read_logs(paths)
    runs = runs_frame(logs)
    runs.to_csv(folder / "runs.csv", index=False)
    reference = compare_to_paper(runs)
    reference.to_csv(folder / "paper_comparison.csv", index=False)
    figures = folder / "figures"
    shutil.rmtree(figures, ignore_errors=True)  # no stale figure of an earlier build
    figures.mkdir()
    drawn = write_figures(runs, figures) if not runs.empty else {}
    sweep = write_sweep(logs, folder, figures)
    antilab = write_antilab([log for log in logs if is_antilab(log)], folder, figures)
    by_run = {run_id(log): samples(log) for log in logs}
    pngs = [figures / f"{name}.png" for name in drawn if (figures / f"{name}.png").is_file()]
    sections = [part for part in (sweep.html, antilab.html) if part]
    return write_html(folder / "index.html", runs, by_run, pngs, reference, sections)
