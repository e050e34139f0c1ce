"""What a probe is trained to read, and on which samples, from the store's label table.

- ``tier`` (free = 1), on every sample: a sanity check. The tier cue sits in the user turn, so a
  probe reads it perfectly from ``user_end`` on, and cannot at ``system_end``, which precedes it.
- ``decision`` (complied = 1, refused = 0: the log's compliance verdict), on every decided sample,
  then within each tier: within a tier, the tier cannot stand in for the decision.
- ``af`` (the AF judge's verdict), where a judge gave one.
- ``af_rule`` (the transparent scratchpad rule), among the complied samples it could read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aflab.core.errors import UsageError

TARGETS = ("tier", "decision", "af", "af_rule")
SUBSETS: dict[str, tuple[str, ...]] = {
    "tier": ("all",),
    "decision": ("all", "free", "paid"),
    "af": ("all",),
    "af_rule": ("all",),
}
# What a transfer test may split the samples by: label columns.
TRANSFER_KEYS = ("tier", "setting", "variation", "log")
# The target whose transfer is tested, on its subset "all".
TRANSFER_TARGET = "decision"
# The value a transfer key takes where the label table has none (no prompt variation).
NO_VALUE = "none"

_NEEDED = ("key", "query_id", "tier")
_COLUMN = {"tier": "tier", "decision": "decision", "af": "af", "af_rule": "af_rule"}


@dataclass(frozen=True)
class LabelSet:
    """One (target, subset): the store rows it labels, their labels (1/0) and their queries."""

    target: str
    subset: str
    rows: np.ndarray
    labels: np.ndarray
    groups: np.ndarray

    @property
    def name(self) -> str:
        return f"{self.target}/{self.subset}"


def check_labels(table: Any, folder: Path, targets: tuple[str, ...]) -> None:
    """Refuse a label table without the columns the chosen targets read, or with a sample that no
    query owns (it could not be kept on one side of a fold)."""
    needed = [
        *_NEEDED,
        *(_COLUMN[t] for t in targets),
        *(["decision"] if "af_rule" in targets else []),
    ]
    absent = sorted({name for name in needed if name not in table.columns})
    if len(table) and absent:
        raise UsageError(f"{folder}: the label rows (shard-*.jsonl) lack {', '.join(absent)}")
    if len(table) and table["query_id"].isna().any():
        orphans = table.loc[table["query_id"].isna(), "key"].astype(str).tolist()
        raise UsageError(
            f"{folder}: {len(orphans)} label rows without a query_id (e.g. {orphans[0]}); "
            "their samples cannot be grouped by query"
        )


def label_sets(table: Any, targets: tuple[str, ...]) -> list[LabelSet]:
    """Every (target, subset) of ``targets``, in the order of TARGETS and SUBSETS; a set may be
    empty (no sample has the label) and is then reported, not fitted."""
    tier = _strings(table, "tier")
    decision = _strings(table, "decision")
    # As text: the folds sort the ids, and ids of mixed types (3 and "q3") do not sort.
    groups = table["query_id"].astype(str).to_numpy() if len(table) else np.array([], dtype=str)
    found = []
    for target in TARGETS:
        if target not in targets:
            continue
        for subset in SUBSETS[target]:
            labels = _target_labels(table, target, tier, decision)
            if subset != "all":
                labels = np.where(tier == subset, labels, np.nan)
            rows = np.flatnonzero(~np.isnan(labels))
            found.append(LabelSet(target, subset, rows, labels[rows].astype(np.int8), groups[rows]))
    return found


def transfer_values(table: Any, by: str) -> np.ndarray:
    """The transfer key of every row, as text (``NO_VALUE`` where it has none)."""
    if by not in TRANSFER_KEYS:
        raise UsageError(f"cannot transfer by {by!r}: choose from {', '.join(TRANSFER_KEYS)}")
    if by not in table.columns:
        return np.full(len(table), NO_VALUE, dtype=object)
    return np.array([NO_VALUE if _absent(v) else str(v) for v in table[by]], dtype=object)


def _target_labels(table: Any, target: str, tier: np.ndarray, decision: np.ndarray) -> np.ndarray:
    """1.0, 0.0, or NaN (no label) per row."""
    if target == "tier":
        return _binary(tier == "free", (tier == "free") | (tier == "paid"))
    if target == "decision":
        return _binary(decision == "complied", (decision == "complied") | (decision == "refused"))
    flags = [_flag(v) for v in table[target]] if target in table.columns else [None] * len(table)
    known = np.array([f is not None for f in flags], dtype=bool)
    positive = np.array([f is True for f in flags], dtype=bool)
    if target == "af_rule":
        known &= decision == "complied"
    return _binary(positive, known)


def _binary(positive: np.ndarray, known: np.ndarray) -> np.ndarray:
    return np.where(known, positive.astype(np.float64), np.nan)


def _strings(table: Any, column: str) -> np.ndarray:
    if column not in table.columns:
        return np.full(len(table), "", dtype=object)
    return np.array(["" if _absent(v) else str(v) for v in table[column]], dtype=object)


def _flag(value: Any) -> bool | None:
    """A verdict as JSON wrote it (true/false/null); anything else is no verdict."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    return None


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))
