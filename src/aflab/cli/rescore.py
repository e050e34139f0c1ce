"""``aflab rescore``: judge an existing log again, without asking the policy model."""

from __future__ import annotations

from typing import Any

import click

from aflab.cli.options import spec_from, spec_options
from aflab.cli.util import (
    CACHED_JUDGE,
    EMBEDDED_JUDGED,
    echo_judge_batch,
    report_errors,
    same_command,
)
from aflab.pipelines.interrupts import Interrupted


@click.command()
@click.argument("log", type=click.Path(exists=True, dir_okay=False))
@spec_options("rescore")
def rescore(log: str, **opts: Any) -> None:
    """Judge an existing log (no policy calls); writes <log>-rescored.eval beside it."""
    from aflab.analysis.summary import write_summary
    from aflab.pipelines.outputs import run_outputs_dir
    from aflab.pipelines.rescore import rescore as run_rescore
    from aflab.pipelines.stages import Planned
    from aflab.report.tables import format_table

    spec = report_errors(lambda: spec_from("rescore", opts))
    # A plan names the judge and builds nothing: building an API model wants its key.
    judge_model = spec.judge_model if spec.dry_run else report_errors(spec.judge)
    echo_judge_batch(spec)
    try:
        result = report_errors(
            lambda: run_rescore(
                log,
                judges=spec.judges,
                judge_model=judge_model,
                votes=spec.votes,
                af_threshold=spec.af_threshold,
                af_maybe=spec.af_maybe,
                af_on=spec.af_on,
                display=spec.display,
                echo=click.echo,
                spending=spec,
            )
        )
    except Interrupted as stop:
        click.echo(f"{stop.headline}: nothing written. {CACHED_JUDGE}")
        click.echo(f"resume with: {same_command()}")
        raise
    if isinstance(result, Planned):
        return
    if spec.judge_model is None:
        click.echo(EMBEDDED_JUDGED)
    click.echo(format_table(result.summary))
    write_summary(result.summary, run_outputs_dir(result.log_path) / "summary.json")
    if spec.summary_json:
        write_summary(result.summary, spec.summary_json)
    click.echo(f"log: {result.log_path}")
