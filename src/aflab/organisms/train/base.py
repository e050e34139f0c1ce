"""The base model of a fine-tune: a Hugging Face model id or folder, or the embedded SmolLM2.

The embedded model ships as a 4-bit GGUF file, which transformers can load but refuses to train or
save (the model carries a quantization flag). So it is converted once: a plain model is built from
the GGUF's config, given the dequantized weights, and saved as safetensors with its tokenizer and
chat template, in a cache folder (``$AFLAB_MODEL_CACHE``, default ``~/.cache/aflab``).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

EMBEDDED_BASES = ("smollm2", "aflab/smollm2")
CACHE_ENV = "AFLAB_MODEL_CACHE"
CONVERTED_NAME = "smollm2-hf"
# Written last: a folder without it is an interrupted conversion, redone on next use.
DONE_MARKER = "aflab-converted.json"


def cache_root() -> Path:
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "aflab"


def is_embedded(base: str) -> bool:
    return base in EMBEDDED_BASES


def resolve_base(base: str) -> str:
    """What transformers should load: the converted folder for the embedded model, else ``base``
    unchanged (a hub id, or a local folder; offline, only a folder or a cached id works)."""
    if is_embedded(base):
        return str(ensure_smollm2_hf())
    return base


def ensure_smollm2_hf(target: Path | None = None) -> Path:
    """The embedded model as a trainable Hugging Face folder, converted on first use."""
    from aflab.models.embedded import smollm2_path

    folder = target or cache_root() / CONVERTED_NAME
    if (folder / DONE_MARKER).is_file():
        return folder
    return convert_gguf(smollm2_path(), folder)


def convert_gguf(gguf: Path, target: Path) -> Path:
    """Dequantize ``gguf`` into a plain safetensors model folder at ``target``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    quantized = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    fields = quantized.config.to_dict()
    fields.pop("quantization_config", None)
    fields.pop("_name_or_path", None)
    config = type(quantized.config).from_dict(fields)
    plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(quantized.state_dict())
    plain.generation_config = quantized.generation_config

    # Build beside the target and rename, so a crash never leaves a half folder in its place.
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    plain.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    source = {"source": str(gguf), "bytes": gguf.stat().st_size}
    (staging / DONE_MARKER).write_text(json.dumps(source, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target
