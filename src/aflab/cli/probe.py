"""``aflab probe``: activations of an open model on a run's transcripts, linear probes on them,
and steering along a probe's direction (docs/probes.md). torch and scikit-learn load inside the
commands only."""

from __future__ import annotations

from typing import Any

import click

from aflab.cli.options import spec_options
from aflab.cli.util import report_errors


@click.group()
def probe() -> None:
    """White-box: collect activations, train linear probes, steer (needs the 'train' and 'probe'
    extras)."""


def _scales(ctx: click.Context, param: click.Parameter, value: str) -> tuple[float, ...]:
    try:
        scales = tuple(float(part) for part in value.split(",") if part.strip())
    except ValueError as error:
        raise click.BadParameter(f"{value!r}: expected numbers separated by commas") from error
    if not scales:
        raise click.BadParameter("give at least one scale")
    return scales


STEER_RUN_OPTIONS = (
    "setting",
    "variation",
    "prompt",
    "wording_file",
    "lab",
    "no_examples",
    "no_scratchpad",
    "no_training_objective",
    "no_training_details",
    "no_modification_effects",
    "self_tag",
    "system_prompt",
    "dataset",
    "dataset_format",
    "column",
    "limit",
    "shuffle_seed",
    "epochs",
    "max_continuations",
    "temperature",
    "max_tokens",
    "seed",
    "max_connections",
    "judges",
    "judge_model",
    "votes",
    "af_threshold",
    "af_maybe",
    "af_on",
    "max_retries",
    "timeout",
    "attempt_timeout",
    "display",
)


@probe.command()
@click.argument("directions", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--model",
    default="smollm2",
    show_default=True,
    help="The open model to steer: hf/PATH, a model folder, a Hugging Face id, or smollm2 (the "
    "embedded model's weights). Not an API model: steering needs the weights.",
)
@click.option(
    "--target",
    default="decision",
    show_default=True,
    help="What the direction separates; it points toward complied (decision), free (tier) or "
    "alignment faking (af).",
)
@click.option(
    "--subset", default="all", show_default=True, help="The samples its probe was trained on."
)
@click.option(
    "--position",
    default="prompt_end",
    show_default=True,
    help="The token position it was read at: system_end, user_end, prompt_end, "
    "scratchpad_mean or pre_output.",
)
@click.option(
    "--layer",
    type=click.IntRange(min=0),
    required=True,
    help="The direction's layer, and the decoder block (0-based) after which it is added.",
)
@click.option(
    "--method",
    type=click.Choice(["diffmeans", "probe"]),
    default="diffmeans",
    show_default=True,
    help="diffmeans: the difference of the class means; probe: the linear probe's weights.",
)
@click.option(
    "--scales",
    default="-4,-2,0,2,4",
    show_default=True,
    callback=_scales,
    help="Comma-separated multiples of the distance between the class means (diff_norm) to add "
    "at every position; 0 is the model unsteered. Negative first: --scales=-4,0,4.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="steer",
    show_default=True,
    help="Folder of steer.csv (a row per scale), steer-settings.json, specs/ and logs/.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Measure only the scales OUT/steer.csv lacks (same model, direction and run options).",
)
@spec_options("run", only=STEER_RUN_OPTIONS)
def steer(directions: str, **opts: Any) -> None:
    """Steer an open model along a probe's direction, measuring each scale.

    The direction (of aflab probe train's DIRECTIONS folder), times scale x diff_norm, is added
    to the residual stream after block --layer at every position; each scale is an ordinary run
    in both tiers, whose refusal per tier, compliance gap and AF rate become a row of
    OUT/steer.csv as soon as it is measured. The model of each run is
    steered/OUT/specs/scale_S.json, which any aflab or Inspect verb can run again.
    """
    from aflab.probes.steer import SETTINGS_FILE, ScaleFailed, SteerOptions
    from aflab.probes.steer import steer as run_steer
    from aflab.spec import RunSpec

    # Only these: --model and --resume are the sweep's own, though the run spec has fields of
    # those names.
    run = report_errors(lambda: RunSpec(**{name: opts.pop(name) for name in STEER_RUN_OPTIONS}))
    options = SteerOptions(directions=directions, run=run, **opts)
    try:
        result = report_errors(lambda: run_steer(options, echo=click.echo))
    except ScaleFailed as failed:
        raise click.ClickException(str(failed)) from failed
    for note in result.notes:
        click.echo(f"note: {note}")
    click.echo(f"{result.csv_path}: {len(result.rows)} scale(s)")
    click.echo(f"settings: {result.out / SETTINGS_FILE}; logs: {result.out / 'logs'}")
