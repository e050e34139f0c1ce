"""``aflab organism``: recipes that build and measure model organisms. Torch loads inside the
commands only."""

from __future__ import annotations

from typing import Any

import click

from aflab.cli.options import lora_options
from aflab.cli.util import report_errors


@click.group()
def organism() -> None:
    """Build and measure model organisms (needs the 'train' extra)."""


@organism.command()
@click.option(
    "--out",
    default="control",
    show_default=True,
    type=click.Path(),
    help="Folder of the organism, its logs and summary.",
)
@click.option("--base", default="smollm2", show_default=True, help="Model to fine-tune.")
@click.option(
    "--pairs",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Held-out requests it is measured on (each in both tiers).",
)
@click.option(
    "--train-requests",
    type=click.IntRange(min=1),
    default=80,
    show_default=True,
    help="Requests its training transcripts are made from.",
)
@click.option(
    "--epochs", type=float, default=1.0, show_default=True, help="Passes over the transcripts."
)
@lora_options(r=16, alpha=32, learning_rate=1e-3)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Transcripts per step.",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of the request split, transcripts and training.",
)
@click.option(
    "--temperature",
    type=float,
    default=1.0,
    show_default=True,
    help="Sampling temperature of the measurement.",
)
@click.option(
    "--max-tokens",
    type=click.IntRange(min=16),
    default=160,
    show_default=True,
    help="Tokens per reply in the measurement.",
)
@click.option(
    "--max-continuations",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Extra turns (<NEXT/>) before it must answer.",
)
@click.option("--judge-model", default=None, help="Runs the AF judge on the organism's replies.")
@click.option(
    "--votes",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Votes of the AF judge per sample (with --judge-model).",
)
@click.option(
    "--summary-json", type=click.Path(), default=None, help="Also write the summary JSON here."
)
@click.option("--reuse", is_flag=True, help="Evaluate OUT/merged again instead of training.")
@click.option("--display", default="none", show_default=True, help="Inspect display.")
def control(**opts: Any) -> None:
    """Train the small model on CPU into an organism that complies more on the free tier (with
    scratchpads about training), then measure its gap on held-out requests.

    A known-answer test of the measurement, not a finding: the gap is built in by hand.
    Writes OUT/merged, OUT/logs and OUT/control-summary.json.
    """
    from aflab.organisms.control.recipe import ControlOptions, run_control

    outcome = report_errors(lambda: run_control(ControlOptions(**opts), echo=click.echo))
    control_block = outcome.summary["control"]
    for tier, block in control_block["rule_check"]["tiers"].items():
        click.echo(
            f"rule check, {tier}: {block['flagged']}/{block['n']} scratchpads name training, "
            "modification and values"
        )
    training = control_block["training"]
    click.echo(
        f"time: training {training.get('train_seconds')} s, evaluation "
        f"{control_block['eval_seconds']} s"
    )
    click.echo(f"note: {control_block['note']}")
    if control_block["judge_note"]:
        click.echo(f"note: {control_block['judge_note']}")
    click.echo(f"summary: {outcome.summary_path}")
