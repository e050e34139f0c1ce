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
