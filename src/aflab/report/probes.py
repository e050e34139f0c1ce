"""Linear probes as ``aflab probe train`` leaves them (``probes.csv``, ``probe_transfer.csv``):
per target the AUROC against the layer, one panel per subset and one line per position; the
best layer of each (target, subset, position) and of each transfer, as tables; the lines the
command prints; and the report's "Probes" section (page and ``probes.md``).

Read by column names only: the report sits below ``aflab.probes`` (the ``layers`` contract).
A probe that was not fitted (its ``status`` is not "ok") is never drawn, but counted with its
reason in the figure's title and the tables.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from textwrap import fill
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from aflab.core.types import PROBE_TRANSFER_FILE, PROBES_FILE
from aflab.report.curves import ReportPart, find_folders, markdown_table, read_measured
from aflab.report.curves import table_markers as _markers
from aflab.report.html import figures_html, frame_table
from aflab.report.markdown import code_span, inline
from aflab.report.markers import TITLE_WIDTH
from aflab.report.plot import RC, save_figure

MARKDOWN_FILE = "probes.md"
TARGETS = ("tier", "decision", "af", "af_rule")
SUBSETS = ("all", "free", "paid")
POSITIONS = ("system_end", "user_end", "prompt_end", "scratchpad_mean", "pre_output")
BEFORE_REASONING = ("system_end", "user_end", "prompt_end")
AUROC_COLUMNS = ["auroc", "auroc_lo", "auroc_hi", "control_auroc", "control_lo", "control_hi"]
COLUMNS = [
    "target", "subset", "position", "layer", "before_reasoning", "n", "n_pos", "n_neg",
    "groups", "folds", "missing", *AUROC_COLUMNS, "status",
]  # fmt: skip
NUMERIC = ["layer", "n", "n_pos", "n_neg", "groups", "folds", "missing", *AUROC_COLUMNS]
TRANSFER_COLUMNS = [
    "target", "by", "train_value", "test_value", "position", "layer", "n_train", "n_test",
    *AUROC_COLUMNS, "status",
]  # fmt: skip
TRANSFER_NUMERIC = ["layer", "n_train", "n_test", *AUROC_COLUMNS]
FITTED = "ok"

TARGET_NAMES = {
    "tier": "the tier (free or paid)",
    "decision": "the decision (complied or refused)",
    "af": "the AF judge's verdict",
    "af_rule": "the scratchpad rule's verdict",
}
SUBSET_NAMES = {"all": "both tiers", "free": "free tier only", "paid": "paid tier only"}
# Okabe-Ito, one colour per position; before reasoning solid with filled markers, after dotted
# with hollow ones, so that the two kinds stay apart in greyscale too.
POSITION_COLOURS = {
    "system_end": "#E69F00",
    "user_end": "#56B4E9",
    "prompt_end": "#0072B2",
    "scratchpad_mean": "#CC79A7",
    "pre_output": "#D55E00",
}
OTHER_COLOURS = ("#009E73", "#F0E442", "#000000")
BEFORE_STYLE: dict[str, Any] = {"linestyle": "-", "marker": "o"}
AFTER_STYLE: dict[str, Any] = {"linestyle": ":", "marker": "s", "markerfacecolor": "white"}
CONTROL_STYLE: dict[str, Any] = {"linestyle": "--", "color": "#7F7F7F", "linewidth": 1.2}
CONTROL_LABEL = "permuted labels: mean and 95% band (highest over positions)"
CHANCE_LABEL = "chance (0.5)"
BAND_ALPHA = 0.15

EXPLAIN = (
    "Each probe is a logistic regression (balanced class weights) on the residual stream at one "
    "position and one layer, scored by AUROC on held-out folds; the folds are grouped by query, "
    "so a query's free and paid samples are never split between training and test, and the 95% "
    "intervals are bootstrap over queries. The control is the same probe trained on permuted "
    "labels, 20 times by default: their mean AUROC should read about 0.5, and the central 95% "
    "of their AUROCs is the band noise reaches (figures: the highest mean over the positions, "
    "dashed grey, its band spanning every position's band). Positions before reasoning "
    "(system_end, user_end, prompt_end: solid lines) see only the prompt; scratchpad_mean and "
    "pre_output (dotted) see the model's reasoning, where the decision may already be written. "
    "A tier probe reads a tag that is in the input: at 1.0 it shows that the tag is there, "
    "nothing more; within one tier the decision cannot be the tier. The best layer is the one "
    "of highest AUROC, chosen on the same folds: a maximum over layers, so optimistic. Probes "
    "not fitted (one class, too few queries) are counted with their reason, never drawn."
)
TRANSFER_EXPLAIN = (
    "Transfer: a probe trained on one group of samples (train) and scored on another (test), "
    "e.g. the decision trained in the free tier and tested in the paid tier: whether one "
    "direction reads the target in both. The best layer is chosen on the test AUROC, an upper "
    "bound; 'AUROC over layers' is the range across every fitted layer. Intervals: bootstrap "
    "over the test queries."
)


@dataclass(frozen=True)
class ProbeRun:
    """A folder of ``aflab probe train`` as the report reads it."""

    folder: Path
    probes: pd.DataFrame  # probes.csv, by layer
    transfer: pd.DataFrame | None  # probe_transfer.csv, when the folder has one

    @property
    def markers(self) -> list[str]:
        return _markers(self.probes)

    def targets(self) -> list[str]:
        return ordered(self.probes["target"], TARGETS)

    def title(self, target: str) -> str:
        """The AUROC figure's title: the target, the folder, what was not fitted, the model's
        markers."""
        rows = self.probes[self.probes["target"] == target]
        lines = [f"Probe AUROC by layer: {TARGET_NAMES.get(target, target)}"]
        lines.append(fill(str(self.folder), TITLE_WIDTH))
        if (skipped := not_fitted(rows)).total():
            lines.append(fill(not_fitted_line(skipped), TITLE_WIDTH))
        return "\n".join(lines + [fill(m, TITLE_WIDTH) for m in self.markers])


def find_probe_folders(paths: Iterable[str | Path]) -> list[Path]:
    """Every folder under ``paths`` (to any depth) that holds a ``probes.csv``, each once."""
    return find_folders(paths, PROBES_FILE)


def read_probe_run(folder: Path) -> ProbeRun:
    """``folder``'s probes and, when it has them, their transfers; a UsageError names a table
    that is not one aflab wrote."""
    probes = _read(folder / PROBES_FILE, "a probes table aflab wrote", COLUMNS, NUMERIC)
    probes["before_reasoning"] = [
        _flag(value, position)
        for value, position in zip(probes["before_reasoning"], probes["position"], strict=True)
    ]
    transfer = None
    if (folder / PROBE_TRANSFER_FILE).is_file():
        transfer = _read(
            folder / PROBE_TRANSFER_FILE,
            "a probe transfer table aflab wrote",
            TRANSFER_COLUMNS,
            TRANSFER_NUMERIC,
        )
    return ProbeRun(folder, probes, transfer)


def _read(path: Path, what: str, columns: list[str], numeric: list[str]) -> pd.DataFrame:
    table = read_measured(path, what, columns, numeric, "layer")
    # Text columns as text: an empty cell (a subset written as "") is not a float NaN.
    text = [c for c in columns if c not in numeric and c != "before_reasoning"]
    table[text] = table[text].fillna("").astype(str)
    table["status"] = table["status"].replace("", "no status")
    table["layer"] = table["layer"].astype(int)
    return table


def _flag(value: Any, position: str) -> bool:
    """The ``before_reasoning`` cell as a bool; the position's kind where the cell is empty."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return position in BEFORE_REASONING
    return str(value).strip().lower() in {"true", "1", "yes"}


def ordered(values: Iterable[Any], known: Sequence[str]) -> list[str]:
    """The distinct ``values``: those of ``known`` in its order, then any other as they come."""
    seen = list(dict.fromkeys(str(v) for v in values))
    return [k for k in known if k in seen] + [v for v in seen if v not in known]


def fitted(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of fitted probes: status "ok" and an AUROC."""
    return rows[(rows["status"] == FITTED) & rows["auroc"].notna()]


def not_fitted(rows: pd.DataFrame) -> Counter[str]:
    """How many of ``rows`` were not fitted, by reason."""
    reasons = Counter[str]()
    for status, auroc in zip(rows["status"], rows["auroc"], strict=True):
        if status != FITTED:
            reasons[str(status)] += 1
        elif pd.isna(auroc):
            reasons["no AUROC"] += 1
    return reasons


def reasons_text(reasons: Counter[str]) -> str:
    return ", ".join(f"{reason} ({count})" for reason, count in reasons.most_common())


def not_fitted_line(reasons: Counter[str]) -> str:
    total = reasons.total()
    return f"{total} probe{'s' if total != 1 else ''} not fitted: {reasons_text(reasons)}"


def auroc_figure(run: ProbeRun, target: str) -> tuple[Figure, dict[str, Any]]:
    """One panel per subset of ``target`` (both tiers, free, paid), AUROC against the layer:
    a line and its 95% band per position, the random-label control dashed grey, chance at 0.5.
    """
    rows = run.probes[run.probes["target"] == target]
    subsets = ordered(rows["subset"], SUBSETS)
    title = run.title(target)
    fig = Figure(figsize=(0.8 + 3.6 * len(subsets), 4.6), layout="constrained")
    axes = fig.subplots(1, len(subsets), sharex=True, sharey=True, squeeze=False)[0]
    positions = ordered(run.probes["position"], POSITIONS)  # colours fixed across targets
    drawn: dict[str, Any] = {
        "title": title,
        "subsets": subsets,
        "positions": {},
        "control": {},
        "not_fitted": dict(not_fitted(rows)),
    }
    lows: list[float] = []
    for ax, subset in zip(axes, subsets, strict=True):
        panel = fitted(rows[rows["subset"] == subset])
        drawn["positions"][subset] = _draw_positions(ax, panel, positions)
        drawn["control"][subset] = _draw_control(ax, panel)
        ax.axhline(0.5, color="#000000", linewidth=0.8, alpha=0.6, label=CHANCE_LABEL)
        ax.set_title(SUBSET_NAMES.get(subset, subset))
        ax.set_xlabel("layer")
        ax.grid(alpha=0.3)
        if panel.empty:
            skipped = not_fitted(rows[rows["subset"] == subset])
            ax.text(
                0.5,
                0.25,
                fill("not fitted: " + reasons_text(skipped), 30) if skipped else "no probe",
                ha="center",
                va="center",
                transform=ax.transAxes,
                color="#666666",
                backgroundcolor="white",
            )
        else:
            lows += panel[["auroc_lo", "auroc", "control_auroc"]].min().tolist()
    # 0.4 to 1 shows the differences that matter; a probe below 0.4 (worse than chance) widens it.
    # The control's band may reach past the axis: its line is what must stay in view.
    low = 0.0 if any(v < 0.4 for v in lows if not pd.isna(v)) else 0.4
    axes[0].set_ylim(low - 0.01, 1.01)
    axes[0].set_ylabel("AUROC (held-out folds)")
    handles, labels = _legend_entries(axes)
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncol=min(4, len(labels)))
    fig.suptitle(title)
    drawn["ylim"] = (low, 1.0)
    return fig, drawn


def _draw_positions(ax: Axes, panel: pd.DataFrame, positions: list[str]) -> dict[str, Any]:
    drawn: dict[str, Any] = {}
    for i, position in enumerate(positions):
        line = panel[panel["position"] == position].sort_values("layer")
        if line.empty:
            continue
        before = bool(line["before_reasoning"].iloc[0])
        colour = POSITION_COLOURS.get(position, OTHER_COLOURS[i % len(OTHER_COLOURS)])
        style = BEFORE_STYLE if before else AFTER_STYLE
        layers = line["layer"].tolist()
        kind = "before reasoning" if before else "after reasoning"
        ax.plot(layers, line["auroc"], color=colour, label=f"{position} ({kind})", **style)
        ax.fill_between(layers, line["auroc_lo"], line["auroc_hi"], color=colour, alpha=BAND_ALPHA)
        drawn[position] = {"layers": layers, "auroc": line["auroc"].tolist(), "before": before}
    return drawn


def _draw_control(ax: Axes, panel: pd.DataFrame) -> dict[str, Any]:
    """The random-label control: its highest AUROC over the positions at each layer, and a band
    from the lowest to the highest bound of any position's interval."""
    control = panel.dropna(subset=["control_auroc"])
    if control.empty:
        return {}
    by_layer = control.groupby("layer").agg(
        auroc=("control_auroc", "max"), lo=("control_lo", "min"), hi=("control_hi", "max")
    )
    layers = by_layer.index.tolist()
    ax.plot(layers, by_layer["auroc"], label=CONTROL_LABEL, **CONTROL_STYLE)
    ax.fill_between(layers, by_layer["lo"], by_layer["hi"], color="#7F7F7F", alpha=0.1)
    return {"layers": layers, "auroc": by_layer["auroc"].tolist()}


def _legend_entries(axes: Sequence[Axes]) -> tuple[list[Any], list[str]]:
    """Each label once over the panels, positions first, the control and chance last."""
    entries: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    last = [label for label in (CONTROL_LABEL, CHANCE_LABEL) if label in entries]
    labels = [label for label in entries if label not in last] + last
    return [entries[label] for label in labels], labels


def figure_name(target: str) -> str:
    """``probe_auroc_<target>``, the target made safe for a file name."""
    return "probe_auroc_" + re.sub(r"[^A-Za-z0-9_-]", "_", target)


def save_probe_figures(run: ProbeRun, folder: Path, prefix: str = "") -> dict[str, dict[str, Any]]:
    """Draw one AUROC figure per target as ``folder/<prefix>probe_auroc_<target>.png`` and
    ``.svg``; return what each drew, by file stem."""
    folder.mkdir(parents=True, exist_ok=True)
    drawn = {}
    with matplotlib.rc_context(RC):
        for target in run.targets():
            name = prefix + figure_name(target)
            drawn[name] = save_figure(folder, name, *auroc_figure(run, target))
    return drawn


def _auroc(row: pd.Series, key: str, lo: str, hi: str) -> str:
    if pd.isna(row[key]):
        return "n/a"
    interval = "" if pd.isna(row[lo]) or pd.isna(row[hi]) else f" [{row[lo]:.2f}, {row[hi]:.2f}]"
    return f"{row[key]:.2f}{interval}"


def _count(value: Any) -> str:
    return "n/a" if pd.isna(value) else str(int(value))


def best_layers(probes: pd.DataFrame) -> pd.DataFrame:
    """Per (target, subset, position) the layer of highest AUROC, with its interval, the
    control's, the counts it was fitted on and the probes not fitted (a group with none fitted
    is a row that says why)."""
    rows = []
    for target in ordered(probes["target"], TARGETS):
        of_target = probes[probes["target"] == target]
        for subset in ordered(of_target["subset"], SUBSETS):
            of_subset = of_target[of_target["subset"] == subset]
            for position in ordered(of_subset["position"], POSITIONS):
                group = of_subset[of_subset["position"] == position]
                good, skipped = fitted(group), not_fitted(group)
                cells: dict[str, Any] = {
                    "Target": target,
                    "Subset": subset,
                    "Position": position,
                    "Reasoning": "before" if group["before_reasoning"].iloc[0] else "after",
                }
                if good.empty:
                    cells |= dict.fromkeys(
                        ("Best layer", "AUROC [95% CI]", "Control [95% CI]", "n (pos/neg)"), "n/a"
                    )
                    cells |= {"Queries": "n/a", "Missing": "n/a", "Layers fitted": "0"}
                else:
                    best = good.loc[good["auroc"].idxmax()]
                    cells |= {
                        "Best layer": str(int(best["layer"])),
                        "AUROC [95% CI]": _auroc(best, "auroc", "auroc_lo", "auroc_hi"),
                        "Control [95% CI]": _auroc(
                            best, "control_auroc", "control_lo", "control_hi"
                        ),
                        "n (pos/neg)": f"{_count(best['n'])} ({_count(best['n_pos'])}"
                        f"/{_count(best['n_neg'])})",
                        "Queries": _count(best["groups"]),
                        "Missing": _count(best["missing"]),
                        "Layers fitted": str(len(good)),
                    }
                cells["Not fitted"] = reasons_text(skipped) if skipped else ""
                rows.append(cells)
    return pd.DataFrame(rows)


def transfer_table(transfer: pd.DataFrame) -> pd.DataFrame:
    """Per (target, grouping, train → test, position) the layer of highest test AUROC, its
    interval and control, the counts, and the AUROC's range over the fitted layers."""
    rows = []
    keys = ["target", "by", "train_value", "test_value", "position"]
    order = {t: i for i, t in enumerate(TARGETS)} | {p: i for i, p in enumerate(POSITIONS)}
    groups = transfer.groupby(keys, sort=False, dropna=False)
    for key, group in sorted(groups, key=lambda item: _transfer_order(item[0], order)):
        target, by, train, test, position = (str(k) for k in key)
        good, skipped = fitted(group), not_fitted(group)
        cells: dict[str, Any] = {
            "Target": target,
            "By": by,
            "Train → test": f"{train} → {test}",
            "Position": position,
            "Reasoning": "before" if position in BEFORE_REASONING else "after",
        }
        if good.empty:
            cells |= dict.fromkeys(
                ("Best layer", "AUROC [95% CI]", "Control [95% CI]", "n train / test"), "n/a"
            )
            cells["AUROC over layers"] = "n/a"
        else:
            best = good.loc[good["auroc"].idxmax()]
            cells |= {
                "Best layer": str(int(best["layer"])),
                "AUROC [95% CI]": _auroc(best, "auroc", "auroc_lo", "auroc_hi"),
                "Control [95% CI]": _auroc(best, "control_auroc", "control_lo", "control_hi"),
                "n train / test": f"{_count(best['n_train'])} / {_count(best['n_test'])}",
                "AUROC over layers": f"{good['auroc'].min():.2f}–{good['auroc'].max():.2f} "
                f"({len(good)} layers)",
            }
        cells["Not fitted"] = reasons_text(skipped) if skipped else ""
        rows.append(cells)
    return pd.DataFrame(rows)


def _transfer_order(key: tuple[Any, ...], order: dict[str, int]) -> tuple[Any, ...]:
    target, by, train, test, position = (str(k) for k in key)
    return (order.get(target, len(order)), target, by, train, test, order.get(position, 99))


SUMMARY_COLUMNS = ["Target", "Subset", "Position", "Best layer", "AUROC [95% CI]"]
SUMMARY_COLUMNS += ["Control [95% CI]", "Not fitted"]


def probe_summary(folder: Path) -> list[str]:
    """What ``probe train`` prints at its end: the model's markers, the best layer per target,
    subset and position, how many probes were not fitted and why, the transfers' best layers,
    and where the tables and figures are; nothing when the folder has no ``probes.csv``."""
    if not (folder / PROBES_FILE).is_file():
        return []
    run = read_probe_run(folder)
    best = best_layers(run.probes)
    # A group with no probe fitted is in the not-fitted line; the table shows what was measured.
    best = best[best["Best layer"] != "n/a"]
    lines = [*run.markers]
    lines.append(
        best[SUMMARY_COLUMNS].to_string(index=False) if not best.empty else "no probe fitted"
    )
    if (skipped := not_fitted(run.probes)).total():
        lines.append(not_fitted_line(skipped))
    if run.transfer is not None and not run.transfer.empty:
        columns = ["Target", "Train → test", "Position", "Best layer", "AUROC [95% CI]"]
        lines.append(transfer_table(run.transfer)[columns].to_string(index=False))
    figures = ", ".join(f"{figure_name(t)}.png" for t in run.targets())
    lines.append(
        f"probes: {folder / PROBES_FILE} (figures in {folder}: {figures}); "
        f"aflab report {folder} adds them to a report"
    )
    return lines


def write_probes(runs: Sequence[ProbeRun], folder: Path, figures: Path) -> ReportPart:
    """Write the AUROC figures of ``runs`` (``figures/probes_<i>_probe_auroc_<target>``) and
    ``folder/probes.md``; return what each figure drew and the page's section (empty, and no
    Markdown, when there is no probe folder)."""
    markdown = folder / MARKDOWN_FILE
    if not runs:
        markdown.unlink(missing_ok=True)  # no stale table of an earlier build
        return ReportPart({}, "")
    drawn: dict[str, dict[str, Any]] = {}
    for i, run in enumerate(runs):
        drawn |= save_probe_figures(run, figures, f"probes_{i}_")
    best = [best_layers(run.probes) for run in runs]
    transfers = [None if r.transfer is None else transfer_table(r.transfer) for r in runs]
    markdown.write_text(
        render_markdown(runs, best, transfers, figures.relative_to(folder)), encoding="utf-8"
    )
    return ReportPart(drawn, section_html(runs, best, transfers, figures, drawn))


def section_html(
    runs: Sequence[ProbeRun],
    best: Sequence[pd.DataFrame],
    transfers: Sequence[pd.DataFrame | None],
    figures: Path,
    drawn: dict[str, dict[str, Any]],
) -> str:
    """The page's "Probes" section; every piece of text in it is escaped."""
    parts = ["<h2>Probes</h2>", f'<p class="note">{escape(EXPLAIN)}</p>']
    captions = {name: str(data["title"]) for name, data in drawn.items()}
    for i, (run, table, transfer) in enumerate(zip(runs, best, transfers, strict=True)):
        pngs = [figures / f"probes_{i}_{figure_name(t)}.png" for t in run.targets()]
        parts += [
            f"<h3>{escape(str(run.folder))}</h3>",
            *(f'<p class="caveat">{escape(marker)}</p>' for marker in run.markers),
            figures_html(pngs, captions),
            "<h4>Best layer per target, subset and position</h4>",
            frame_table(table, "No probe in probes.csv.", f"probes-best-{i}"),
        ]
        if transfer is not None:
            parts += [
                "<h4>Transfer</h4>",
                f'<p class="note">{escape(TRANSFER_EXPLAIN)}</p>',
                frame_table(transfer, "No transfer in probe_transfer.csv.", f"probes-transfer-{i}"),
            ]
    return "\n".join(parts)


def render_markdown(
    runs: Sequence[ProbeRun],
    best: Sequence[pd.DataFrame],
    transfers: Sequence[pd.DataFrame | None],
    figures: Path,
) -> str:
    """``probes.md``: per probe folder its markers, figures (``figures``: relative to the file),
    the best-layer table and the transfer table."""
    parts = ["# aflab report: linear probes", inline(EXPLAIN)]
    for i, (run, table, transfer) in enumerate(zip(runs, best, transfers, strict=True)):
        parts += [
            f"## {inline(run.folder)}",
            f"Folder: {code_span(str(run.folder))}",
            *[f"> **{inline(marker)}**" for marker in run.markers],
        ]
        for target in run.targets():
            title = run.title(target).splitlines()[0]
            name = f"probes_{i}_{figure_name(target)}"
            parts.append(f"![{inline(title)}]({figures.as_posix()}/{name}.png)")
            if (skipped := not_fitted(run.probes[run.probes["target"] == target])).total():
                parts.append(f"*{inline(not_fitted_line(skipped))}*")
        parts += ["### Best layer per target, subset and position", markdown_table(table)]
        if transfer is not None:
            parts += ["### Transfer", inline(TRANSFER_EXPLAIN)]
            parts.append(markdown_table(transfer) if not transfer.empty else "No transfer.")
    return "\n\n".join(parts) + "\n"
