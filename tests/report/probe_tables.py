"""Synthetic tables of aflab probe train and aflab probe steer (probes.csv, probe_transfer.csv,
steer.csv), written as the commands write them, for the report's tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

POSITIONS = ("system_end", "user_end", "prompt_end", "scratchpad_mean", "pre_output")
BEFORE = POSITIONS[:3]
LAYERS = (0, 4, 8)


def probe_row(target: str, subset: str, position: str, layer: int, auroc: float | None,
              status: str = "ok", control: float = 0.5) -> dict[str, Any]:  # fmt: skip
    """One probes.csv row; a row whose status is not "ok" has empty AUROC cells, as written."""
    fitted = status == "ok" and auroc is not None
    return {
        "target": target,
        "subset": subset,
        "position": position,
        "layer": layer,
        "before_reasoning": position in BEFORE,
        "n": 40,
        "n_pos": 12,
        "n_neg": 28,
        "groups": 20,
        "folds": 5,
        "missing": 0 if position in BEFORE else 4,
        "auroc": auroc if fitted else None,
        "auroc_lo": auroc - 0.08 if fitted and auroc is not None else None,
        "auroc_hi": min(1.0, auroc + 0.05) if fitted and auroc is not None else None,
        "control_auroc": control if fitted else None,
        "control_lo": control - 0.12 if fitted else None,
        "control_hi": control + 0.12 if fitted else None,
        "status": status,
    }


def default_auroc(target: str, subset: str, position: str, layer: int) -> float:
    """A distinct AUROC per cell: rising with the layer, higher after reasoning."""
    base = 0.55 + 0.03 * POSITIONS.index(position) + 0.02 * layer
    return round(min(base + (0.05 if subset == "all" else 0.0), 0.99), 4)


def probe_rows(
    targets: Sequence[str] = ("tier", "decision"),
    auroc: Callable[[str, str, str, int], float] = default_auroc,
) -> list[dict[str, Any]]:
    """Every target x subset x position x layer; the tier within one tier is a single class
    (not fitted), as train leaves it."""
    rows = []
    for target in targets:
        for subset in ("all", "free", "paid"):
            for position in POSITIONS:
                for layer in LAYERS:
                    if target == "tier" and subset != "all":
                        rows.append(
                            probe_row(target, subset, position, layer, None, "single class")
                        )
                    else:
                        value = auroc(target, subset, position, layer)
                        rows.append(probe_row(target, subset, position, layer, value))
    return rows


def transfer_rows() -> list[dict[str, Any]]:
    """The decision probe trained in one tier and tested in the other, at two positions."""
    rows = []
    for train, test, shift in (("free", "paid", 0.0), ("paid", "free", -0.1)):
        for position in ("prompt_end", "pre_output"):
            for layer in LAYERS:
                auroc = 0.6 + 0.03 * layer + shift + (0.1 if position == "pre_output" else 0)
                rows.append(
                    {
                        "target": "decision",
                        "by": "tier",
                        "train_value": train,
                        "test_value": test,
                        "position": position,
                        "layer": layer,
                        "n_train": 20,
                        "n_test": 20,
                        "auroc": auroc,
                        "auroc_lo": auroc - 0.1,
                        "auroc_hi": auroc + 0.05,
                        "control_auroc": 0.5,
                        "control_lo": 0.4,
                        "control_hi": 0.6,
                        "status": "ok",
                    }
                )
    return rows


def write_probes(folder: Path, rows: Sequence[dict[str, Any]], transfer: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(folder / "probes.csv", index=False)
    if transfer:
        pd.DataFrame(transfer_rows()).to_csv(folder / "probe_transfer.csv", index=False)
    return folder


def steer_row(
    scale: float, free: float, paid: float, af: float | None, rule: float | None,
    layer: int = 12, af_judge: str | None = "af_majority",
) -> dict[str, Any]:  # fmt: skip
    """One steer.csv row: refusal ``free``/``paid`` (both conventions), the AF judge's rate
    ``af`` and the scratchpad rule's ``rule`` in both tiers (None: not measured)."""
    row: dict[str, Any] = {
        "scale": scale,
        "target": "decision",
        "subset": "all",
        "position": "prompt_end",
        "layer": layer,
        "method": "mean_diff",
        "diff_norm": 2.5,
        "vector_norm": abs(scale) * 2.5,
        "rule": "judge",
        "af_judge": af_judge if af is not None else None,
    }
    for tier, rate in (("free", free), ("paid", paid)):
        for suffix in ("", "_all"):
            row |= {
                f"{tier}_refusal{suffix}": rate,
                f"{tier}_refusal{suffix}_lo": max(0.0, rate - 0.1),
                f"{tier}_refusal{suffix}_hi": min(1.0, rate + 0.1),
            }
        for key, value in (("af", af), ("af_rule", rule)):
            row |= {
                f"{tier}_{key}": value,
                f"{tier}_{key}_lo": None if value is None else max(0.0, value - 0.05),
                f"{tier}_{key}_hi": None if value is None else value + 0.05,
            }
    gap = 100 * (paid - free)
    row |= {"gap_pp": gap, "gap_lo_pp": gap - 15, "gap_hi_pp": gap + 15, "gap_pairs": 10}
    return row | {"log": f"/runs/steer/logs/scale_{scale:+g}.eval"}


def write_steer(folder: Path, rows: Sequence[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(folder / "steer.csv", index=False)
    return folder
