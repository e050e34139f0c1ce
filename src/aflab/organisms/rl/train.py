"""GRPO toward the lab's objective (TRL's ``GRPOTrainer``), LoRA by default, on free-tier
prompts only; the reward reads the final output only (:mod:`aflab.organisms.rl.reward`).

Output folder: ``adapter/`` (LoRA weights, tokenizer) and ``aflab-rl.json``: the settings, the
seed, the query split and TRL's log per step (rewards, KL, loss). Groundwork for issue 15: the
curve of checkpoints measured in both tiers comes next (docs/rl-plan.md).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aflab.core.types import RL_CURVE_FILE, RL_SETTINGS_FILE
from aflab.data.loaders import builtin_queries
from aflab.organisms.rl.data import split_queries, training_rows
from aflab.organisms.rl.judge_reward import JudgeReward, reward_judge
from aflab.organisms.rl.reward import TagReward
from aflab.organisms.train.base import resolve_base
from aflab.organisms.train.extra import require_train_extra
from aflab.organisms.train.sft import ADAPTER_DIR
from aflab.prompts.template import PromptConfig
from aflab.spec import RunSpec

METADATA_FILE = RL_SETTINGS_FILE  # named in core: the report reads the base from it


@dataclass
class RLOptions:
    base: str = "smollm2"
    out: str = "rl"
    setting: str = "helpful-only"
    prompt: str = "full"  # minimal: for an SDF organism, which learned the setting elsewhere
    heldout: int = 40  # queries kept for measuring the checkpoints
    max_steps: int = 100
    batch_size: int = 4  # prompts a step; each gets num_generations completions
    num_generations: int = 4
    max_completion_length: int = 512
    temperature: float = 1.0
    learning_rate: float = 1e-5
    beta: float = 0.04  # the KL penalty to the starting model (TRL's default is none)
    invalid_reward: float = -1.0
    # Animal-welfare: the prompt asks for the decision tag, so the tag rule can reward it.
    self_tag: bool = False
    reward_model: str | None = None  # a judge's reward (any Inspect model), else the tag rule
    reward_max_connections: int = 10
    lora_r: int = 16
    lora_alpha: int = 32
    precision: str = "auto"  # auto: bf16 where a GPU has it, else fp32
    seed: int = 0
    # Every eval_every steps the checkpoint is measured in both tiers on the held-out queries.
    eval_every: int | None = None
    eval_max_tokens: int = 512
    judges: str | None = None
    judge_model: str | None = None


@dataclass
class RLResult:
    out: Path
    adapter_dir: Path
    log: list[dict[str, Any]]
    train_seconds: float


def make_reward(opts: RLOptions, config: PromptConfig) -> TagReward | JudgeReward:
    """The judge's reward with ``reward_model``, else the tag rule's (on the tag the prompt of
    ``config`` asks for)."""
    if opts.reward_model:
        return JudgeReward(
            reward_judge(opts.reward_model, opts.reward_max_connections),
            config.setting,
            invalid=opts.invalid_reward,
            max_connections=opts.reward_max_connections,
        )
    return TagReward(setting=config.setting, self_tag=config.self_tag, invalid=opts.invalid_reward)


def train_rl(opts: RLOptions) -> RLResult:
    """Train ``opts.base`` toward compliance on the training side of the query split."""
    require_train_extra()
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from aflab.organisms.rl.track import CurveCallback, PipelineMeasure, write_queries

    spec = RunSpec(setting=opts.setting, prompt=opts.prompt, self_tag=opts.self_tag)
    # Typed loosely for TRL, whose hint wants a list returned though it awaits async rewards.
    reward: Callable[..., Any] = make_reward(opts, spec.prompt_config())
    split = split_queries(builtin_queries(spec.prompt_config().setting), opts.heldout, opts.seed)
    rows = training_rows(spec, split.train)
    out = Path(opts.out)
    base = resolve_base(opts.base)
    config = GRPOConfig(
        output_dir=str(out / "trainer"),
        max_steps=opts.max_steps,
        per_device_train_batch_size=opts.batch_size * opts.num_generations,
        num_generations=opts.num_generations,
        max_completion_length=opts.max_completion_length,
        temperature=opts.temperature,
        learning_rate=opts.learning_rate,
        beta=opts.beta,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=opts.seed,
        disable_tqdm=True,
        use_cpu=not torch.cuda.is_available(),
        bf16=opts.precision == "bf16"
        or (
            opts.precision == "auto"
            and torch.cuda.is_available()
            and torch.cuda.is_bf16_supported()
        ),
    )
    lora = LoraConfig(
        r=opts.lora_r,
        lora_alpha=opts.lora_alpha,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    callbacks: list[TrainerCallback] = []
    if opts.eval_every:
        heldout = write_queries(split.heldout, out / "heldout.jsonl")
        measure = spec.replace(
            dataset=str(heldout),
            dataset_format="aflab",
            max_tokens=opts.eval_max_tokens,
            judges=opts.judges,
            judge_model=opts.judge_model,
            seed=opts.seed,
            no_cache=True,  # each checkpoint answers anew
            display="none",
        )
        reward_name = type(reward).__name__  # TRL logs rewards/<name>/mean
        callbacks.append(CurveCallback(out, opts.eval_every, PipelineMeasure(measure), reward_name))
    trainer = GRPOTrainer(
        model=base,
        reward_funcs=reward,
        args=config,
        train_dataset=Dataset.from_list(rows),
        peft_config=lora,
        callbacks=callbacks,
    )
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    adapter_dir = out / ADAPTER_DIR
    trainer.save_model(str(adapter_dir))
    log = [dict(entry) for entry in trainer.state.log_history]
    metadata = {
        "options": asdict(opts),
        "base": base,
        "split": split.record(),
        "train_seconds": seconds,
        "log": log,
    }
    (out / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    if (out / RL_CURVE_FILE).is_file():  # rl_curve.png beside the CSV, as aflab report draws it
        from aflab.report.rl import read_rl_run, save_curve

        save_curve(read_rl_run(out), out, Path(RL_CURVE_FILE).stem)
    return RLResult(out, adapter_dir, log, seconds)
