"""``aflab train``: fine-tuning commands. Torch and the training libraries load inside them only,
so ``aflab --help`` stays fast and works without the ``train`` extra."""

from __future__ import annotations

from typing import Any

import click

from aflab.cli.options import lora_options
from aflab.cli.util import report_errors


@click.group()
def train() -> None:
    """Fine-tune a model (needs the 'train' extra: pip install 'aflab[train]')."""


@train.command()
@click.option(
    "--base",
    default="smollm2",
    show_default=True,
    help="Hugging Face id or folder; smollm2 (or aflab/smollm2): the embedded model.",
)
@click.option("--docs", required=True, type=click.Path(exists=True), help="Folder or file.")
@click.option("--out", required=True, type=click.Path(), help="Output folder.")
@click.option("--limit-docs", type=click.IntRange(min=1), default=None, help="First N texts.")
@lora_options(r=64, alpha=128, learning_rate=1e-4)
@click.option(
    "--lora-dropout",
    type=click.FloatRange(0, 1),
    default=0.05,
    show_default=True,
    help="Dropout on the LoRA layers.",
)
@click.option(
    "--target-modules", default="all-linear", show_default=True, help="Or e.g. q_proj,v_proj."
)
@click.option(
    "--epochs", type=float, default=1.0, show_default=True, help="Passes over the documents."
)
@click.option("--max-steps", type=click.IntRange(min=1), default=None, help="Overrides --epochs.")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Sequences per step and device.",
)
@click.option(
    "--grad-accum",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Steps whose gradients are summed before an update.",
)
@click.option(
    "--max-length",
    type=click.IntRange(min=8),
    default=1024,
    show_default=True,
    help="Tokens per sequence; longer documents are cut.",
)
@click.option(
    "--warmup-steps",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Steps of linear learning-rate warm-up.",
)
@click.option("--scheduler", default="linear", show_default=True, help="Trainer LR schedule.")
@click.option("--gradient-checkpointing", is_flag=True, help="Less memory, ~30% slower.")
@click.option("--merge", is_flag=True, help="Also save a merged model in OUT/merged.")
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of data order and LoRA init."
)
def sft(docs: str, limit_docs: int | None, **opts: Any) -> None:
    """LoRA SFT on documents (a 'text' column in parquet or JSONL), continued-pretraining style.

    Writes OUT/adapter (LoRA), OUT/merged (--merge) and OUT/aflab-train.json. Evaluate with
    aflab run --model hf/OUT/merged --prompt minimal. Multi-GPU: accelerate launch
    --config_file CONFIG -m aflab.cli train sft ... (docs/organisms.md).
    """

    def action() -> Any:
        from aflab.organisms.train.sft import SFTOptions, train_on_documents

        return train_on_documents(docs, limit_docs, SFTOptions(**opts), echo=click.echo)

    from aflab.organisms.train.sft import result_lines

    for line in result_lines(report_errors(action)):
        click.echo(line)


@train.command()
def configs() -> None:
    """Print the paths of the shipped accelerate configs (DDP, DeepSpeed ZeRO-2, ZeRO-3)."""
    from aflab.organisms.train.sft import accelerate_configs

    for path in accelerate_configs():
        click.echo(path)
