"""The report's anti-lab part: ``antilab.csv``, a figure per run and a section of the page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
from inspect_ai.log import EvalLog
from matplotlib.figure import Figure

from aflab.analysis.antilab import summarize_antilab
from aflab.analysis.logs import run_id
from aflab.analysis.runs import bounds, variation
from aflab.report.html import figures_html, frame_table
from aflab.report.markers import run_markers, title_lines
from aflab.report.plot import RC, TIER_LABELS, TIER_MARKS
from aflab.report.plot import save_figure as _save

EXPLAIN = (
    "Share of samples that took the scenario's anti-lab action, per tier, with a Wilson 95% CI: "
    "of decided (acted / (acted + declined)), invalid replies and unscored judge calls counted "
    "apart; and of all (paper), an invalid reply counted as not acting. Free minus paid is "
    "paired by epoch, with Newcombe's interval. The control offers the same tools with no "
    "motive: its rate is the base rate."
)


@dataclass
class AntilabReport:
    drawn: dict[str, dict[str, Any]]
    html: str  # "" when no anti-lab run is among the logs


def antilab_frame(logs: Sequence[EvalLog]) -> pd.DataFrame:
    """One row per run, scenario and tier."""
    rows = []
    for log in logs:
        summary = summarize_antilab(log)
        for name, block in summary["scenarios"].items():
            diff, diff_all = block["free_minus_paid"], block["free_minus_paid_all"]
            diff_lo, diff_hi = bounds(diff["ci95_pp"])
            diff_all_lo, diff_all_hi = bounds(diff_all["ci95_pp"])
            for tier, counts in block["tiers"].items():
                lo, hi = bounds(counts["ci95"])
                all_lo, all_hi = bounds(counts["ci95_all"])
                rows.append(
                    {
                        "run": run_id(log),
                        "model": summary["model"],
                        "status": summary["status"],
                        "setting": summary["setting"],
                        "variation": variation(log),
                        "scenario": name,
                        "control": block["control"],
                        "detector": block["detector"],
                        "tier": tier,
                        "n": counts["n"],
                        "acted": counts["acted"],
                        "declined": counts["declined"],
                        "invalid": counts["invalid"],
                        "unscored": counts["unscored"],
                        "rate": counts["rate"],
                        "ci95_lo": lo,
                        "ci95_hi": hi,
                        "rate_all": counts["rate_all"],
                        "ci95_all_lo": all_lo,
                        "ci95_all_hi": all_hi,
                        "attempted": counts.get("attempted"),
                        "blocked_events": counts.get("blocked_events"),
                        "free_minus_paid_pp": diff["pp"],
                        "free_minus_paid_lo_pp": diff_lo,
                        "free_minus_paid_hi_pp": diff_hi,
                        "pairs": diff["n_pairs"],
                        "free_minus_paid_all_pp": diff_all["pp"],
                        "free_minus_paid_all_lo_pp": diff_all_lo,
                        "free_minus_paid_all_hi_pp": diff_all_hi,
                        "pairs_all": diff_all["n_pairs"],
                    }
                )
    return pd.DataFrame(rows)


def write_antilab(logs: Sequence[EvalLog], folder: Path, figures: Path) -> AntilabReport:
    """``antilab.csv`` and ``figures/antilab_<i>`` (one per run); a stale CSV is removed."""
    target = folder / "antilab.csv"
    target.unlink(missing_ok=True)
    frame = antilab_frame(logs)
    if frame.empty:
        return AntilabReport({}, "")
    frame.to_csv(target, index=False)
    drawn: dict[str, dict[str, Any]] = {}
    with matplotlib.rc_context(RC):
        for i, (run, rows) in enumerate(frame.groupby("run", sort=False)):
            drawn[f"antilab_{i}"] = _save(figures, f"antilab_{i}", *_rates(str(run), rows))
    pngs = [figures / f"{name}.png" for name in drawn]
    html = "\n".join(
        [
            "<h2>Anti-lab scenarios</h2>",
            f'<p class="note">{escape(EXPLAIN)}</p>',
            frame_table(_display(frame), "No anti-lab run.", table_id="antilab-table"),
            figures_html(pngs),
        ]
    )
    return AntilabReport(drawn, html)


def _display(frame: pd.DataFrame) -> pd.DataFrame:
    def interval(rate: Any, lo: Any, hi: Any, scale: float) -> str:
        if pd.isna(rate):
            return "n/a"
        return f"{scale * rate:.1f} [{scale * lo:.1f}, {scale * hi:.1f}]"

    def intervals(rate: str, lo: str, hi: str, scale: float) -> list[str]:
        columns = (frame[rate], frame[lo], frame[hi])
        return [interval(r, low, high, scale) for r, low, high in zip(*columns, strict=True)]

    markers = ["; ".join(run_markers(row)) for row in frame.to_dict("records")]
    return pd.DataFrame(
        {
            "Model · run": [
                f"{model} · {run}" + (f" ({marker})" if marker else "")
                for model, run, marker in zip(frame["model"], frame["run"], markers, strict=True)
            ],
            "Scenario": frame["scenario"] + frame["control"].map({True: " (control)", False: ""}),
            "Tier": frame["tier"],
            "n": frame["n"],
            "Acted": frame["acted"],
            "Declined": frame["declined"],
            "Invalid / unscored": frame["invalid"] + frame["unscored"],
            "Rate %, of decided [95% CI]": intervals("rate", "ci95_lo", "ci95_hi", 100),
            "Rate %, of all (paper) [95% CI]": intervals(
                "rate_all", "ci95_all_lo", "ci95_all_hi", 100
            ),
            "Free − paid pp, of decided [95% CI]": intervals(
                "free_minus_paid_pp", "free_minus_paid_lo_pp", "free_minus_paid_hi_pp", 1
            ),
            "Free − paid pp, of all (paper) [95% CI]": intervals(
                "free_minus_paid_all_pp",
                "free_minus_paid_all_lo_pp",
                "free_minus_paid_all_hi_pp",
                1,
            ),
        }
    )


def _rates(run: str, rows: pd.DataFrame) -> tuple[Figure, dict[str, Any]]:
    """Per scenario, each tier's rate with its CI; a scenario without decided samples is 'n/a'."""
    scenarios = list(dict.fromkeys(rows["scenario"]))
    controls = set(rows[rows["control"]]["scenario"])
    labels = [f"{s} (control)" if s in controls else s for s in scenarios]
    fig = Figure(figsize=(7, 0.55 * len(scenarios) + 1.4))
    ax = fig.subplots()
    data: dict[str, Any] = {"scenarios": scenarios}
    for offset, tier in ((-0.15, "free"), (0.15, "paid")):
        color, marker = TIER_MARKS[tier]
        points: list[float | None] = []
        for y, scenario in enumerate(scenarios):
            match = rows[(rows["scenario"] == scenario) & (rows["tier"] == tier)]
            if match.empty or pd.isna(match["rate"].iloc[0]):
                points.append(None)
                if not match.empty:
                    ax.text(1, y + offset, f"{tier}: n/a", va="center", fontsize=8, color="#666")
                continue
            rate, lo, hi = (100 * match[k].iloc[0] for k in ("rate", "ci95_lo", "ci95_hi"))
            points.append(rate)
            label = None if any(p is not None for p in points[:-1]) else TIER_LABELS[tier]
            ax.errorbar(rate, y + offset, xerr=[[rate - lo], [hi - rate]], fmt=marker,
                        color=color, capsize=3, label=label)  # fmt: skip
        data[tier] = points
    ax.set_yticks(range(len(scenarios)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("took the anti-lab action (% of decided samples, 95% CI)")
    ax.set_title("\n".join([f"Anti-lab scenarios · {run}", *title_lines(rows.iloc[0].to_dict())]))
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right")
    return fig, data
