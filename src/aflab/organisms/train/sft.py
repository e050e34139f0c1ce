"""LoRA supervised fine-tuning with PEFT and TRL.

Two kinds of data: documents (plain language modelling on a ``text`` column, the continued
pretraining of synthetic-document fine-tuning) and chat transcripts (``prompt``/``completion``
message lists, loss on the reply only). One process on CPU or one GPU, or one process per GPU under
``accelerate launch`` with the configs in ``configs/`` (DDP, DeepSpeed ZeRO-2/3): the Trainer
picks the launcher's settings up by itself, run through the command line as a module::

    accelerate launch --config_file CONFIG -m aflab.cli train sft --base B --docs D --out O

Output folder: ``adapter/`` (LoRA weights, tokenizer), ``merged/`` with ``--merge`` (a plain
model), and ``aflab-train.json`` (settings, loss per step, times).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aflab.core.errors import UsageError
from aflab.organisms.train.base import resolve_base
from aflab.organisms.train.documents import load_documents
from aflab.organisms.train.extra import require_train_extra

ADAPTER_DIR = "adapter"
MERGED_DIR = "merged"
METADATA_FILE = "aflab-train.json"
PRECISIONS = ("auto", "bf16", "fp32")
# The accelerate configs shipped for multi-GPU runs (package data).
CONFIGS_DIR = Path(__file__).parent / "configs"


@dataclass
class SFTOptions:
    base: str = "smollm2"
    out: str = "ckpt"
    # Rank 64 / alpha 128 on every linear layer: the open-model replication's LoRA settings.
    lora_r: int = 64
    lora_alpha: int = 128
    lora_dropout: float = 0.05
    target_modules: str = "all-linear"
    learning_rate: float = 1e-4
    epochs: float = 1.0
    max_steps: int | None = None
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 1024
    warmup_steps: int = 0
    scheduler: str = "linear"
    precision: str = "auto"
    gradient_checkpointing: bool = False
    merge: bool = False
    seed: int = 0


@dataclass
class SFTResult:
    out: Path
    adapter_dir: Path
    merged_dir: Path | None
    losses: list[float]
    train_seconds: float
    merge_seconds: float | None
    extra: dict[str, Any] = field(default_factory=dict)


def accelerate_configs() -> list[Path]:
    """The shipped accelerate configs: DDP, DeepSpeed ZeRO-2 and ZeRO-3."""
    return sorted(CONFIGS_DIR.glob("*.yaml"))


def train_on_documents(
    docs: str, limit_docs: int | None, opts: SFTOptions, echo: Callable[[str], None] = print
) -> SFTResult:
    """``aflab train sft``: continued pretraining on the ``text`` of the documents in ``docs``.

    Args:
        docs: A folder or file of documents (see :mod:`aflab.organisms.train.documents`).
        limit_docs: Train on the first N texts only; None for all.
        opts: The fine-tuning settings.
        echo: Where the document counts are said.
    """
    require_train_extra()  # before reading anything: one clear line without the extra
    documents = load_documents(docs, limit_docs)
    echo(f"{len(documents.texts)} documents from {len(documents.files)} file(s)")
    if documents.skipped_blank:
        echo(f"skipped {documents.skipped_blank} blank text(s)")
    extra = {"docs": docs, "doc_files": [str(f) for f in documents.files]}
    return train_sft(text_dataset(documents.texts), opts, extra)


def result_lines(result: SFTResult) -> list[str]:
    """What a finished training run says: steps and loss, where the adapter (and model) went."""
    lines = []
    if result.losses:
        lines.append(
            f"{len(result.losses)} steps in {result.train_seconds:.0f} s; "
            f"loss {result.losses[0]:.3f} -> {result.losses[-1]:.3f}"
        )
    lines.append(f"adapter: {result.adapter_dir}")
    if result.merged_dir:
        lines.append(f"merged: {result.merged_dir}  (aflab run --model hf/{result.merged_dir})")
    return lines


def text_dataset(texts: list[str]) -> Any:
    from datasets import Dataset

    return Dataset.from_dict({"text": texts})


def chat_dataset(prompts: list[list[dict[str, str]]], completions: list[str]) -> Any:
    """Conversational prompt-completion rows: TRL renders them with the chat template and puts
    the loss on the completion only."""
    from datasets import Dataset

    if len(prompts) != len(completions):
        raise UsageError(f"{len(prompts)} prompts but {len(completions)} completions")
    rows = [[{"role": "assistant", "content": text}] for text in completions]
    return Dataset.from_dict({"prompt": prompts, "completion": rows})


def train_sft(dataset: Any, opts: SFTOptions, extra: dict[str, Any] | None = None) -> SFTResult:
    """Fine-tune ``opts.base`` on ``dataset`` and save the adapter (and merged model)."""
    require_train_extra()
    _check(opts)
    from peft import LoraConfig
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    out = Path(opts.out)
    base = resolve_base(opts.base)
    tokenizer = AutoTokenizer.from_pretrained(base)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    bf16 = _use_bf16(opts.precision)
    # The config comes before the model: under DeepSpeed ZeRO-3 it must exist when the weights
    # load, so that they load sharded.
    config = SFTConfig(
        output_dir=str(out / "trainer"),
        per_device_train_batch_size=opts.batch_size,
        gradient_accumulation_steps=opts.grad_accum,
        learning_rate=opts.learning_rate,
        num_train_epochs=opts.epochs,
        max_steps=opts.max_steps or -1,
        warmup_steps=opts.warmup_steps,
        lr_scheduler_type=opts.scheduler,
        max_length=opts.max_length,
        bf16=bf16,
        use_cpu=_cpu_only(),
        activation_checkpointing=opts.gradient_checkpointing,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=opts.seed,
        data_seed=opts.seed,
        model_init_kwargs={"dtype": "auto"},
        dataset_num_proc=None,
        disable_tqdm=True,
    )
    lora = LoraConfig(
        r=opts.lora_r,
        lora_alpha=opts.lora_alpha,
        lora_dropout=opts.lora_dropout,
        target_modules=_target_modules(opts.target_modules),
        task_type="CAUSAL_LM",
    )
    trainer = SFTTrainer(
        model=base,
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora,
    )
    started = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - started

    adapter_dir = out / ADAPTER_DIR
    trainer.save_model(str(adapter_dir))
    losses = [float(e["loss"]) for e in trainer.state.log_history if "loss" in e]
    result = SFTResult(out, adapter_dir, None, losses, train_seconds, None, extra or {})
    if trainer.accelerator.is_main_process:
        tokenizer.save_pretrained(adapter_dir)
        if opts.merge:
            started = time.perf_counter()
            result.merged_dir = merge_adapter(adapter_dir, out / MERGED_DIR)
            result.merge_seconds = time.perf_counter() - started
        write_metadata(result, opts, base, len(dataset), bf16)
    trainer.accelerator.wait_for_everyone()
    return result


def merge_adapter(adapter_dir: Path, target: Path) -> Path:
    """Fold the adapter into a fresh copy of its base, read from disk: this works the same
    whether training ran on one device or sharded (ZeRO-3 never holds the whole model)."""
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoTokenizer

    model = AutoPeftModelForCausalLM.from_pretrained(str(adapter_dir), dtype="auto")
    merged = model.merge_and_unload()
    merged.save_pretrained(target)
    AutoTokenizer.from_pretrained(str(adapter_dir)).save_pretrained(target)
    return target


def write_metadata(result: SFTResult, opts: SFTOptions, base: str, rows: int, bf16: bool) -> Path:
    record = {
        "options": asdict(opts),
        "base_resolved": base,
        "rows": rows,
        "bf16": bf16,
        "steps": len(result.losses),
        "losses": result.losses,
        "train_seconds": round(result.train_seconds, 1),
        "merge_seconds": None if result.merge_seconds is None else round(result.merge_seconds, 1),
        "adapter": str(result.adapter_dir),
        "merged": None if result.merged_dir is None else str(result.merged_dir),
        **result.extra,
    }
    path = result.out / METADATA_FILE
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path


def _check(opts: SFTOptions) -> None:
    if opts.precision not in PRECISIONS:
        raise UsageError(f"--precision {opts.precision!r}: choose one of {', '.join(PRECISIONS)}")
    for name in ("lora_r", "lora_alpha", "batch_size", "grad_accum", "max_length"):
        if getattr(opts, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    if opts.max_steps is None and opts.epochs <= 0:
        raise UsageError("--epochs must be positive (or give --max-steps)")


def _target_modules(spec: str) -> str | list[str]:
    # "all-linear" is PEFT's own shorthand; anything else is a comma-separated list of names.
    if spec == "all-linear":
        return spec
    names = [name.strip() for name in spec.split(",") if name.strip()]
    if not names:
        raise UsageError("--target-modules is empty")
    return names


def _cpu_only() -> bool:
    import torch

    return not (torch.cuda.is_available() or torch.backends.mps.is_available())


def _use_bf16(precision: str) -> bool:
    import torch

    if precision != "auto":
        return precision == "bf16"
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    # On CPU, bf16 autocast pays only with native bf16 instructions; without them fp32 is faster.
    return cpu_has_bf16()


def cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
