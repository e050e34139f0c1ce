r"""GRPO toward the lab's objective (TRL's ``GRPOTrainer``), LoRA by default, on free-tier
prompts only; the reward reads the final output only (:mod:`aflab.organisms.rl.reward`).

Output folder: ``adapter/`` (LoRA weights, tokenizer; ``model/`` with ``full``) and
``aflab-rl.json``: the settings, the seed, the query split and TRL's log per step (rewards, KL,
loss). It is written when training starts, so that it lies beside the checkpoints of a run that
dies, and again at the end. With ``save_every``, ``trainer/checkpoint-N`` (weights, optimizer,
RNG) every N steps, the last two kept, which ``resume`` continues from; with ``eval_every``,
``rl_curve.csv`` and ``checkpoints/`` (:mod:`aflab.organisms.rl.track`).

GPU command lines (``aflab train configs`` prints the shipped accelerate configs)::

    # one GPU, generation by vLLM in the training process (pip install vllm)
    aflab train rl --base Qwen/Qwen2.5-7B-Instruct --out rl-7b --use-vllm \
        --save-every 10 --eval-every 10

    # 8 GPUs, plain data parallelism; --batch-size is per GPU
    accelerate launch --config_file $(aflab train configs | grep ddp) -m aflab.cli \
        train rl --base meta-llama/Llama-3.1-8B-Instruct --out rl-8b --use-vllm \
        --save-every 10 --eval-every 10

    # 70B over 8 GPUs, weights sharded (pip install deepspeed); no vLLM, no --eval-every
    accelerate launch --config_file $(aflab train configs | grep zero3) -m aflab.cli \
        train rl --base meta-llama/Llama-3.1-70B-Instruct --out rl-70b --no-zero3-gather \
        --batch-size 1 --save-every 10

On a GPU, bf16 (``precision`` auto) and gradient checkpointing are on by default. Under
``accelerate launch`` every rank trains and only rank 0 writes files. A checkpoint is measured
on rank 0 alone (its GPU, Inspect's ``hf/`` provider) while the other ranks wait in the next
collective; the NCCL timeout (``ddp_timeout``) is raised to four hours when ``eval_every`` is
given, so that a long measurement does not end the run. Under ZeRO-3, TRL gathers the whole
policy onto each GPU to generate (``--zero3-gather``) and, with vLLM, to fold the LoRA in before
handing the weights over: neither fits a 70B base in bf16 on an 80 GB card, so for 70B
generation runs sharded (``--no-zero3-gather``, slow) without vLLM, and the checkpoints are
measured afterwards (a merged checkpoint through ``aflab run --model vllm/...``). TRL itself
switches gradient checkpointing to the reentrant kind for LoRA under ZeRO-3.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from aflab.core.errors import UsageError
from aflab.core.types import RL_CURVE_FILE, RL_SETTINGS_FILE
from aflab.data.loaders import builtin_queries, write_queries
from aflab.organisms.rl.data import QuerySplit, split_queries, training_rows
from aflab.organisms.rl.judge_reward import JudgeReward, reward_judge
from aflab.organisms.rl.reward import TagReward
from aflab.organisms.train.base import resolve_base
from aflab.organisms.train.extra import require_train_extra
from aflab.organisms.train.sft import ADAPTER_DIR, PRECISIONS
from aflab.prompts.template import PromptConfig
from aflab.spec import RunSpec

METADATA_FILE = RL_SETTINGS_FILE  # named in core: the report reads the base from it
HELDOUT_FILE = "heldout.jsonl"
TRAINER_DIR = "trainer"  # TRL's working folder, where the checkpoints for --resume go
VLLM_MODES = ("colocate", "server")
KEEP_CHECKPOINTS = 2  # two, so that one cut short while saving leaves the one before
# The NCCL timeout while rank 0 measures a checkpoint and the other ranks wait (default 30 min).
MEASURE_TIMEOUT_S = 4 * 3600
# What defines a run and its query split: a resumed run must agree on these.
RUN_IDENTITY = ("base", "setting", "prompt", "seed", "heldout")
_CHECKPOINT = re.compile(r"checkpoint-(\d+)")


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
    precision: str = "auto"  # auto: bf16 where the GPU or the CPU has it natively, else fp32
    full: bool = False  # every weight trained, no LoRA (lora_r, lora_alpha unused)
    gradient_checkpointing: bool | None = None  # None: on with a GPU, off on the CPU
    use_vllm: bool = False  # generation by vLLM inside TRL (a CUDA GPU)
    vllm_mode: str = "colocate"  # or server: a separate `trl vllm-serve`
    vllm_gpu_memory_utilization: float = 0.3  # colocate: vLLM's share of each GPU
    vllm_server_url: str | None = None  # server: TRL's default is http://0.0.0.0:8000
    zero3_gather: bool = True  # ZeRO-3: gather the whole policy on each GPU to generate
    save_every: int | None = None  # trainer checkpoints for resume, every N steps
    resume: bool = False  # continue from the last checkpoint in out/trainer
    seed: int = 0
    # Every eval_every steps the checkpoint is measured in both tiers on the held-out queries.
    eval_every: int | None = None
    eval_max_tokens: int = 512
    judges: str | None = None
    judge_model: str | None = None


@dataclass
class RLResult:
    out: Path
    adapter_dir: Path | None  # None after a full fine-tune
    log: list[dict[str, Any]]
    train_seconds: float
    model_dir: Path | None = None  # a full fine-tune's weights


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
    from trl import GRPOConfig, GRPOTrainer

    from aflab.organisms.rl.track import MODEL_DIR, CurveCallback, PipelineMeasure

    cuda = torch.cuda.is_available()
    check_options(opts, cuda=cuda, vllm=find_spec("vllm") is not None)
    spec = run_spec(opts)
    # Typed loosely for TRL, whose hint wants a list returned though it awaits async rewards.
    reward: Callable[..., Any] = make_reward(opts, spec.prompt_config())
    split = split_queries(builtin_queries(spec.prompt_config().setting), opts.heldout, opts.seed)
    out = Path(opts.out)
    checkpoint = resume_point(opts, split)  # before the model loads: a refusal comes at once
    rows = training_rows(spec, split.train)
    base = resolve_base(opts.base)
    # The config comes before the model: under DeepSpeed ZeRO-3 it must exist when the weights
    # load, so that they load sharded.
    config = GRPOConfig(**grpo_kwargs(opts, cuda=cuda, bf16_ok=has_bf16(cuda)))
    trainer = GRPOTrainer(
        model=base,
        reward_funcs=reward,
        args=config,
        train_dataset=Dataset.from_list(rows),
        peft_config=peft_config(opts),
    )
    if opts.eval_every:
        heldout = write_queries(split.heldout, out / HELDOUT_FILE)
        measure = measurement_spec(spec, opts, heldout)
        reward_name = type(reward).__name__  # TRL logs rewards/<name>/mean
        curve = CurveCallback(
            out,
            opts.eval_every,
            PipelineMeasure(measure),
            reward_name,
            save=trainer.save_model,  # on every rank: under ZeRO-3 saving gathers the shards
            full=opts.full,
        )
        trainer.add_callback(curve)
    metadata = {
        "options": asdict(opts),
        "base": base,
        "split": split.record(),
        "resumed_from": resumed_from(out, checkpoint),
        "finished": False,
        "train_seconds": None,
        "log": [],
    }
    if trainer.is_world_process_zero():
        write_metadata(out, metadata)
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=None if checkpoint is None else str(checkpoint))
    seconds = time.perf_counter() - started
    weights = out / (MODEL_DIR if opts.full else ADAPTER_DIR)
    trainer.save_model(str(weights))
    log = [dict(entry) for entry in trainer.state.log_history]
    if trainer.is_world_process_zero():
        write_metadata(out, metadata | {"finished": True, "train_seconds": seconds, "log": log})
    if trainer.is_world_process_zero() and (out / RL_CURVE_FILE).is_file():
        # rl_curve.png beside the CSV, as aflab report draws it
        from aflab.report.rl import read_rl_run, save_curve

        save_curve(read_rl_run(out), out, Path(RL_CURVE_FILE).stem)
    if opts.full:
        return RLResult(out, None, log, seconds, model_dir=weights)
    return RLResult(out, weights, log, seconds)


def run_spec(opts: RLOptions) -> RunSpec:
    """The run whose prompts are trained on (free tier) and measured (both tiers)."""
    return RunSpec(setting=opts.setting, prompt=opts.prompt, self_tag=opts.self_tag)


def measurement_spec(spec: RunSpec, opts: RLOptions, heldout: Path) -> RunSpec:
    """How a checkpoint is measured: ``aflab run`` of ``spec`` on the held-out queries (the
    file ``heldout``), in both tiers; the checkpoint's model is set when it is measured."""
    return spec.replace(
        dataset=str(heldout),
        dataset_format="aflab",
        max_tokens=opts.eval_max_tokens,
        judges=opts.judges,
        judge_model=opts.judge_model,
        seed=opts.seed,
        no_cache=True,  # each checkpoint answers anew
        display="none",
    )


def check_options(opts: RLOptions, cuda: bool, vllm: bool) -> None:
    """Refuse a combination that cannot run here, before anything loads.

    Args:
        cuda: Whether a CUDA GPU is present.
        vllm: Whether vLLM can be imported.
    """
    if opts.precision not in PRECISIONS:
        raise UsageError(f"--precision {opts.precision!r}: choose one of {', '.join(PRECISIONS)}")
    if opts.vllm_mode not in VLLM_MODES:
        raise UsageError(f"--vllm-mode {opts.vllm_mode!r}: choose one of {', '.join(VLLM_MODES)}")
    if not opts.use_vllm:
        return
    if not cuda:
        raise UsageError(
            "--use-vllm needs a CUDA GPU; without one, generation runs in transformers"
        )
    if not vllm:
        raise UsageError("--use-vllm needs vLLM: pip install vllm (a version TRL supports)")
    if not opts.zero3_gather:
        # TRL hands vLLM the gathered weights; sharded generation is transformers' only.
        raise UsageError("--use-vllm needs --zero3-gather (vLLM is given the gathered weights)")


def has_bf16(cuda: bool) -> bool:
    """Whether the device trained on has native bf16: the GPU, or else the CPU's instructions
    (AVX512-BF16 or AMX, as ``train sft`` decides; there a GRPO step took half the time of
    fp32's, docs/rl.md)."""
    import torch

    from aflab.organisms.train.sft import cpu_has_bf16

    return torch.cuda.is_bf16_supported() if cuda else cpu_has_bf16()


def grpo_kwargs(opts: RLOptions, cuda: bool, bf16_ok: bool) -> dict[str, Any]:
    """The ``GRPOConfig`` of ``opts`` on a machine with (``cuda``) or without a GPU, whose device
    has native bf16 (``bf16_ok``); kept apart from ``train_rl`` so that it is checked without a
    GPU."""
    bf16 = opts.precision == "bf16" or (opts.precision == "auto" and bf16_ok)
    checkpointing = cuda if opts.gradient_checkpointing is None else opts.gradient_checkpointing
    kwargs: dict[str, Any] = {
        "output_dir": str(Path(opts.out) / TRAINER_DIR),
        "max_steps": opts.max_steps,
        "per_device_train_batch_size": opts.batch_size * opts.num_generations,
        "num_generations": opts.num_generations,
        "max_completion_length": opts.max_completion_length,
        "temperature": opts.temperature,
        "learning_rate": opts.learning_rate,
        "beta": opts.beta,
        "logging_steps": 1,
        "save_strategy": "steps" if opts.save_every else "no",
        "report_to": "none",
        "seed": opts.seed,
        "disable_tqdm": True,
        "use_cpu": not cuda,
        "bf16": bf16,
        # TRL turns it on unless told; it costs a third more time, worth it only for memory.
        "activation_checkpointing": checkpointing,
        # TRL loads in fp32 unless told. A LoRA's frozen base can sit in bf16; a full fine-tune
        # keeps fp32 master weights, bf16 being autocast only.
        "model_init_kwargs": {"dtype": "bfloat16" if bf16 and not opts.full else "float32"},
        "ds3_gather_for_generation": opts.zero3_gather,
        "use_vllm": opts.use_vllm,
    }
    if opts.save_every:
        kwargs |= {"save_steps": opts.save_every, "save_total_limit": KEEP_CHECKPOINTS}
    if opts.eval_every:
        kwargs["ddp_timeout"] = MEASURE_TIMEOUT_S
    if opts.use_vllm:
        kwargs["vllm_mode"] = opts.vllm_mode
        if opts.vllm_mode == "colocate":
            kwargs["vllm_gpu_memory_utilization"] = opts.vllm_gpu_memory_utilization
        elif opts.vllm_server_url:
            kwargs["vllm_server_base_url"] = opts.vllm_server_url
    return kwargs


def peft_config(opts: RLOptions) -> Any:
    """The LoRA ``opts`` trains (on every linear layer); None for a full fine-tune."""
    if opts.full:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=opts.lora_r,
        lora_alpha=opts.lora_alpha,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )


def last_checkpoint(folder: Path) -> Path | None:
    """The newest complete ``checkpoint-N`` in ``folder``. The Trainer writes a checkpoint's
    ``trainer_state.json`` last, so one cut short while saving is passed over."""
    found = [
        (int(match.group(1)), path)
        for path in (folder.iterdir() if folder.is_dir() else [])
        if (match := _CHECKPOINT.fullmatch(path.name)) and (path / "trainer_state.json").is_file()
    ]
    return max(found)[1] if found else None


def resume_point(opts: RLOptions, split: QuerySplit) -> Path | None:
    """The checkpoint ``opts`` continues from: None for a fresh run.

    Raises:
        UsageError: ``resume`` without a checkpoint or with other settings than the saved run's
            (those that define it and its split), at or past ``max_steps`` already; or a fresh
            run into a folder whose checkpoints or curve an earlier run left, which it would mix.
    """
    out = Path(opts.out)
    checkpoint = last_checkpoint(out / TRAINER_DIR)
    if not opts.resume:
        if checkpoint or (out / RL_CURVE_FILE).exists():
            raise UsageError(
                f"{out} holds an earlier run (checkpoints or {RL_CURVE_FILE}): "
                "--resume to continue it, or another --out"
            )
        return None
    if checkpoint is None:
        raise UsageError(
            f"--resume: no checkpoint in {out / TRAINER_DIR} (a run saves them with --save-every)"
        )
    saved = read_metadata(out)
    given = asdict(opts)
    differ = [name for name in RUN_IDENTITY if saved["options"].get(name) != given[name]]
    if differ:
        said = ", ".join(f"--{n} {saved['options'].get(n)!r} (not {given[n]!r})" for n in differ)
        raise UsageError(f"--resume: the run in {out} was started with {said}")
    if saved["split"] != split.record():
        raise UsageError(
            f"--resume: the query split of {out} is not this one (the queries changed)"
        )
    step = int(checkpoint.name.rsplit("-", 1)[1])
    if step >= opts.max_steps:
        raise UsageError(f"--resume: {checkpoint} is at step {step}; --max-steps must exceed it")
    return checkpoint


def read_metadata(out: Path) -> dict[str, Any]:
    path = out / METADATA_FILE
    try:
        record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise UsageError(f"--resume: {path} is missing: the run's settings are unknown") from error
    except json.JSONDecodeError as error:
        raise UsageError(f"--resume: {path} is not JSON ({error})") from error
    return record


def resumed_from(out: Path, checkpoint: Path | None) -> list[str]:
    """The checkpoints this run was resumed from, earlier resumptions first."""
    if checkpoint is None:
        return []
    return [*read_metadata(out).get("resumed_from", []), str(checkpoint)]


def write_metadata(out: Path, record: dict[str, Any]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / METADATA_FILE
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path
