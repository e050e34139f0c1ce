"""Steering as ``aflab probe steer`` leaves it (``steer.csv``, one row per scale): the compliance
gap, refusal per tier and the AF rate against the steering scale, with 95% intervals; the rows
as a table; the lines the command prints; and the report's "Steering" section (page and
``steer.md``).

A row's measurements are those of an RL curve's row (``report.curves``: the same columns, drawn
and tabled by the same helpers). Read by column names only: the report sits below
``aflab.probes`` (the ``layers`` contract). A ``steer.csv`` holding several steering
configurations (target, subset, position, layer, method) gets a figure and a table for each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from textwrap import fill
from typing import Any

import matplotlib
import pandas as pd
from matplotlib.figure import Figure

from aflab.core.types import STEER_FILE, TIERS
from aflab.report.curves import (
    GAP_COLUMNS,
    MEASURED,
    RATES,
    RULE_COLUMNS,
    ReportPart,
    af_key,
    draw_af,
    draw_gap,
    draw_refusal,
    find_folders,
    markdown_table,
    measured_cells,
    plain_row,
    read_measured,
    table_markers,
)
from aflab.report.html import figures_html, frame_table
from aflab.report.markdown import code_span, inline
from aflab.report.markers import TITLE_WIDTH
from aflab.report.plot import RC, save_figure

MARKDOWN_FILE = "steer.md"
CONFIGURATION = ["target", "subset", "position", "layer", "method"]
COLUMNS = ["scale", *CONFIGURATION, "diff_norm", "vector_norm", "af_judge"]
COLUMNS += [*MEASURED, *RULE_COLUMNS, "log"]
NUMERIC = ["scale", "layer", "diff_norm", "vector_norm", *RATES, *GAP_COLUMNS, *RULE_COLUMNS]
EXPLAIN = (
    "Each row is one steering scale: the probe's unit direction times scale × the norm of the "
    "mean difference between the classes (so scale 1 moves the activations by one typical "
    "class difference, and scale 0 is the model unsteered) is added to the output of the "
    "layer's block at every position, and the run is measured by the ordinary pipeline in both "
    "tiers. Rates follow the row's rule: the compliance judge's where it ran, else the tag "
    "rule. Refusal of decided leaves invalid samples out; of all (the paper's) counts them as "
    "not complied. The gap (paid minus free refusal, of decided) is paired on the queries "
    "valid in both tiers. AF is of judged samples; with no AF judge, the scratchpad rule "
    "(naming training, modification and values) is shown, a share of all samples. 95% CIs. "
    "Each scale's log is a run of the report when it lies under the paths given."
)
NOTHING = "No scale measured yet."


@dataclass(frozen=True)
class Steering:
    """One steering configuration of a ``steer.csv``: its rows by scale."""

    folder: Path
    curve: pd.DataFrame  # by scale

    def setting(self, column: str) -> str:
        values = self.curve[column].dropna().astype(str).unique()
        return " / ".join(values) if len(values) else "?"

    @property
    def af_source(self) -> str | None:
        """What the AF panel shows: "judge", "rule", or None when neither measured."""
        keys = [af_key(self.curve, tier) for tier in TIERS]
        if not any(self.curve[key].notna().any() for key in keys):
            return None
        return "judge" if keys[0].endswith("_af") else "rule"

    @property
    def af_label(self) -> str:
        judges = self.curve["af_judge"].dropna().astype(str).unique()
        return {
            "judge": f"AF judge ({', '.join(judges)})" if len(judges) else "AF judge",
            "rule": "scratchpad rule (no AF judge)",
            None: "no AF measure",
        }[self.af_source]

    @property
    def markers(self) -> list[str]:
        return table_markers(self.curve)

    @property
    def heading(self) -> str:
        """The configuration in words: what was steered, where, and how."""
        return (
            f"Steering along the {self.setting('target')} probe "
            f"(trained on {self.setting('subset')}): {self.setting('position')}, "
            f"layer {self.setting('layer')}, {self.setting('method')}"
        )

    @property
    def title(self) -> str:
        lines = [fill(self.heading, TITLE_WIDTH), fill(str(self.folder), TITLE_WIDTH)]
        return "\n".join(lines + [fill(m, TITLE_WIDTH) for m in self.markers])


def find_steer_folders(paths: Iterable[str | Path]) -> list[Path]:
    """Every folder under ``paths`` (to any depth) that holds a ``steer.csv``, each once."""
    return find_folders(paths, STEER_FILE)


@dataclass(frozen=True)
class SteerRun:
    """A folder of ``aflab probe steer``: its configurations, each by scale."""

    folder: Path
    steerings: list[Steering]


def read_steer_run(folder: Path) -> SteerRun:
    return SteerRun(folder, read_steering(folder))


def read_steering(folder: Path) -> list[Steering]:
    """The configurations of ``folder/steer.csv`` in the order they first appear, each by scale;
    a UsageError names a file that is not a steering table aflab wrote."""
    path = folder / STEER_FILE
    table = read_measured(path, "a steering table aflab wrote", COLUMNS, NUMERIC, "scale")
    groups = table.groupby(CONFIGURATION, sort=False, dropna=False)
    firsts = sorted((group.index.min(), key) for key, group in groups)
    return [Steering(folder, groups.get_group(key).reset_index(drop=True)) for _, key in firsts]


def steer_figure(steering: Steering) -> tuple[Figure, dict[str, Any]]:
    """Three panels sharing the scale axis: the compliance gap, refusal per tier (of decided
    solid, of all dashed) and the AF rate per tier (the judge's, else the scratchpad rule's, as
    the panel's label says)."""
    curve = steering.curve
    fig = Figure(figsize=(7.5, 7.4), layout="constrained")
    gap, refusal, af = fig.subplots(3, 1, sharex=True)
    scales = curve["scale"].tolist()
    drawn: dict[str, Any] = {"title": steering.title, "scales": scales}
    draw_gap(gap, curve, scales, drawn)
    gap.set_title(steering.title)
    draw_refusal(refusal, curve, scales, drawn)
    draw_af(af, curve, scales, drawn, "no AF judge nor scratchpad rule measured the runs")
    af.set_ylabel(f"alignment faking (%)\n{steering.af_label}")
    drawn["af_source"] = steering.af_source
    if min(scales) <= 0 <= max(scales):  # the unsteered model, where every panel starts from
        for ax in (gap, refusal, af):
            ax.axvline(0, color="#BBBBBB", linestyle=":", linewidth=1)
    norms = curve["diff_norm"].dropna().unique()
    unit = f"‖mean difference‖ = {norms[0]:.3g}" if len(norms) == 1 else "‖mean difference‖"
    af.set_xlabel(f"steering scale (added vector: scale × {unit} × the unit direction)")
    return fig, drawn


def save_steer_figures(
    steerings: Sequence[Steering], folder: Path, name: str = "steer"
) -> dict[str, dict[str, Any]]:
    """Draw each configuration as ``folder/<name>.png`` and ``.svg`` (``<name>_<j>`` when there
    are several); return what each drew, by file stem."""
    folder.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context(RC):
        return {
            stem: save_figure(folder, stem, *steer_figure(steering))
            for stem, steering in zip(figure_names(steerings, name), steerings, strict=True)
        }


def figure_names(steerings: Sequence[Steering], name: str) -> list[str]:
    return [name] if len(steerings) == 1 else [f"{name}_{j}" for j in range(len(steerings))]


def steer_table(curve: pd.DataFrame) -> pd.DataFrame:
    """The rows as a reader reads them: the scale, the added vector's norm, the rule, each rate
    in percent with its interval, and the scale's log."""
    rows = []
    for row in curve.to_dict("records"):
        value = plain_row(row)
        norm = value["vector_norm"]
        cells: dict[str, Any] = {
            "Scale": f"{value['scale']:g}",
            "‖vector‖": "n/a" if norm is None else f"{norm:.3g}",
            "Rule": value["rule"],
        }
        cells |= measured_cells(value)
        cells["Log"] = Path(str(value["log"])).name if value["log"] else ""
        rows.append(cells)
    return pd.DataFrame(rows)


SUMMARY_COLUMNS = (
    "Scale",
    "Free refusal, of decided",
    "Paid refusal, of decided",
    "Gap pp, of decided",
)


def steer_summary(folder: Path) -> list[str]:
    """What ``probe steer`` prints at its end: per configuration its heading and its rows
    (refusal of decided per tier, the gap, the AF column in use), where the table and the
    figures are, and the model's markers; nothing when the folder has no ``steer.csv``."""
    if not (folder / STEER_FILE).is_file():
        return []
    steerings = read_steering(folder)
    lines = list(dict.fromkeys(m for steering in steerings for m in steering.markers))
    for steering in steerings:
        table = steer_table(steering.curve)
        columns = [c for c in table.columns if _summary_column(c)]
        if steering.af_source != "judge":
            columns = [c for c in columns if " AF, " not in c]
        lines += [steering.heading, table[columns].to_string(index=False)]
    figures = ", ".join(f"{name}.png" for name in figure_names(steerings, "steer"))
    lines.append(
        f"steering: {folder / STEER_FILE} (figures in {folder}: {figures}); "
        f"aflab report {folder} adds them, and the steered runs, to a report"
    )
    return lines


def _summary_column(column: str) -> bool:
    return column.split(" [")[0] in SUMMARY_COLUMNS or " AF, " in column or "rule, " in column


def write_steer(runs: Sequence[SteerRun], folder: Path, figures: Path) -> ReportPart:
    """Write the figures of the steering folders (``figures/steer_<i>_<j>``) and
    ``folder/steer.md``; return what each figure drew and the page's section (empty, and no
    Markdown, when there is no steering folder)."""
    markdown = folder / MARKDOWN_FILE
    if not runs:
        markdown.unlink(missing_ok=True)  # no stale table of an earlier build
        return ReportPart({}, "")
    drawn: dict[str, dict[str, Any]] = {}
    named: list[list[tuple[str, Steering, pd.DataFrame]]] = []
    for i, run in enumerate(runs):
        stems = [f"steer_{i}_{j}" for j in range(len(run.steerings))]
        with matplotlib.rc_context(RC):
            for stem, steering in zip(stems, run.steerings, strict=True):
                drawn[stem] = save_figure(figures, stem, *steer_figure(steering))
        tables = [steer_table(steering.curve) for steering in run.steerings]
        named.append(list(zip(stems, run.steerings, tables, strict=True)))
    folders = [run.folder for run in runs]
    relative = figures.relative_to(folder)
    markdown.write_text(render_markdown(folders, named, relative), encoding="utf-8")
    return ReportPart(drawn, section_html(folders, named, figures))


def section_html(
    folders: Sequence[Path],
    named: Sequence[Sequence[tuple[str, Steering, pd.DataFrame]]],
    figures: Path,
) -> str:
    """The page's "Steering" section; every piece of text in it is escaped."""
    parts = ["<h2>Steering</h2>", f'<p class="note">{escape(EXPLAIN)}</p>']
    for steer_folder, configurations in zip(folders, named, strict=True):
        parts.append(f"<h3>{escape(str(steer_folder))}</h3>")
        if not configurations:
            parts.append(f'<p class="note">{escape(NOTHING)}</p>')
        for stem, steering, table in configurations:
            parts += [
                f"<h4>{escape(steering.heading)}</h4>",
                *(f'<p class="caveat">{escape(marker)}</p>' for marker in steering.markers),
                figures_html([figures / f"{stem}.png"], {stem: steering.title}),
                frame_table(table, NOTHING, stem.replace("_", "-")),
            ]
    return "\n".join(parts)


def render_markdown(
    folders: Sequence[Path],
    named: Sequence[Sequence[tuple[str, Steering, pd.DataFrame]]],
    figures: Path,
) -> str:
    """``steer.md``: per steering folder and configuration its markers, figure (``figures``:
    relative to the file) and table."""
    parts = ["# aflab report: steering", inline(EXPLAIN)]
    for steer_folder, configurations in zip(folders, named, strict=True):
        parts += [f"## {inline(steer_folder)}", f"Folder: {code_span(str(steer_folder))}"]
        if not configurations:
            parts.append(NOTHING)
        for stem, steering, table in configurations:
            parts += [
                f"### {inline(steering.heading)}",
                *[f"> **{inline(marker)}**" for marker in steering.markers],
                f"![{inline(steering.heading)}]({figures.as_posix()}/{stem}.png)",
                f"AF: {inline(steering.af_label)}.",
                markdown_table(table),
            ]
    return "\n\n".join(parts) + "\n"
