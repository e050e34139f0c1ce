"""``aflab summary``: the per-tier table of an existing log."""

from __future__ import annotations

import click

from aflab.cli.util import report_errors


@click.command()
@click.argument("log", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--summary-json",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the summary JSON here.",
)
def summary(log: str, summary_json: str | None) -> None:
    """Print the per-tier table of an existing log (and optionally write its summary JSON)."""
    from aflab.analysis.antilab import summarize_antilab
    from aflab.analysis.logs import incomplete_note, read_log
    from aflab.analysis.summary import summarize, write_summary
    from aflab.core.types import is_antilab
    from aflab.report.tables import format_antilab, format_table

    full = report_errors(lambda: read_log(log))
    if is_antilab(full):
        result = report_errors(lambda: summarize_antilab(full))
        click.echo(format_antilab(result))
    else:
        result = report_errors(lambda: summarize(full))
        click.echo(format_table(result))
    if full.status != "success":
        click.echo(incomplete_note(full))
    if summary_json:
        click.echo(f"summary: {write_summary(result, summary_json)}")
