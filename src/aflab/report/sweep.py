"""The report's variation sweep: a forest plot, ``sweep.csv`` and a section of the page.

A sweep is a set of runs of one model, setting and task, one per named variation, the default
among them: what ``aflab sweep`` writes, or separate ``aflab run --variation`` runs. Each
variation is compared with the default by :func:`aflab.analysis.sweep.compare_runs`, the same
numbers ``aflab sweep`` prints (:func:`format_sweep`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any, Protocol

import matplotlib
import pandas as pd
from inspect_ai.log import EvalLog
from matplotlib.figure import Figure

from aflab.analysis.logs import run_id
from aflab.analysis.runs import bounds, created_order, variation
from aflab.analysis.sweep import SweepRun, compare_runs, sweep_run_of
from aflab.core.summary_types import SweepComparison
from aflab.prompts.template import PromptConfig
from aflab.prompts.variations import BY_NAME, VARIATIONS
from aflab.report.html import figures_html, frame_table
from aflab.report.markers import with_caveat
from aflab.report.plot import ABOVE, RC
from aflab.report.plot import draw_interval as _interval
from aflab.report.plot import per_run_axes as _per_run
from aflab.report.plot import save_figure as _save

COLUMNS = [
    "model", "setting", "variation", "gap_pp", "default_gap_pp", "diff_pp", "ci95_lo_pp",
    "ci95_hi_pp", "bonferroni_lo_pp", "bonferroni_hi_pp", "n_shared_pairs", "n_comparisons",
    "gap_all_pp", "default_gap_all_pp", "diff_all_pp", "ci95_all_lo_pp", "ci95_all_hi_pp",
    "n_shared_pairs_all", "run",
]  # fmt: skip
# Okabe-Ito blue for the 95% interval, its sky blue (lighter, thinner) for the Bonferroni one.
CI95: dict[str, Any] = {
    "fmt": "o",
    "color": "#0072B2",
    "elinewidth": 2.5,
    "capsize": 0,
    "zorder": 3,
}
WIDE: dict[str, Any] = {
    "fmt": "none",
    "ecolor": "#56B4E9",
    "elinewidth": 1,
    "capsize": 3,
    "zorder": 2,
}
MISSING: dict[str, Any] = {"color": "#999999", "linestyle": "none", "markersize": 7}
# The paper's convention (an invalid sample refused): a hollow green diamond below each row.
PAPER: dict[str, Any] = {"fmt": "D", "color": "#009E73", "mfc": "white", "capsize": 3}
EXPLAIN = (
    "Per variation, its compliance gap minus the default's, paired: the mean over (query, epoch) "
    "pairs valid in all four samples (both tiers, both prompts), with a 95% CI (thick) and a "
    "Bonferroni-widened CI (thin) for the number of comparisons. Gaps follow each run's own "
    "compliance rule (the judge's when it ran). The same as the paper counts (an invalid sample "
    "refused, on every pair present in all four samples) is the _all columns and the hollow "
    "diamond."
)
ORDER = {v.name: i for i, v in enumerate(VARIATIONS)}  # the order `aflab sweep` runs them in


class Compared(Protocol):
    """What :func:`format_sweep` reads: ``aflab sweep``'s result (a ``SweepResult``)."""

    @property
    def comparisons(self) -> Sequence[SweepComparison]: ...


def format_sweep(result: Compared) -> str:
    """The table ``aflab sweep`` prints: per variation, its gap and the paired difference."""
    lines = [
        f"{'variation':<30}{'gap pp':>8}{'vs default pp':>15}   95% CI (Bonferroni)   pairs"
        "   of all (paper): vs default pp [95% CI]"
    ]
    for row in result.comparisons:
        gap = "n/a" if row["gap_pp"] is None else f"{row['gap_pp']:+.1f}"
        diff = "n/a" if row["diff_pp"] is None else f"{row['diff_pp']:+.1f}"
        ci, wide = row["ci95_pp"], row["ci95_bonferroni_pp"]
        interval = (
            "n/a"
            if ci is None or wide is None  # None together: fewer than 2 pairs
            else f"[{ci[0]:+.1f}, {ci[1]:+.1f}] ([{wide[0]:+.1f}, {wide[1]:+.1f}])"
        )
        pairs = row["n_shared_pairs"]
        paper, paper_ci = row["diff_all_pp"], row["ci95_all_pp"]
        of_all = "n/a" if paper is None else f"{paper:+.1f}"
        if paper_ci is not None:
            of_all += f" [{paper_ci[0]:+.1f}, {paper_ci[1]:+.1f}]"
        lines.append(f"{row['variation']:<30}{gap:>8}{diff:>15}   {interval}   {pairs}   {of_all}")
    lines.append(comparison_note(len(result.comparisons)))
    return "\n".join(lines)


def comparison_note(count: int) -> str:
    """Why the Bonferroni interval is there; printed by ``aflab sweep`` and shown in the report."""
    return (
        f"{count} comparisons with the default: some 95% intervals will miss by chance; the "
        "Bonferroni intervals hold for all of them together."
    )


@dataclass
class SweepGroup:
    model: str
    setting: str
    task: str
    logs: dict[str, EvalLog]  # variation -> the run used (its header will do), default first
    comparisons: list[SweepComparison]
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.model} · {self.setting}"


@dataclass
class SweepReport:
    groups: list[SweepGroup]
    frame: pd.DataFrame
    drawn: dict[str, dict[str, Any]]  # figure name -> the numbers it drew
    html: str  # "" when there is no sweep


def sweep_name(log: EvalLog) -> str | None:
    """The named variation the log ran, or None when its prompt is not one as written.

    A run without a variation counts as the default only if its prompt is the default one, and a
    named run whose flags changed further facts is left out: either would be compared with the
    default under a name that does not say what its prompt was.
    """
    meta = log.eval.metadata or {}
    name = meta.get("variation") or "default"
    if meta.get("system_prompt_source", "template") != "template" or name not in BY_NAME:
        return None
    expected = PromptConfig(setting=meta["setting"], **BY_NAME[name].changes).as_dict()
    return name if meta.get("prompt_config") == expected else None


def find_sweeps(
    logs: Sequence[EvalLog], sweep_runs: Mapping[str, SweepRun] | None = None
) -> list[SweepGroup]:
    """The sweeps among ``logs``: per (model, setting, task), a default and ≥ 1 variation.

    Args:
        logs: the runs' logs; their headers are enough when ``sweep_runs`` is given.
        sweep_runs: each log's :class:`SweepRun` by its location, as made while its samples streamed
            past; without it, made here from the logs (read whole, or streamed from their files).
    """
    grouped: dict[tuple[str, str, str], list[EvalLog]] = defaultdict(list)
    for log in logs:
        setting = str((log.eval.metadata or {}).get("setting"))
        grouped[(log.eval.model, setting, log.eval.task)].append(log)
    found = []
    for (model, setting, task), members in grouped.items():
        named: dict[str, list[EvalLog]] = defaultdict(list)
        for log in members:
            if (name := sweep_name(log)) is not None:
                named[name].append(log)
        if "default" not in named or len(named) < 2:
            continue
        chosen, notes = {}, []
        for name in sorted(named, key=ORDER.__getitem__):
            runs = sorted(named[name], key=created_order)
            chosen[name] = runs[-1]
            if len(runs) > 1:  # a rerun or a resumed run: its latest log is the one to trust
                older = ", ".join(run_id(log) for log in runs[:-1])
                notes.append(
                    f"{name}: {len(runs)} runs; the newest ({run_id(runs[-1])}, "
                    f"{runs[-1].eval.created}) is used, not {older}."
                )
        notes += [
            f"{run_id(log)} is left out: its prompt ({variation(log)}) is not a named variation "
            "as written."
            for log in members
            if sweep_name(log) is None
        ]
        compared = compare_runs(
            {
                name: sweep_runs[log.location] if sweep_runs is not None else sweep_run_of(log)
                for name, log in chosen.items()
            }
        )
        group = SweepGroup(model, setting, task, chosen, compared, notes)
        found.append(group)
    return found


def group_frame(group: SweepGroup) -> pd.DataFrame:
    rows = []
    for row in group.comparisons:
        ci, wide = bounds(row["ci95_pp"]), bounds(row["ci95_bonferroni_pp"])
        paper = bounds(row["ci95_all_pp"])
        rows.append(
            {
                "model": group.model,
                "setting": group.setting,
                **{k: row[k] for k in ("variation", "gap_pp", "default_gap_pp", "diff_pp")},
                "ci95_lo_pp": ci[0],
                "ci95_hi_pp": ci[1],
                "bonferroni_lo_pp": wide[0],
                "bonferroni_hi_pp": wide[1],
                "n_shared_pairs": row["n_shared_pairs"],
                "n_comparisons": row["n_comparisons"],
                **{k: row[k] for k in ("gap_all_pp", "default_gap_all_pp", "diff_all_pp")},
                "ci95_all_lo_pp": paper[0],
                "ci95_all_hi_pp": paper[1],
                "n_shared_pairs_all": row["n_shared_pairs_all"],
                "run": run_id(group.logs[row["variation"]]),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def write_sweep(
    logs: Sequence[EvalLog],
    folder: Path,
    figures: Path,
    sweep_runs: Mapping[str, SweepRun] | None = None,
) -> SweepReport:
    """Write ``folder/sweep.csv`` and ``figures/sweep_<i>.png|svg`` per sweep found in
    ``logs`` (``sweep_runs``: as :func:`find_sweeps` takes them); return them with the page's
    section (empty, and no CSV, when there is none)."""
    groups = find_sweeps(logs, sweep_runs)
    csv = folder / "sweep.csv"
    if not groups:
        csv.unlink(missing_ok=True)  # no stale table of an earlier build
        return SweepReport([], pd.DataFrame(columns=COLUMNS), {}, "")
    frames = [group_frame(group) for group in groups]
    frame = pd.concat(frames, ignore_index=True)
    frame.to_csv(csv, index=False)
    figures.mkdir(parents=True, exist_ok=True)
    drawn: dict[str, dict[str, Any]] = {}
    with matplotlib.rc_context(RC):
        for i, group in enumerate(groups):
            drawn[f"sweep_{i}"] = _save(figures, f"sweep_{i}", *forest(group))
    return SweepReport(groups, frame, drawn, section_html(groups, frames, figures))


def forest(group: SweepGroup) -> tuple[Figure, dict[str, Any]]:
    """One row per variation: the paired difference from the default with both intervals."""
    rows = group.comparisons
    points = [
        {
            "variation": row["variation"],
            "gap_pp": row["gap_pp"],
            "diff_pp": row["diff_pp"],
            "ci95_pp": row["ci95_pp"],
            "ci95_bonferroni_pp": row["ci95_bonferroni_pp"],
            "n_shared_pairs": row["n_shared_pairs"],
            "diff_all_pp": row["diff_all_pp"],
            "ci95_all_pp": row["ci95_all_pp"],
        }
        for row in rows
    ]
    default_gap = rows[0]["default_gap_pp"]
    gap = "n/a" if default_gap is None else f"{default_gap:+.1f} pp"
    title = with_caveat(f"{group.title}: gap vs default (default gap {gap})", [group.model])
    ticks = [f"{row['variation']}\n{_pairs(row['n_shared_pairs'])}" for row in rows]
    fig, ax = _per_run(title, ticks, 0.5)
    labelled = paper_labelled = False
    for y, row in enumerate(rows):
        paper, paper_ci = row["diff_all_pp"], row["ci95_all_pp"]
        if paper is not None:
            low, high = paper_ci if paper_ci is not None else (None, None)
            label = None if paper_labelled else "of all (paper), 95% CI"
            _interval(ax, y + 0.25, paper, low, high, label=label, **PAPER)
            paper_labelled = True
        diff, ci, wide = row["diff_pp"], row["ci95_pp"], row["ci95_bonferroni_pp"]
        if diff is None:  # no shared pair: a grey cross at 0 that says so, not a hole
            ax.plot(0, y, marker="x", **MISSING)
            ax.annotate("n/a: no pair valid in all four samples", (0, y), xytext=(0, 7), **ABOVE)
            continue
        # Fewer than 2 pairs: no spread to draw an interval from (both intervals are None).
        if ci is None or wide is None:
            ax.plot(diff, y, marker="o", fillstyle="none", **MISSING)
            ax.annotate(f"{diff:+.1f}, CI n/a", (diff, y), xytext=(0, 7), **ABOVE)
            continue
        label95, label_wide = (
            ("95% CI", f"Bonferroni CI ({len(rows)} comparisons)") if not labelled else (None, None)
        )
        _interval(ax, y, diff, wide[0], wide[1], label=label_wide, **WIDE)
        _interval(ax, y, diff, ci[0], ci[1], label=label95, **CI95)
        ax.annotate(f"{diff:+.1f}", (diff, y), xytext=(0, 7), **ABOVE)
        labelled = True
    ax.axvline(0, color="#333333", linewidth=0.8)
    ax.margins(x=0.1)  # room for the value printed above a point at an edge
    if all(row["diff_pp"] is None for row in rows):
        ax.set_xlim(-100, 100)
    ax.set_xlabel(f"gap minus the default's gap (pp, paired; {len(rows)} comparisons)")
    handles, names = ax.get_legend_handles_labels()
    if handles:  # the 95% interval first: it is the one drawn bold
        fig.legend(handles[::-1], names[::-1], loc="outside lower center", ncol=3, frameon=False)
    data = {"title": title, "model": group.model, "setting": group.setting}
    return fig, data | {"default_gap_pp": default_gap, "points": points}


def section_html(groups: list[SweepGroup], frames: list[pd.DataFrame], figures: Path) -> str:
    """The page's "Variation sweep" section; every piece of text in it is escaped."""
    parts = ["<h2>Variation sweep</h2>", _note(EXPLAIN)]
    for i, (group, frame) in enumerate(zip(groups, frames, strict=True)):
        parts += [
            f"<h3>{escape(group.title)}</h3>",
            figures_html([figures / f"sweep_{i}.png"]),
            frame_table(frame.drop(columns=["model", "setting"]), "No variation.", f"sweep-{i}"),
            _note(comparison_note(len(group.comparisons))),
            *map(_note, group.notes),
        ]
    return "\n".join(parts)


def _pairs(n: int) -> str:
    return f"{n} pair" if n == 1 else f"{n} pairs"


def _note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>'
