"""``aflab sweep``: every prompt variation on the same queries, compared with the default."""

from __future__ import annotations

from typing import Any

import click

from aflab.cli.options import spec_from, spec_options
from aflab.cli.util import report_errors, same_command
from aflab.pipelines.interrupts import Interrupted


@click.command()
@click.option("--variations", default="all", show_default=True, help="Comma-separated, or all.")
@spec_options("sweep")
def sweep(variations: str, **opts: Any) -> None:
    """Run every variation on the same queries and compare its gap with the default's.

    Takes every option of aflab run that a sweep can share (queries, judges, sampling,
    retries). Running the same command again resumes an unfinished (interrupted or failed)
    sweep. The report (figures, tables, transcripts, the sweep's chart) is written to
    LOG_DIR/report.
    """
    from pathlib import Path

    from aflab.pipelines.sweep import run_sweep, sweep_progress
    from aflab.report.build import build_report
    from aflab.report.sweep import format_sweep

    spec = report_errors(lambda: spec_from("sweep", opts))
    notes: list[str] = []
    try:
        result = report_errors(lambda: run_sweep(spec, variations, notes=notes, echo=click.echo))
    except Interrupted as stop:
        click.echo(f"\n{stop.headline}: the sweep's logs keep what finished")
        for line in sweep_progress(spec.log_dir):
            click.echo(line)
        click.echo(f"resume with: {same_command()}")
        raise
    if result.plan is not None:  # --dry-run: the plan is printed, nothing ran
        return
    click.echo(format_sweep(result))
    for note in notes:
        click.echo(f"note: {note}")
    click.echo(f"{len(result.logs)} runs in {spec.log_dir}")
    logs = list(result.logs.values())
    index = report_errors(lambda: build_report([], Path(spec.log_dir) / "report", logs=logs))
    click.echo(f"report: {index}")
