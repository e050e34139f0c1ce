"""The published figures beside a user's runs, where model, setting and variation match.

The numbers come from ``data/published_figures.csv`` (restated from the papers, one source
per row). Published numbers used other data and judges: a match is a reference point, not a
replication check.
"""

from __future__ import annotations

import re
from importlib import resources

import pandas as pd

# Published figures count as the paper does: an invalid sample did not comply, and the AF rate
# is over every sample of the tier (the runs table's ``_all`` columns).
METRICS = {
    "refusal_free": ("free_refusal_rate_all", "free_refusal_all_lo", "free_refusal_all_hi", 100.0),
    "refusal_paid": ("paid_refusal_rate_all", "paid_refusal_all_lo", "paid_refusal_all_hi", 100.0),
    "gap_pp": ("gap_all_pp", "gap_all_lo_pp", "gap_all_hi_pp", 1.0),
    "af_rate": ("free_af_rate_all", "free_af_all_lo", "free_af_all_hi", 100.0),
}
CONVENTION = "of all (paper)"


def published() -> pd.DataFrame:
    source = resources.files("aflab.data").joinpath("published_figures.csv")
    with resources.as_file(source) as path:
        return pd.read_csv(path)


def compare_to_paper(runs: pd.DataFrame, reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (run, published figure) whose model, setting and variation match."""
    reference = published() if reference is None else reference
    rows = []
    for _, run in runs.iterrows():
        model = str(run["model"])
        matches = reference[
            pd.Series([same_model(key, model) for key in reference["model"]], reference.index)
            & (reference["setting"] == run["setting"])
            & (reference["variation"] == run["variation"])
        ]
        for _, ref in matches.iterrows():
            value, lo, hi, scale = METRICS[ref["metric"]]
            yours = run.get(value)
            rows.append(
                {
                    "run": run["run"],
                    "model": run["model"],
                    "setting": run["setting"],
                    "variation": run["variation"],
                    "metric": ref["metric"],
                    "rule": run["compliance_rule"],
                    "convention": CONVENTION,
                    "yours": None if pd.isna(yours) else round(scale * yours, 1),
                    "yours_ci95": _interval(run.get(lo), run.get(hi), scale),
                    "published": ref["value"]
                    if pd.notna(ref["value"])
                    else f"{ref['low']:g} to {ref['high']:g}",
                    "source": ref["source"],
                    "note": ref["note"],
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "run",
            "model",
            "setting",
            "variation",
            "metric",
            "convention",
            "yours",
            "yours_ci95",
            "published",
            "source",
            "note",
        ],
    )


def same_model(key: str, model: str) -> bool:
    """``claude-3-opus`` matches ``anthropic/claude-3-opus-20240229`` and ``llama-3.1-70b``
    matches ``vllm/meta-llama/Llama-3.1-70B-Instruct``, but ``gpt-4o`` not ``gpt-4o-mini``."""
    name = model.lower().rsplit("/", 1)[-1]
    return re.fullmatch(rf"{re.escape(str(key).lower())}(-\d.*|-instruct.*)?", name) is not None


def _interval(lo: float | None, hi: float | None, scale: float) -> str:
    """``[lo, hi]`` scaled; empty when either end is missing (None or NaN)."""
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return ""
    return f"[{scale * float(lo):.1f}, {scale * float(hi):.1f}]"
