"""``aflab probe``: activations of an open model on a run's transcripts, linear probes on them,
and steering along a probe's direction (docs/probes.md). torch and scikit-learn load inside the
commands only."""

from __future__ import annotations

from typing import Any

import click

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
