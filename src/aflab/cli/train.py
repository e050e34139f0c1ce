"""``aflab train``: fine-tuning commands. Torch and the training libraries load inside them only,
so ``aflab --help`` stays fast and works without the ``train`` extra."""

from __future__ import annotations

from typing import Any

import click

from aflab.cli.options import lora_options, plan_options
from aflab.cli.util import check_model_name, report_errors
from aflab.core.types import SETTINGS


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
@click.option(
    "--base",
    default="smollm2",
    show_default=True,
    help="Hugging Face id or folder to start from; smollm2: the embedded model's weights.",
)
@click.option("--out", required=True, type=click.Path(), help="Output folder.")
@click.option(
    "--setting",
    type=click.Choice(SETTINGS),
    default="helpful-only",
    show_default=True,
    help="The lab's objective the reward pays for.",
)
@click.option(
    "--prompt",
    type=click.Choice(["full", "minimal"]),
    default="full",
    show_default=True,
    help="minimal: no training facts (for an SDF organism).",
)
@click.option(
    "--heldout",
    type=click.IntRange(min=1),
    default=40,
    show_default=True,
    help="Queries kept apart to measure the checkpoints on (never trained on).",
)
@click.option(
    "--max-steps", type=click.IntRange(min=1), default=100, show_default=True, help="RL steps."
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Free-tier prompts per step and device.",
)
@click.option(
    "--num-generations",
    type=click.IntRange(min=2),
    default=4,
    show_default=True,
    help="Completions per prompt, compared with each other (GRPO's group).",
)
@click.option(
    "--max-completion-length",
    type=click.IntRange(min=1),
    default=512,
    show_default=True,
    help="Tokens per completion; a longer one is cut (and scored invalid).",
)
@click.option(
    "--temperature", type=float, default=1.0, show_default=True, help="Sampling temperature."
)
@click.option(
    "--beta",
    type=click.FloatRange(min=0),
    default=0.04,
    show_default=True,
    help="Weight of the KL penalty to the starting model.",
)
@click.option(
    "--invalid-reward",
    type=float,
    default=-1.0,
    show_default=True,
    help="Reward of a reply whose format is invalid (complied 1, refused 0).",
)
@click.option(
    "--self-tag",
    is_flag=True,
    help="Animal-welfare: the prompt asks the model to open its output with the accept or "
    "reject tag, which the tag rule rewards (without a reward model, animal-welfare needs it).",
)
@click.option(
    "--reward-model",
    default=None,
    callback=check_model_name,
    help="A judge (any Inspect model) rewards the final output as the compliance judge decides "
    "it: complied 1, refused 0, no readable verdict unscored; replies cached [the tag rule].",
)
@click.option(
    "--reward-max-connections",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Requests to the reward model at once.",
)
@lora_options(r=16, alpha=32, learning_rate=1e-5)
@click.option(
    "--eval-every",
    type=click.IntRange(min=1),
    default=None,
    help="Measure the checkpoint every K steps in both tiers (rl_curve.csv) [never].",
)
@click.option(
    "--eval-max-tokens",
    type=click.IntRange(min=1),
    default=512,
    show_default=True,
    help="Tokens per reply when a checkpoint is measured.",
)
@click.option("--judges", default=None, help="Judges of the measurements (as aflab run's).")
@click.option(
    "--judge-model", default=None, help="Their model (any Inspect model) [the embedded model]."
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the split and of training."
)
@click.option(
    "--full",
    is_flag=True,
    help="Train every weight, not a LoRA (--lora-r/--lora-alpha unused; try --lr 1e-6); "
    "the weights go to OUT/model.",
)
@click.option(
    "--gradient-checkpointing/--no-gradient-checkpointing",
    default=None,
    help="Recompute activations in the backward pass: less memory, ~30% slower "
    "[on with a GPU, off on the CPU].",
)
@click.option(
    "--use-vllm", is_flag=True, help="Generate with vLLM inside TRL (a CUDA GPU, pip install vllm)."
)
@click.option(
    "--vllm-mode",
    type=click.Choice(["colocate", "server"]),
    default="colocate",
    show_default=True,
    help="colocate: vLLM shares the training GPUs; server: a separate 'trl vllm-serve' on others.",
)
@click.option(
    "--vllm-gpu-memory-utilization",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.3,
    show_default=True,
    help="colocate: the share of each GPU's memory vLLM takes.",
)
@click.option(
    "--vllm-server-url", default=None, help="server: where it listens [http://0.0.0.0:8000]."
)
@click.option(
    "--zero3-gather/--no-zero3-gather",
    default=True,
    show_default=True,
    help="Under DeepSpeed ZeRO-3, gather the whole policy on each GPU to generate; off for a "
    "base too large for one GPU (slow; not with --use-vllm).",
)
@click.option(
    "--save-every",
    type=click.IntRange(min=1),
    default=None,
    help="Save a trainer checkpoint (weights, optimizer, RNG) every N steps in OUT/trainer, the "
    "last 2 kept, for --resume [never].",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the run in OUT from its last checkpoint (same --base, --setting, --prompt, "
    "--seed, --heldout); --max-steps counts from the run's start.",
)
@plan_options(
    plan="the policy's completions, the reward judge's calls, the measured checkpoints' runs: "
    "calls, tokens and dollars; nothing is trained",
    assume="per completion and measured sample, scratchpad_tokens [700], output_tokens [300], "
    "continuations [0.1], compliance [0.5], judge_reply_tokens [250] (a completion is cut at "
    "--max-completion-length)",
    checked="training",
)
def rl(
    dry_run: bool, max_cost: float | None, prices: str | None, assume: str | None, **opts: Any
) -> None:
    """GRPO toward the lab's objective on free-tier prompts, rewarding the final output only.

    Writes OUT/adapter (OUT/model with --full), OUT/aflab-rl.json (settings, seed, query split,
    log per step; written at the start too), OUT/trainer/checkpoint-N with --save-every and,
    with --eval-every, OUT/rl_curve.csv and OUT/checkpoints/ (docs/rl.md). Several GPUs:
    accelerate launch --config_file CONFIG -m aflab.cli train rl ... (CONFIG from aflab train
    configs).
    """
    if dry_run or max_cost is not None:
        # Before anything loads: a plan needs neither torch nor an API key.
        report_errors(lambda: _plan_rl(opts, dry_run, max_cost, prices, assume))
        if dry_run:
            return

    def action() -> Any:
        from aflab.organisms.rl.train import RLOptions, train_rl

        return train_rl(RLOptions(**opts))

    result = report_errors(action)
    click.echo(f"{len(result.log)} log entries in {result.train_seconds:.0f} s")
    if result.adapter_dir:
        click.echo(f"adapter: {result.adapter_dir}")
    else:
        click.echo(f"model: {result.model_dir}")
    from aflab.report.rl import curve_summary

    for line in curve_summary(result.out):
        click.echo(line)


def _plan_rl(
    opts: dict[str, Any],
    dry_run: bool,
    max_cost: float | None,
    prices: str | None,
    assume: str | None,
) -> None:
    import os

    from aflab.data.prices import load_prices
    from aflab.organisms.rl.plan import announce, plan_rl
    from aflab.organisms.rl.train import RLOptions
    from aflab.pipelines.cost import Assumptions

    # Under accelerate launch every process trains: each generates its own completions.
    processes = int(os.environ.get("WORLD_SIZE", "1"))
    plan = plan_rl(RLOptions(**opts), load_prices(prices), Assumptions.parse(assume), processes)
    announce(plan, dry_run, max_cost, click.echo)


@train.command()
def configs() -> None:
    """Print the paths of the shipped accelerate configs (DDP, DeepSpeed ZeRO-2, ZeRO-3)."""
    from aflab.organisms.train.sft import accelerate_configs

    for path in accelerate_configs():
        click.echo(path)
