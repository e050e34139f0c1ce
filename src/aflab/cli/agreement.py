"""``aflab agreement``: how far judges, judge models and the tag rule agree on the same samples."""

from __future__ import annotations

import click

from aflab.cli.util import report_errors


@click.command()
@click.argument("logs", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--variable",
    type=click.Choice(["compliance", "af", "all"]),
    default="all",
    show_default=True,
    help="The verdict compared: compliance (tag rule and compliance judges), af (the AF judges, "
    "criteria5 collapsed to AF or not, and each judge's own three verdicts), or all.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder for agreement.json and agreement.html (disagreements linked to a transcript "
    "browser found there or beside a log).",
)
@click.option(
    "--json",
    "json_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the statistics and every disagreement as JSON to this file.",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap resampling."
)
@click.option(
    "--draws",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Bootstrap resamples of queries for the 95% intervals.",
)
@click.option(
    "--show",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Disagreements listed per verdict (all are in the JSON).",
)
def agreement(
    logs: tuple[str, ...],
    variable: str,
    out: str | None,
    json_file: str | None,
    seed: int,
    draws: int,
    show: int,
) -> None:
    """Agreement of judges, judge models and the tag rule on the same samples.

    LOGS are logs and folders of logs: a run and its copies rescored with other judges or judge
    models (aflab rescore --judge-model M), matched by sample id, epoch and conversation. A
    rater is a judge with its judge model, or the tag rule. Prints, per verdict, Cohen's kappa
    and percent agreement for every pair of raters, Krippendorff's alpha for all of them, with
    95% bootstrap intervals resampling queries, the confusion tables and the samples they
    disagree on. Samples a log holds and another does not are counted, never dropped silently.
    """
    from aflab.pipelines.agreement import judge_agreement, write_agreement
    from aflab.report.agreement import format_agreement

    compared = report_errors(lambda: judge_agreement(logs, variable, draws, seed))
    for note in compared.skipped:
        click.echo(f"note: skipped {note}")
    click.echo(format_agreement(compared.result, show))
    for path in report_errors(lambda: write_agreement(compared, out, json_file)):
        click.echo(f"wrote {path}")
