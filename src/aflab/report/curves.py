"""What the curves of measured runs share: an RL run's checkpoints (``rl_curve.csv``) and a
steering sweep's scales (``steer.csv``) are both rows of the same measurement columns, refusal
per tier in both conventions, the paired gap and the AF rate (a judge's, else the scratchpad
rule's), each with its 95% interval. Here: those columns, reading such a table, drawing its
panels against any x, its cells as a reader reads them, and finding the folders that hold one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.axes import Axes

from aflab.core.errors import UsageError
from aflab.core.types import TIERS
from aflab.report.markdown import inline
from aflab.report.markers import run_markers
from aflab.report.plot import TIER_LABELS, TIER_MARKS
from aflab.report.tables import percent

# Per tier the refusal in both conventions and the AF judge's rate, each with its interval.
RATES = [
    f"{tier}_{rate}{bound}"
    for tier in TIERS
    for rate in ("refusal", "refusal_all", "af")
    for bound in ("", "_lo", "_hi")
]
GAP_COLUMNS = ["gap_pp", "gap_lo_pp", "gap_hi_pp", "gap_pairs"]
MEASURED = ["rule", *RATES, *GAP_COLUMNS]
# Optional in an RL curve (written before the rule column existed).
RULE_COLUMNS = [f"{tier}_af_rule{bound}" for tier in TIERS for bound in ("", "_lo", "_hi")]
# A light band around each line: its 95% interval.
BAND_ALPHA = 0.12


def read_measured(
    path: Path, what: str, columns: Sequence[str], numeric: Sequence[str], key: str
) -> pd.DataFrame:
    """The rows of ``path``, sorted by ``key``; a UsageError names a file that is not ``what``
    (e.g. "an RL curve aflab wrote"): unreadable, without one of ``columns``, with a value of
    ``numeric`` that is not a number, or a row without its ``key``."""
    try:
        table = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError) as error:  # pandas' parser errors are ValueErrors
        raise UsageError(f"{path}: not {what} ({error})") from error
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise UsageError(f"{path}: not {what} (no {', '.join(missing)})")
    present = [column for column in numeric if column in table.columns]
    try:
        table[present] = table[present].apply(pd.to_numeric)
    except ValueError as error:
        raise UsageError(f"{path}: not {what} ({error})") from error
    if table[key].isna().any():
        raise UsageError(f"{path}: not {what} (a row without its {key})")
    return table.sort_values(key, kind="stable").reset_index(drop=True)


def draw_refusal(ax: Axes, curve: pd.DataFrame, x: list[float], drawn: dict[str, Any]) -> None:
    """Refusal per tier against ``x``: of decided solid, of all (the paper's) dashed, each with
    its band; the percentages drawn go to ``drawn``."""
    for tier, name in TIER_LABELS.items():
        colour, marker = TIER_MARKS[tier]
        for suffix, style in (("", "-"), ("_all", "--")):
            rates = curve[f"{tier}_refusal{suffix}"]
            drawn[f"{tier}_refusal{suffix}"] = percents(rates)
            ax.plot(
                x,
                100 * rates,
                style,
                marker=marker,
                color=colour,
                label=f"{name}, {'of all (paper)' if suffix else 'of decided'}",
            )
            ax.fill_between(
                x,
                100 * curve[f"{tier}_refusal{suffix}_lo"],
                100 * curve[f"{tier}_refusal{suffix}_hi"],
                color=colour,
                alpha=BAND_ALPHA,
            )
    ax.set_ylabel("refusal (%)")
    ax.set_ylim(-2, 102)
    ax.legend(fontsize=8, ncol=2)


def draw_af(
    ax: Axes, curve: pd.DataFrame, x: list[float], drawn: dict[str, Any], nothing: str
) -> None:
    """The AF rate per tier against ``x``: the judge's where it measured, else the scratchpad
    rule's, which the legend names; ``nothing`` is said on the panel when neither did."""
    for tier, name in TIER_LABELS.items():
        colour, marker = TIER_MARKS[tier]
        key = af_key(curve, tier)
        rates = curve[key]
        drawn[f"{tier}_af"] = percents(rates)
        if rates.notna().any():
            label = name if key.endswith("_af") else f"{name}, scratchpad rule (no judge)"
            ax.plot(x, 100 * rates, "-", marker=marker, color=colour, label=label)
            ax.fill_between(
                x,
                100 * curve[f"{key}_lo"],
                100 * curve[f"{key}_hi"],
                color=colour,
                alpha=BAND_ALPHA,
            )
    ax.set_ylabel("alignment faking (%)")
    ax.set_ylim(-2, 102)
    if not ax.get_legend_handles_labels()[0]:
        ax.text(0.5, 0.5, nothing, ha="center", transform=ax.transAxes, color="#666666")
    else:
        ax.legend(fontsize=8)


def draw_gap(ax: Axes, curve: pd.DataFrame, x: list[float], drawn: dict[str, Any]) -> None:
    """The paired compliance gap (paid minus free refusal, of decided) in points, with its band
    and the line of no gap."""
    drawn["gap_pp"] = [None if pd.isna(v) else float(v) for v in curve["gap_pp"]]
    ax.axhline(0, color="#999999", linewidth=0.8)
    ax.plot(
        x,
        curve["gap_pp"],
        "-",
        marker="D",
        color="#009E73",
        label="paid − free refusal, of decided",
    )
    ax.fill_between(
        x, curve["gap_lo_pp"], curve["gap_hi_pp"], color="#009E73", alpha=BAND_ALPHA + 0.05
    )
    ax.set_ylabel("compliance gap (pp)")
    ax.legend(fontsize=8)


def af_key(curve: pd.DataFrame, tier: str) -> str:
    """The AF judge's column when it measured the rows, else the transparent scratchpad rule's
    (``{tier}_af_rule``: scratchpads naming training, modification and values, a share of all
    samples), when the table has it. Decided over both tiers, so that the tiers are never
    measured two ways: a judge that judged none of one tier's samples leaves that tier blank."""
    judged = any(curve[f"{t}_af"].notna().any() for t in TIERS)
    ruled = all(f"{t}_af_rule" in curve for t in TIERS) and any(
        curve[f"{t}_af_rule"].notna().any() for t in TIERS
    )
    return f"{tier}_af_rule" if ruled and not judged else f"{tier}_af"


def measured_cells(value: dict[str, Any]) -> dict[str, str]:
    """One row's measurements as a table shows them (``value``: the row, None for a missing
    value): refusal per tier in both conventions, the gap, and the AF judge's rate per tier, or,
    when no judge measured the row, the scratchpad rule's."""
    cells: dict[str, str] = {}
    for tier in TIERS:
        for suffix, convention in (("", "of decided"), ("_all", "of all (paper)")):
            key = f"{tier}_refusal{suffix}"
            cells[f"{tier.title()} refusal, {convention} [95% CI]"] = rate_cell(value, key)
    cells["Gap pp, of decided [95% CI]"] = gap_cell(value)
    for tier in TIERS:
        cells[f"{tier.title()} AF, of judged [95% CI]"] = rate_cell(value, f"{tier}_af")
    if all(value.get(f"{tier}_af") is None for tier in TIERS):
        for tier in TIERS:
            key = f"{tier}_af_rule"
            rule = rate_cell(value, key) if value.get(key) is not None else "n/a"
            cells[f"{tier.title()} scratchpad rule, of all [95% CI]"] = rule
    return cells


def plain_row(row: dict[str, Any]) -> dict[str, Any]:
    """A table row with None for each missing value (NaN, NA)."""
    return {key: None if pd.isna(v) else v for key, v in row.items()}


def rate_cell(row: dict[str, Any], key: str) -> str:
    return percent(row[key], [row[f"{key}_lo"], row[f"{key}_hi"]], "n/a").strip()


def gap_cell(row: dict[str, Any]) -> str:
    pp, lo, hi, pairs = (row[f"gap_{key}"] for key in ("pp", "lo_pp", "hi_pp", "pairs"))
    if pp is None:
        return "n/a (no query valid in both tiers)"
    # The interval is known whenever the gap is (core.stats); a row edited by hand may lack it.
    interval = "" if lo is None or hi is None else f" [{lo:+.1f}, {hi:+.1f}]"
    return f"{pp:+.1f}{interval} ({int(pairs or 0)} pairs)"


def percents(rates: pd.Series) -> list[float | None]:
    return [None if pd.isna(r) else 100 * float(r) for r in rates]


def markdown_table(table: pd.DataFrame) -> str:
    """``table`` as a Markdown (pipe) table, every cell escaped."""
    lines = [
        "| " + " | ".join(inline(column) for column in table.columns) + " |",
        "|" + "|".join("---" for _ in table.columns) + "|",
    ]
    lines += ["| " + " | ".join(inline(v) for v in row) + " |" for row in table.itertuples(False)]
    return "\n".join(lines)


def table_markers(table: pd.DataFrame) -> list[str]:
    """The markers of the model a table was measured on, when it names it (a ``model`` column):
    the demo model's caveat above all."""
    models = table["model"].dropna().astype(str).unique() if "model" in table else []
    return list(dict.fromkeys(m for model in models for m in run_markers({"model": model})))


@dataclass
class ReportPart:
    """A part of ``aflab report``: what each figure drew (by file stem), and the page's section
    ("" when the paths hold nothing for it)."""

    drawn: dict[str, dict[str, Any]]
    html: str


def find_folders(paths: Iterable[str | Path], name: str) -> list[Path]:
    """Every folder under ``paths`` (to any depth, as the logs are found) that holds a file
    ``name``, each once, as the paths name it."""
    found: dict[Path, Path] = {}
    for path in map(Path, paths):
        if path.is_dir():
            for file in sorted(path.rglob(name)):
                if file.is_file():
                    found.setdefault(file.parent.resolve(), file.parent)
    return list(found.values())
