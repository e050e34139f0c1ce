"""``aflab report``: figures, tables and the transcript browser for one or many runs; the
training curve of every RL folder (``aflab train rl --out``) among the paths, the probes of
every ``aflab probe train`` folder and the steering of every ``aflab probe steer`` folder.

The logs' samples stream past once (``analysis.runs.stream_run``): each leaves its browser
record, written out a chunk at a time (``report.transcripts``), and its small facts, from which
the run's summary and its part in a sweep are made; memory holds one chunk of records and the
facts of one run, not the logs. Of every run it keeps the judges' verdicts (a few short strings
per sample), which judge agreement compares across runs.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from inspect_ai.log import EvalLog
from rich.progress import track

from aflab.analysis.agreement import LogRatings, compare, log_ratings
from aflab.analysis.logs import read_log, run_id
from aflab.analysis.runs import read_headers, run_row, samples, stream_run
from aflab.analysis.summary import summarize_facts
from aflab.analysis.sweep import SweepRun, sweep_run
from aflab.core.errors import UsageError
from aflab.core.types import is_antilab
from aflab.report.agreement import JSON_FILE as AGREEMENT_JSON
from aflab.report.agreement import PAGE_FILE as AGREEMENT_PAGE
from aflab.report.agreement import Browser, section_html, write_json
from aflab.report.antilab import write_antilab
from aflab.report.figures import write_figures
from aflab.report.html import write_html
from aflab.report.probes import MARKDOWN_FILE as PROBES_MARKDOWN
from aflab.report.probes import find_probe_folders, read_probe_run, write_probes
from aflab.report.reference import compare_to_paper
from aflab.report.rl import MARKDOWN_FILE, find_rl_folders, read_rl_run, write_rl
from aflab.report.steer import MARKDOWN_FILE as STEER_MARKDOWN
from aflab.report.steer import find_steer_folders, read_steer_run, write_steer
from aflab.report.sweep import write_sweep
from aflab.report.transcripts import FOLDER, TranscriptWriter, sample_numbers

CHUNK_SIZE = 50  # samples per transcript file: one page of the browser


def build_report(
    paths: Sequence[str | Path],
    out: str | Path,
    logs: Sequence[EvalLog] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Path:
    """Write ``out/index.html``, the transcripts it loads (``out/transcripts/``), figures as
    PNG and SVG, and the tables as CSV; a variation sweep among the logs adds ``sweep.csv``, its
    figures and a section of the page, anti-lab runs add ``antilab.csv``, theirs and a section,
    and every folder under ``paths`` holding an ``rl_curve.csv`` adds its curve's figure, a
    section and its table in ``rl_curve.md``, every folder holding a ``probes.csv`` its AUROC
    figures and tables (``probes.md``), every folder holding a ``steer.csv`` its steering
    figures and tables (``steer.md``); such folders are enough to report on without a log.
    Where a verdict has two raters (the tag rule and a compliance judge, two AF judges, logs of
    the same samples judged by other models) a "Judge agreement" section and
    ``agreement.json`` are added (``report.agreement``).
    ``out`` must be new, empty or an earlier report; it is written only once every log and
    table has been read, so one that fails writes nothing.

    Args:
        paths: logs and folders of logs, RL runs, probes and steering; the logs are read when
            ``logs`` is not given.
        out: the report's folder.
        logs: the logs instead: headers (``analysis.runs.read_headers``), whose samples are
            streamed from their files, or logs read whole, whose samples are used as they are.
        chunk_size: samples per transcript file, and cards per page of the browser.
    """
    folder = Path(out)
    rl_runs = [read_rl_run(rl_folder) for rl_folder in find_rl_folders(paths)]
    probe_runs = [read_probe_run(probe_folder) for probe_folder in find_probe_folders(paths)]
    steer_runs = [read_steer_run(steer_folder) for steer_folder in find_steer_folders(paths)]
    tables = rl_runs or probe_runs or steer_runs
    logs = list(logs) if logs is not None else read_headers(paths, required=not tables)
    check_folder(folder)
    parent = folder.parent if folder.parent.is_dir() else None  # beside it: moved, not copied
    with tempfile.TemporaryDirectory(prefix=".aflab-report-", dir=parent) as scratch:
        writer = TranscriptWriter(Path(scratch) / FOLDER, chunk_size)
        rows, runs_of_sweeps, antilab, ratings = _read(logs, writer)
        written = writer.close()
        numbers = sample_numbers(Path(scratch))
        per_run = {run_id(log): written[run_id(log)] for log in logs}  # a run of no sample too
        runs = pd.DataFrame(rows)
        prepare_folder(folder)
        shutil.move(writer.folder, folder / FOLDER)
    runs.to_csv(folder / "runs.csv", index=False)
    reference = compare_to_paper(runs)
    reference.to_csv(folder / "paper_comparison.csv", index=False)
    figures = folder / "figures"
    figures.mkdir()
    drawn = write_figures(runs, figures) if not runs.empty else {}
    run_logs = [log for log in logs if not is_antilab(log)]
    sweep = write_sweep(run_logs, folder, figures, runs_of_sweeps)
    antilab_part = write_antilab(antilab, folder, figures)
    rl = write_rl(rl_runs, folder, figures)
    probes = write_probes(probe_runs, folder, figures)
    steering = write_steer(steer_runs, folder, figures)
    agreement = _agreement(ratings, folder, Browser("", numbers))
    pngs = [figures / f"{name}.png" for name in drawn if (figures / f"{name}.png").is_file()]
    parts = (rl.html, probes.html, steering.html, sweep.html, agreement, antilab_part.html)
    sections = [part for part in parts if part]
    captions = {name: str(data.get("title") or "") for name, data in drawn.items()}
    return write_html(
        folder / "index.html", runs, per_run, pngs, reference, sections, captions=captions
    )


def table_folders(paths: Sequence[str | Path]) -> list[Path]:
    """The folders under ``paths`` that a report shows without a log: RL runs, probes and
    steering."""
    found = find_rl_folders(paths) + find_probe_folders(paths) + find_steer_folders(paths)
    return list(dict.fromkeys(found))


def _agreement(ratings: Sequence[LogRatings], folder: Path, browser: Browser) -> str:
    """The "Judge agreement" section and ``agreement.json``, when a verdict has two raters: a
    judge and the tag rule in one log, two judges of AF, or logs of the same samples judged by
    other judge models."""
    result = compare(ratings)
    if not result.variables:
        return ""
    write_json(result, folder / AGREEMENT_JSON)
    return section_html(result, [browser])


def _read(
    logs: Sequence[EvalLog], writer: TranscriptWriter
) -> tuple[list[dict[str, Any]], dict[str, SweepRun], list[EvalLog], list[LogRatings]]:
    """Each run's row of the runs table, its part in a sweep (by log location) and its judges'
    verdicts, and the anti-lab logs read whole; every sample's record goes to ``writer`` on
    the way."""
    rows: list[dict[str, Any]] = []
    sweep_runs: dict[str, SweepRun] = {}
    antilab: list[EvalLog] = []
    ratings: list[LogRatings] = []
    for log in track(logs, "reading logs", disable=len(logs) < 5):
        if is_antilab(log):
            # A few samples per scenario and tier: read whole, as its summary reads them.
            whole = log if log.samples is not None else read_log(log.location)
            antilab.append(whole)
            for record in samples(whole):
                writer.add(record)
            continue
        facts = stream_run(log, writer.add)
        summary = summarize_facts(log, facts)
        rows.append(run_row(log, summary))
        sweep_runs[log.location] = sweep_run(summary, facts)
        ratings.append(log_ratings(run_id(log), facts))
    return rows, sweep_runs, antilab, ratings


# What a report writes, and what a run keeps beside its own report (logs/<run>/).
REPORT_FILES = (
    "index.html", "runs.csv", "paper_comparison.csv", "sweep.csv", "antilab.csv", MARKDOWN_FILE,
    PROBES_MARKDOWN, STEER_MARKDOWN, AGREEMENT_JSON, AGREEMENT_PAGE,
)  # fmt: skip
REPORT_FOLDERS = ("figures", FOLDER)
RUN_FILES = ("summary.json", "report.md")
MARKER = ".aflab-report"


def check_folder(folder: Path) -> None:
    """Refuse a ``folder`` that is not new, empty, an earlier report or a run's outputs: its
    files would be mixed with the report's, and clearing them could destroy the user's."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: is a file; the report needs a folder (--out)")
    entries = {entry.name for entry in folder.iterdir()} if folder.is_dir() else set()
    if not _is_report(entries) and entries - set(RUN_FILES):
        raise UsageError(
            f"{folder}: not empty and not an aflab report; give --out a new or empty folder"
        )


def prepare_folder(folder: Path) -> None:
    """Make ``folder`` ready for a report: new or empty, or an earlier report, whose files are
    removed so that none of them is left among the new ones (see :func:`check_folder`)."""
    check_folder(folder)
    if folder.is_dir() and _is_report({entry.name for entry in folder.iterdir()}):
        for name in REPORT_FILES:
            (folder / name).unlink(missing_ok=True)
        for name in REPORT_FOLDERS:
            shutil.rmtree(folder / name, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text(
        "Written by aflab. The next report written here replaces this one's files.\n",
        encoding="utf-8",
    )


def _is_report(entries: set[str]) -> bool:
    # A report written before the marker existed is known by its page and its table.
    return MARKER in entries or {"index.html", "runs.csv"} <= entries
