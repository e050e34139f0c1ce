"""``aflab probe``: activations of an open model on a run's transcripts, linear probes on them,
and steering along a probe's direction (docs/probes.md). torch and scikit-learn load inside the
commands only."""

from __future__ import annotations

from typing import Any

import click

from aflab.cli.options import spec_options
from aflab.cli.util import report_errors
from aflab.probes.positions import POSITIONS


@click.group()
def probe() -> None:
    """White-box: collect activations, train linear probes, steer (needs the 'train' and 'probe'
    extras)."""


@probe.command()
@click.argument("logs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--model",
    required=True,
    help="The open model that reads the transcripts: hf/PATH, a folder, a hub id, or smollm2.",
)
@click.option(
    "--out",
    default="activations",
    show_default=True,
    type=click.Path(file_okay=False),
    help="The store's folder; an existing store is continued.",
)
@click.option(
    "--layers",
    default="all",
    show_default=True,
    help="Decoder blocks whose output is kept: all, 0,6,12, 4-8 or 0-31:4.",
)
@click.option(
    "--positions",
    default=",".join(POSITIONS),
    show_default=True,
    help="Where in each transcript (docs/probes.md).",
)
@click.option(
    "--dtype",
    type=click.Choice(["float32", "float16"]),
    default="float32",
    show_default=True,
    help="How the vectors are stored.",
)
@click.option(
    "--shard-size",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="Samples per shard: what memory holds, and what an interruption can lose.",
)
@click.option(
    "--device",
    default="auto",
    show_default=True,
    help="auto: the GPUs (device_map=auto, bf16) if any, else the CPU; or cpu, cuda:0...",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="New samples at most.")
@click.option(
    "--max-length",
    type=click.IntRange(min=1),
    default=None,
    help="Skip (and record) transcripts longer than this many tokens [no limit].",
)
def collect(**opts: Any) -> None:
    """Read the transcripts of aflab run LOGS (both tiers) with an open model and store its
    residual stream at named positions, with each sample's labels from the log."""

    def action() -> Any:
        from aflab.probes.collect import CollectOptions, collect

        return collect(CollectOptions(**opts), echo=click.echo)

    result = report_errors(action)
    click.echo(
        f"{result.collected} samples collected, {result.skipped} skipped (reasons in the "
        f"manifest), {result.already} already stored, in {result.seconds:.0f} s: {result.store}"
    )


def _words(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    """A repeatable option that also takes comma-separated values: --layers 3,10 --layers 20."""
    return tuple(word.strip() for item in value for word in item.split(",") if word.strip())


def _targets(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    from aflab.probes.targets import TARGETS

    words = _words(ctx, param, value) or TARGETS
    unknown = [word for word in words if word not in TARGETS]
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)}: choose from {', '.join(TARGETS)}")
    return tuple(dict.fromkeys(words))


def _layers(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> tuple[int, ...] | None:
    words = _words(ctx, param, value)
    try:
        return tuple(int(word) for word in words) or None
    except ValueError as error:
        raise click.BadParameter(f"{', '.join(words)}: layers are integers") from error


@probe.command("train")
@click.argument("store", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--out", type=click.Path(file_okay=False), default=None, help="Default: STORE/probes."
)
@click.option(
    "--targets",
    multiple=True,
    callback=_targets,
    help="tier, decision, af, af_rule (comma-separated or repeated). Default: all.",
)
@click.option(
    "--positions",
    multiple=True,
    callback=_words,
    help="Positions of the store to probe (comma-separated or repeated). Default: all.",
)
@click.option(
    "--layers",
    multiple=True,
    callback=_layers,
    help="Layers of the store to probe (comma-separated or repeated). Default: all.",
)
@click.option(
    "--folds",
    type=click.IntRange(min=2),
    default=5,
    show_default=True,
    help="Cross-validation folds, grouped by query (fewer if fewer queries hold a class).",
)
@click.option(
    "--C",
    "c",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Inverse L2 strength of the logistic regression.",
)
@click.option(
    "--bootstrap",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Resamples of the queries for each AUROC's 95% interval (0: no interval).",
)
@click.option(
    "--permutations",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Permutations of the labels, each a control probe: their mean AUROC and central 95%.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Folds, controls, bootstrap.")
@click.option(
    "--transfer-by",
    multiple=True,
    type=click.Choice(["tier", "setting", "variation", "log", "none"]),
    default=("tier",),
    show_default=True,
    help="Transfer the decision probe between the values of this label (repeatable; none: no "
    "transfer tests).",
)
def train(store: str, out: str | None, **opts: Any) -> None:
    """Linear probes on an activation store: grouped cross-validated AUROC with a bootstrap
    interval, a permuted-label control, transfer tests and steering directions."""
    from aflab.probes.train import TrainOptions, summary_lines, train_probes

    options = TrainOptions(
        targets=opts["targets"],
        positions=opts["positions"] or None,
        layers=opts["layers"],
        folds=opts["folds"],
        C=opts["c"],
        bootstrap=opts["bootstrap"],
        permutations=opts["permutations"],
        seed=opts["seed"],
        transfer_by=tuple(by for by in opts["transfer_by"] if by != "none"),
    )
    result = report_errors(lambda: train_probes(store, out, options, echo=click.echo))
    for line in summary_lines(result):
        click.echo(line)


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
