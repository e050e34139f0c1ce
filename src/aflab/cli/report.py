"""``aflab report``: figures, tables and a transcript browser for one or many logs."""

from __future__ import annotations

import click

from aflab.cli.util import report_errors


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="report",
    show_default=True,
    help="Folder of the report.",
)
def report(paths: tuple[str, ...], out: str) -> None:
    """Figures, tables (CSV) and a transcript browser (index.html) for one or many logs.

    PATHS are logs and folders, searched to any depth. A folder of aflab train rl (one
    holding rl_curve.csv) adds its training curve: a figure, and a table on the page and in
    rl_curve.md; its checkpoints' logs are runs like any other. A folder of aflab probe train
    (probes.csv, probe_transfer.csv) adds its AUROC figures and best-layer tables (probes.md),
    one of aflab probe steer (steer.csv) its steering curves and tables (steer.md). Such folders
    are enough without a log.

    A log that cannot be opened, and the partial log of a run that was resumed, are skipped with
    a note; a log whose samples cannot be read stops the report, which then writes nothing. OUT
    must be empty, new, or an earlier report, whose files are replaced.
    """
    from aflab.analysis.runs import read_headers
    from aflab.report.build import build_report, table_folders

    # Headers only: the build streams the samples of each log past, once.
    skipped: list[str] = []
    tables = table_folders(paths)
    logs = report_errors(lambda: read_headers(paths, skipped, required=not tables))
    for note in skipped:
        click.echo(f"note: skipped {note}")
    index = report_errors(lambda: build_report(paths, out, logs=logs))
    click.echo(f"report: {index}")
