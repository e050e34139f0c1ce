"""Synthetic activation stores whose labels are written into known directions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from aflab.probes.store import Manifest, ShardWriter, tensor_key

POSITIONS = ["system_end", "user_end", "prompt_end", "scratchpad_mean", "pre_output"]

Tensors = Callable[[str, int, list[dict[str, Any]]], np.ndarray]


def label_rows(
    queries: int,
    complied: Callable[[int, str], bool | None],
    af: Callable[[int, str], bool | None] = lambda q, tier: None,
    setting: str = "helpful-only",
) -> list[dict[str, Any]]:
    """A free and a paid sample per query, labelled as the store's collector labels them."""
    rows = []
    for query in range(queries):
        for tier in ("free", "paid"):
            verdict = complied(query, tier)
            decision = None if verdict is None else ("complied" if verdict else "refused")
            rows.append(
                {
                    "key": f"log:{query}-{tier}:1",
                    "log": "log",
                    "sample_id": f"{query}-{tier}",
                    "epoch": 1,
                    "query_id": f"q{query}",
                    "tier": tier,
                    "setting": setting,
                    "variation": None,
                    "category": "x",
                    "outcome": decision or "invalid",
                    "decision": decision,
                    "bucket": None,
                    "af": af(query, tier),
                    "af_rule": None,
                    "tokens": 100,
                    "missing": [],
                }
            )
    return rows


def write_store(
    folder: Path,
    rows: list[dict[str, Any]],
    tensors: Tensors,
    width: int,
    layers: list[int],
    positions: list[str] = POSITIONS,
    shards: int = 2,
) -> Path:
    """A store of ``rows`` whose (position, layer) matrix is ``tensors(position, layer, rows)``,
    cut into ``shards`` shards (the reader must put them back in order)."""
    manifest = Manifest("synthetic", layers, positions, width, "float32", ["log.eval"])
    writer = ShardWriter(folder, manifest)
    full = {tensor_key(p, layer): tensors(p, layer, rows) for p in positions for layer in layers}
    for part in np.array_split(np.arange(len(rows)), shards):
        writer.write(
            {key: matrix[part].astype(np.float32) for key, matrix in full.items()},
            [rows[i] for i in part],
        )
    return folder


def planted(
    direction: np.ndarray,
    label: Callable[[dict[str, Any]], float],
    where: set[tuple[str, int]],
    strength: float = 2.0,
    seed: int = 0,
) -> Tensors:
    """Unit-variance noise, plus ``strength * label(row) * direction`` at the (position, layer)
    pairs of ``where``: elsewhere pure noise."""

    def tensors(position: str, layer: int, rows: list[dict[str, Any]]) -> np.ndarray:
        rng = np.random.default_rng([seed, layer, POSITIONS.index(position)])
        x = rng.normal(size=(len(rows), len(direction)))
        if (position, layer) in where:
            x += strength * np.array([label(r) for r in rows])[:, None] * direction[None, :]
        return x

    return tensors
