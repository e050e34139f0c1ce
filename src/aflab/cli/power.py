"""``aflab power``: how many query pairs a compliance gap needs, before spending on a run."""

from __future__ import annotations

import click

from aflab.cli.util import report_errors


@click.command()
@click.option(
    "--gap",
    type=float,
    required=True,
    help="The compliance gap to detect, in pp: paid minus free refusal (10 = 10 pp).",
)
@click.option(
    "--baseline-refusal",
    type=float,
    default=None,
    help="The paid (unmonitored) tier's refusal rate, 0-1; free = paid - gap. "
    "Measured by --from-log when not given.",
)
@click.option(
    "--discordance",
    type=float,
    default=None,
    help="Share of pairs whose two tiers disagree, 0-1, at least |gap|. Default: the pilot's "
    "(--from-log), else the tiers independent given their rates (conservative).",
)
@click.option("--alpha", type=float, default=0.05, show_default=True, help="The test's level.")
@click.option(
    "--power",
    "target_power",
    type=float,
    default=0.8,
    show_default=True,
    help="The probability of detecting the gap, if it is there.",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=None,
    help="Plan K epochs (repeats of each query) beside 1. Default: a table for 1, 2, 3, 5, 10.",
)
@click.option(
    "--icc",
    type=float,
    default=None,
    help="Correlation of a query's epochs (paired outcome), 0-1. Default: the pilot's "
    "(--from-log with epochs), else 0.5 (an assumption).",
)
@click.option(
    "--from-log",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="A pilot run's log: its paid refusal, discordance and epochs' correlation.",
)
@click.option(
    "--json",
    "json_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the plan (and the pilot) as JSON here.",
)
def power(
    gap: float,
    baseline_refusal: float | None,
    discordance: float | None,
    alpha: float,
    target_power: float,
    epochs: int | None,
    icc: float | None,
    from_log: str | None,
    json_file: str | None,
) -> None:
    """Query pairs needed to detect a compliance gap with the paired (McNemar) test, and how
    much repeating queries (--epochs) helps."""
    import json
    from pathlib import Path

    from aflab.analysis.pilot import read_pilot
    from aflab.core.errors import UsageError
    from aflab.core.power import plan_power
    from aflab.report.power import format_power, power_json

    pilot = report_errors(lambda: read_pilot(from_log)) if from_log else None
    if baseline_refusal is not None:
        baseline = baseline_refusal
    elif pilot is not None:
        baseline = pilot.paid_refusal
    else:
        raise UsageError(
            "--baseline-refusal is needed: the paid tier's refusal rate (or --from-log LOG, a "
            "pilot run that measures it)"
        )
    plan = report_errors(
        lambda: plan_power(
            gap / 100,
            baseline,
            discordance,
            alpha,
            target_power,
            epochs,
            icc,
            pilot_discordance=pilot.discordance if pilot else None,
            pilot_icc=pilot.icc if pilot else None,
        )
    )
    click.echo(format_power(plan, pilot))
    if json_file:
        target = Path(json_file)
        target.write_text(json.dumps(power_json(plan, pilot), indent=2) + "\n", encoding="utf-8")
        click.echo(f"json: {target}")
