"""The activation store that ``aflab probe collect`` writes and ``probe train`` reads.

A folder of shards, each written whole (to a temporary name, then renamed) so that an
interrupted collection leaves only complete shards, and a resumed one skips their samples::

    manifest.json             the model, layers, positions, width, dtype, logs, shards, skips
    shard-00000.safetensors   one tensor per (position, layer), named "POSITION/LAYER": rows x width
    shard-00000.jsonl         one label row per tensor row, in the same order

A position a sample does not have (no scratchpad, no ``<OUTPUT>``) is a row of NaN, which no
probe can use by mistake: readers drop it and count it. The tensors are read one (position,
layer) at a time through safetensors' numpy reader, so training never holds the whole store.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aflab.core.errors import UsageError

FORMAT = "aflab-activations/1"
MANIFEST = "manifest.json"
SHARD_PREFIX = "shard-"


@dataclass
class Manifest:
    """What a store holds. ``shards`` grows as shards are written; ``skipped`` names every
    sample that could not be collected, with why (nothing is dropped silently)."""

    model: str
    layers: list[int]
    positions: list[str]
    width: int
    dtype: str
    logs: list[str]
    format: str = FORMAT
    rows: int = 0
    shards: list[str] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def tensor_key(position: str, layer: int) -> str:
    return f"{position}/{layer}"


def read_manifest(folder: Path) -> Manifest:
    file = folder / MANIFEST
    if not file.is_file():
        raise UsageError(f"{folder}: no {MANIFEST}: not an activation store (aflab probe collect)")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        manifest = Manifest(**data)
    except (json.JSONDecodeError, TypeError) as error:
        raise UsageError(f"{file}: not a readable manifest ({error})") from error
    if manifest.format != FORMAT:
        raise UsageError(f"{file}: format {manifest.format!r}, this aflab reads {FORMAT!r}")
    return manifest


def write_manifest(folder: Path, manifest: Manifest) -> None:
    _atomic_write(folder / MANIFEST, (json.dumps(asdict(manifest), indent=2) + "\n").encode())


class ShardWriter:
    """Appends shards to a store; a shard is ``rows`` samples, written whole and then listed in
    the manifest, so the manifest never names a shard that is not complete on disk."""

    def __init__(self, folder: Path, manifest: Manifest) -> None:
        self.folder, self.manifest = folder, manifest
        folder.mkdir(parents=True, exist_ok=True)
        write_manifest(folder, manifest)

    def write(self, tensors: dict[str, np.ndarray], labels: Sequence[dict[str, Any]]) -> str:
        from safetensors.numpy import save

        rows = {len(t) for t in tensors.values()}
        if rows != {len(labels)}:
            raise ValueError(f"a shard of {len(labels)} labels has tensors of {rows} rows")
        name = f"{SHARD_PREFIX}{len(self.manifest.shards):05d}"
        blob = save({key: np.ascontiguousarray(t) for key, t in tensors.items()})
        _atomic_write(self.folder / f"{name}.safetensors", blob)
        lines = "".join(json.dumps(label) + "\n" for label in labels)
        _atomic_write(self.folder / f"{name}.jsonl", lines.encode())
        self.manifest.shards.append(name)
        self.manifest.rows += len(labels)
        write_manifest(self.folder, self.manifest)
        return name

    def skip(self, entries: Iterable[dict[str, Any]]) -> None:
        self.manifest.skipped.extend(entries)
        write_manifest(self.folder, self.manifest)


class ActivationStore:
    """A store read back: its labels as a table, and one (position, layer) matrix at a time."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.manifest = read_manifest(self.folder)
        self._labels = [row for name in self.manifest.shards for row in self._shard_labels(name)]

    def labels(self) -> Any:
        """A pandas DataFrame, one row per stored sample, in storage order."""
        import pandas as pd

        return pd.DataFrame(self._labels)

    def keys(self) -> set[str]:
        """The samples already stored (``label["key"]``), for a resumed collection."""
        return {str(row["key"]) for row in self._labels}

    def matrix(self, position: str, layer: int) -> np.ndarray:
        """rows x width float32; NaN rows where a sample lacks the position."""
        from safetensors import safe_open

        if position not in self.manifest.positions or layer not in self.manifest.layers:
            raise UsageError(
                f"{self.folder}: no {position!r} at layer {layer} (positions "
                f"{', '.join(self.manifest.positions)}; layers {self.manifest.layers})"
            )
        parts = []
        for name in self.manifest.shards:
            with safe_open(self.folder / f"{name}.safetensors", framework="numpy") as shard:
                parts.append(shard.get_tensor(tensor_key(position, layer)).astype(np.float32))
        if not parts:
            return np.zeros((0, self.manifest.width), dtype=np.float32)
        return np.concatenate(parts)

    def _shard_labels(self, name: str) -> list[dict[str, Any]]:
        file = self.folder / f"{name}.jsonl"
        if not file.is_file():
            raise UsageError(f"{file}: listed in the manifest but missing")
        rows = []
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise UsageError(f"{file}:{number}: not JSON ({error.msg})") from error
        return rows


def _atomic_write(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)
