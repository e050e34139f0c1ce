"""``aflab probe collect``: a run's own transcripts read again by an open model, with the residual
stream kept at the named positions of the chosen layers (``probes/positions.py``) and the
sample's labels from the log (``probes/labels.py``), into an activation store (``store.py``).

One sample is one forward pass (no padding, no batch: the positions are per sample); the hooks
keep only the positions' vectors, so memory is the model plus one shard of vectors. A store that
exists is continued: samples it holds, or skipped, are not read again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aflab.analysis.logs import read_log, stream_samples
from aflab.core.errors import UsageError
from aflab.core.types import is_antilab
from aflab.probes.extra import COLLECT_MODULES, require
from aflab.probes.labels import label_row, sample_key, sample_messages
from aflab.probes.positions import POSITIONS, Located, Unplaceable, locate
from aflab.probes.store import ActivationStore, Manifest, ShardWriter, tensor_key
from aflab.probes.weights import weights_path

STORE_DTYPES = ("float32", "float16")
# How a store read by the embedded model names it: the name the demo caveat is given for.
EMBEDDED_MODEL = "aflab/smollm2"


@dataclass
class CollectOptions:
    logs: Sequence[str]
    model: str
    out: str
    layers: str = "all"
    positions: str = ",".join(POSITIONS)
    dtype: str = "float32"
    shard_size: int = 64
    device: str = "auto"
    limit: int | None = None
    max_length: int | None = None


@dataclass
class CollectResult:
    store: Path
    collected: int
    skipped: int
    already: int
    seconds: float


def parse_layers(spec: str, count: int) -> list[int]:
    """``all``, ``0,6,12``, ``4-8`` or ``0-29:4`` (every 4th), against ``count`` layers."""
    if spec.strip() == "all":
        return list(range(count))
    layers: set[int] = set()
    try:
        for part in spec.split(","):
            span, _, step = part.strip().partition(":")
            first, dash, last = span.partition("-")
            stop = int(last) if dash else int(first)
            layers.update(range(int(first), stop + 1, int(step) if step else 1))
    except ValueError:
        raise UsageError(f"--layers {spec!r}: expected all, 0,6,12, 4-8 or 0-29:4") from None
    bad = sorted(layer for layer in layers if not 0 <= layer < count)
    if bad or not layers:
        raise UsageError(f"--layers {spec!r}: the model has layers 0 to {count - 1}")
    return sorted(layers)


def parse_positions(spec: str) -> list[str]:
    names = [name.strip() for name in spec.split(",") if name.strip()]
    unknown = [name for name in names if name not in POSITIONS]
    if unknown or not names:
        raise UsageError(f"--positions: unknown {unknown}; known: {', '.join(POSITIONS)}")
    return [p for p in POSITIONS if p in names]


def collect(opts: CollectOptions, echo: Callable[[str], Any] = print) -> CollectResult:
    require(COLLECT_MODULES, "aflab probe collect")
    from aflab.organisms.train.base import is_embedded

    if opts.dtype not in STORE_DTYPES:
        raise UsageError(f"--dtype {opts.dtype!r}: one of {', '.join(STORE_DTYPES)}")
    headers = [_header(path) for path in opts.logs]
    model, tokenizer = load_model(weights_path(opts.model), opts.device)
    from aflab.models.residual import block_count, residual_width

    layers = parse_layers(opts.layers, block_count(model))
    positions = parse_positions(opts.positions)
    out = Path(opts.out)
    manifest = Manifest(
        model=EMBEDDED_MODEL if is_embedded(opts.model) else opts.model,
        layers=layers,
        positions=positions,
        width=residual_width(model),
        dtype=opts.dtype,
        logs=[str(Path(p).resolve()) for p in opts.logs],
        extra={"options": asdict(opts) | {"logs": list(opts.logs)}},
    )
    done = _resume(out, manifest)
    writer = ShardWriter(out, manifest)
    reader = Reader(model, tokenizer, layers, positions, opts.max_length)
    started, counts = time.perf_counter(), {"collected": 0, "skipped": 0, "already": 0}
    buffer: list[tuple[dict[str, Any], np.ndarray]] = []
    for header, sample in _samples(headers):
        key = sample_key(header, sample)
        if key in done:
            counts["already"] += 1
            continue
        if opts.limit is not None and counts["collected"] + counts["skipped"] >= opts.limit:
            break
        labels = label_row(header, sample)
        try:
            vectors, located = reader.read(sample_messages(sample))
        except Unplaceable as why:
            writer.skip([{"key": key, "log": str(header.location), "reason": str(why)}])
            counts["skipped"] += 1
            continue
        labels |= {"tokens": len(located.input_ids), "missing": located.missing}
        buffer.append((labels, vectors))
        counts["collected"] += 1
        if len(buffer) >= opts.shard_size:
            _flush(writer, buffer, layers, positions, opts.dtype)
            echo(f"{manifest.rows} samples stored ({time.perf_counter() - started:.0f} s)")
    _flush(writer, buffer, layers, positions, opts.dtype)
    seconds = time.perf_counter() - started
    manifest.extra["collect_seconds"] = round(manifest.extra.get("collect_seconds", 0) + seconds, 1)
    writer.skip([])  # rewrites the manifest with the time
    return CollectResult(out, counts["collected"], counts["skipped"], counts["already"], seconds)


def load_model(path: str, device: str) -> tuple[Any, Any]:
    """The model in eval mode and its tokenizer. ``auto``: spread over the GPUs
    (``device_map="auto"``, bf16 where supported) when there are any, else the CPU in fp32."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gpu = torch.cuda.is_available()
    placement = ("auto" if gpu else "cpu") if device == "auto" else device
    dtype = torch.bfloat16 if gpu and torch.cuda.is_bf16_supported() else torch.float32
    if placement == "cpu":
        dtype = torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, device_map=placement, dtype=dtype)
    except OSError as error:
        raise UsageError(f"{path}: cannot load the model ({str(error).splitlines()[0]})") from None
    if not getattr(tokenizer, "is_fast", False):
        raise UsageError(f"{path}: probes need a fast tokenizer (for character offsets)")
    model.eval()
    return model, tokenizer


class Reader:
    """One forward pass per transcript, the chosen layers' vectors kept at the positions."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        layers: list[int],
        positions: list[str],
        max_length: int | None,
    ) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.layers, self.positions, self.max_length = layers, positions, max_length

    def read(self, messages: Sequence[Any]) -> tuple[np.ndarray, Located]:
        """positions x layers x width (NaN where the transcript lacks a position).

        Raises:
            Unplaceable: the transcript cannot be located or is longer than ``max_length``.
        """
        import torch

        from aflab.models.residual import Enough, reading, residual_width

        located = locate(self.tokenizer, messages)
        if self.max_length is not None and len(located.input_ids) > self.max_length:
            raise Unplaceable(f"{len(located.input_ids)} tokens, over --max-length")
        wanted = [p for p in self.positions if p in located.indices]

        def reduce(hidden: Any) -> Any:
            rows = [hidden[0, located.indices[p]].float().mean(dim=0) for p in wanted]
            return torch.stack(rows).cpu() if rows else None

        with torch.no_grad(), reading(self.model, self.layers, reduce, stop=True) as seen:
            device = self.model.get_input_embeddings().weight.device
            with suppress(Enough):  # the pass stops after the last wanted layer
                self.model(torch.tensor([located.input_ids], device=device))
        width = residual_width(self.model)
        vectors = np.full((len(self.positions), len(self.layers), width), np.nan, np.float32)
        for j, layer in enumerate(self.layers):
            for row, position in zip(seen[layer] if wanted else [], wanted, strict=True):
                vectors[self.positions.index(position), j] = row.numpy()
        return vectors, located


def _header(path: str) -> Any:
    header = read_log(path, header_only=True)
    if is_antilab(header):
        raise UsageError(f"{path}: an anti-lab log; probes read the logs of aflab run")
    if not (header.eval.metadata or {}).get("setting"):
        raise UsageError(f"{path}: not a log of aflab run (no setting in its metadata)")
    return header


def _samples(headers: Sequence[Any]) -> Iterator[tuple[Any, Any]]:
    for header in headers:
        for sample in stream_samples(header.location, header):
            yield header, sample


def _resume(out: Path, manifest: Manifest) -> set[str]:
    """The keys a store at ``out`` holds or skipped; it must have been made the same way."""
    if not (out / "manifest.json").is_file():
        return set()
    store = ActivationStore(out)
    old = store.manifest
    for field in ("model", "layers", "positions", "width", "dtype"):
        if getattr(old, field) != getattr(manifest, field):
            raise UsageError(
                f"{out}: a store made with another {field} ({getattr(old, field)}); "
                "use a new --out, or the same options to continue it"
            )
    manifest.shards, manifest.skipped, manifest.rows = old.shards, old.skipped, old.rows
    manifest.logs = sorted(set(old.logs) | set(manifest.logs))
    manifest.extra = old.extra | {"options": manifest.extra["options"]}
    return store.keys() | {str(entry["key"]) for entry in old.skipped}


def _flush(
    writer: ShardWriter,
    buffer: list[tuple[dict[str, Any], np.ndarray]],
    layers: list[int],
    positions: list[str],
    dtype: str,
) -> None:
    if not buffer:
        return
    stacked = np.stack([vectors for _, vectors in buffer]).astype(dtype)
    tensors = {
        tensor_key(position, layer): stacked[:, i, j]
        for i, position in enumerate(positions)
        for j, layer in enumerate(layers)
    }
    writer.write(tensors, [labels for labels, _ in buffer])
    buffer.clear()
