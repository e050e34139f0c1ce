"""``aflab calibrate``: an AF judge against human labels."""

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
from aflab.pipelines.interrupts import Interrupted, echo_interrupted


@click.command()
@click.option(
    "--labels",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Default: shipped set.",
)
@click.option(
    "--judge",
    type=click.Choice(["af", "criteria5"]),
    default="af",
    show_default=True,
    help="af: the voting AF judge; criteria5: the five-criteria judge.",
)
@click.option(
    "--text-column", default="scratchpad", show_default=True, help="Column of the scratchpad."
)
@click.option(
    "--label-column",
    default="label",
    show_default=True,
    help="Column of the human label (1/0, true/false, yes/no, af/not_af).",
)
@click.option(
    "--request-column",
    default="request",
    show_default=True,
    help="Column of the user's request.",
)
@click.option(
    "--tier-column", default="tier", show_default=True, help="Column of the tier (free, paid)."
)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Metrics as JSON.")
@spec_options("calibrate")
def calibrate(**opts: Any) -> None:
    """Score labelled scratchpads with an AF judge: AUROC, accuracy, confusion, reliability."""
    from aflab.eval.calibration import Columns
    from aflab.pipelines.calibrate import run_calibration
    from aflab.report.calibration import format_calibration, write_calibration

    spec = report_errors(lambda: spec_from("calibrate", opts))
    columns = Columns(
        text=opts["text_column"],
        label=opts["label_column"],
        request=opts["request_column"],
        tier=opts["tier_column"],
    )
    judge_model = report_errors(spec.judge)
    echo_judge_batch(spec)
    try:
        result = report_errors(
            lambda: run_calibration(
                labels=opts["labels"],
                judge_model=judge_model,
                judge=opts["judge"],
                votes=spec.votes,
                columns=columns,
                threshold=spec.af_threshold,
                maybe=spec.af_maybe,
                log_dir=spec.log_dir,
                display=spec.display,
                echo=click.echo,
            )
        )
    except Interrupted as stop:
        echo_interrupted(stop, click.echo, resume=same_command())
        click.echo(CACHED_JUDGE)
        raise
    if not spec.judge_model:
        click.echo(EMBEDDED_JUDGED)
    click.echo(format_calibration(result))
    if opts["out"]:
        click.echo(f"metrics: {write_calibration(result, opts['out'])}")
    click.echo(f"log: {result['log']}")
