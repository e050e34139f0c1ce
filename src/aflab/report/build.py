"""``aflab report``: figures, tables and the transcript browser for one or many runs."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from inspect_ai.log import EvalLog

from aflab.analysis.logs import run_id
from aflab.analysis.runs import read_logs, runs_frame, samples
from aflab.core.errors import UsageError
from aflab.core.types import is_antilab
from aflab.report.antilab import write_antilab
from aflab.report.figures import write_figures
from aflab.report.html import write_html
from aflab.report.reference import compare_to_paper
from aflab.report.sweep import write_sweep


def build_report(
    paths: Sequence[str | Path], out: str | Path, logs: Sequence[EvalLog] | None = None
) -> Path:
    """Write ``out/index.html`` (self-contained), figures as PNG and SVG, and the tables as CSV;
    a variation sweep among the logs adds ``sweep.csv``, its figures and a section of the page,
    and anti-lab runs add ``antilab.csv``, theirs and a section."""
    folder = Path(out)
    logs = list(logs) if logs is not None else read_logs(paths)
    runs = runs_frame(logs)  # before the folder is touched: a log that fails writes nothing
    prepare_folder(folder)
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
    captions = {name: str(data.get("title") or "") for name, data in drawn.items()}
    return write_html(
        folder / "index.html", runs, by_run, pngs, reference, sections, captions=captions
    )


# What a report writes, and what a run keeps beside its own report (logs/<run>/).
REPORT_FILES = ("index.html", "runs.csv", "paper_comparison.csv", "sweep.csv", "antilab.csv")
RUN_FILES = ("summary.json", "report.md")
MARKER = ".aflab-report"


def prepare_folder(folder: Path) -> None:
    """Make ``folder`` ready for a report: new or empty, or an earlier report, whose files are
    removed so that none of them is left among the new ones. Any other folder is refused:
    its files would be mixed with the report's, and clearing them could destroy the user's."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: is a file; the report needs a folder (--out)")
    entries = {entry.name for entry in folder.iterdir()} if folder.is_dir() else set()
    # A report written before the marker existed is known by its page and its table.
    ours = MARKER in entries or {"index.html", "runs.csv"} <= entries
    if not ours and entries - set(RUN_FILES):
        raise UsageError(
            f"{folder}: not empty and not an aflab report; give --out a new or empty folder"
        )
    if ours:
        for name in REPORT_FILES:
            (folder / name).unlink(missing_ok=True)
        shutil.rmtree(folder / "figures", ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text(
        "Written by aflab. The next report written here replaces this one's files.\n",
        encoding="utf-8",
    )
