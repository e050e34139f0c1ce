"""The training curve of an RL run (``rl_curve.csv``): refusal per tier and the AF rate against
the step, with 95% intervals, as the paper plots its RL runs; and the report's part for the RL
folders among its paths: per folder the figure and a table of its rows, on the page and in
``rl_curve.md``.

The curve is read by its column names (``organisms.rl.curve.curve_row`` writes them), not
through that module: the report sits below the organisms (the ``layers`` import contract).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from textwrap import fill
from typing import Any

import matplotlib
import pandas as pd
from matplotlib.figure import Figure

from aflab.core.errors import UsageError
from aflab.core.types import RL_CURVE_FILE, RL_SETTINGS_FILE, TIERS
from aflab.models.embedded import EMBEDDED_MODEL, EMBEDDED_PREFIX
from aflab.report.curves import (
    MEASURED,
    RULE_COLUMNS,
    draw_af,
    draw_refusal,
    find_folders,
    markdown_table,
    measured_cells,
    plain_row,
    read_measured,
)
from aflab.report.html import figures_html, frame_table
from aflab.report.markdown import code_span, inline
from aflab.report.markers import TITLE_WIDTH, run_markers, title_lines
from aflab.report.plot import RC, save_figure

MARKDOWN_FILE = "rl_curve.md"
# What the figure and the table read; a CSV without one of them is not a curve aflab wrote.
COLUMNS = ["step", *MEASURED, "reward_mean", "kl"]
EXPLAIN = (
    "Each row is a checkpoint, measured by the ordinary pipeline on the held-out queries in both "
    "tiers; its logs are reported as runs when they lie under the paths given. Rates follow "
    "the row's rule: the compliance judge's where it ran, else the tag rule. Refusal of decided "
    "leaves invalid samples out; of all (the paper's) counts them as not complied. AF is of "
    "judged samples; with no AF judge, the scratchpad rule (naming training, modification and "
    "values) is shown, a share of all samples. The gap (paid minus free refusal) is paired on "
    "the queries valid in both tiers. Mean reward and KL: over the training steps since the "
    "previous row. 95% CIs."
)


def curve_figure(curve: pd.DataFrame, title: str) -> tuple[Figure, dict[str, Any]]:
    """Two panels sharing the step axis: refusal per tier (of decided, solid; of all, the
    paper's, dashed) and the AF rate per tier where a judge measured it."""
    fig = Figure(figsize=(7.5, 5.2), layout="constrained")
    refusal, af = fig.subplots(2, 1, sharex=True)
    steps = curve["step"].tolist()
    drawn: dict[str, Any] = {"title": title, "steps": steps}
    draw_refusal(refusal, curve, steps, drawn)
    refusal.set_title(title)
    draw_af(af, curve, steps, drawn, "no AF judge measured the checkpoints")
    af.set_xlabel("RL step")
    return fig, drawn


def read_curve(path: Path) -> pd.DataFrame:
    """The rows of ``path`` by step; a UsageError names a file that is not a curve aflab wrote."""
    numeric = [column for column in COLUMNS if column != "rule"] + RULE_COLUMNS
    return read_measured(path, "an RL curve aflab wrote", COLUMNS, numeric, "step")


@dataclass(frozen=True)
class RLRun:
    """An RL output folder (``aflab train rl --out``) as the report reads it."""

    folder: Path
    curve: pd.DataFrame  # by step
    settings: dict[str, Any]  # aflab-rl.json: empty until the training ends, which writes it

    @property
    def model(self) -> str:
        """The base as the markers read a model name, "" while unknown. ``--base smollm2`` names
        the embedded model without its provider, which the markers need to know it."""
        options = self.settings.get("options") or {}
        base = str(options.get("base") or self.settings.get("base") or "")
        return EMBEDDED_MODEL if base == EMBEDDED_MODEL.removeprefix(EMBEDDED_PREFIX) else base

    @property
    def markers(self) -> list[str]:
        return run_markers(self._as_run())

    @property
    def title(self) -> str:
        setting = (self.settings.get("options") or {}).get("setting")
        head = " · ".join(str(part) for part in (self.model, setting) if part)
        lines = [f"RL training curve: {head}" if head else "RL training curve"]
        lines += [fill(str(self.folder), TITLE_WIDTH), *title_lines(self._as_run())]
        return "\n".join(lines)

    def _as_run(self) -> dict[str, Any]:
        # Until aflab-rl.json is written the training is running, or stopped before its end.
        return {"model": self.model, "status": "success" if self.settings else "started"}


def find_rl_folders(paths: Iterable[str | Path]) -> list[Path]:
    """Every folder under ``paths`` (to any depth, as the logs are found) that holds an
    ``rl_curve.csv``, each once, as the paths name it."""
    return find_folders(paths, RL_CURVE_FILE)


def read_rl_run(folder: Path) -> RLRun:
    """The curve of ``folder`` and its settings (none yet while the training runs)."""
    settings_file = folder / RL_SETTINGS_FILE
    settings: dict[str, Any] = {}
    if settings_file.is_file():
        try:
            settings = json.loads(settings_file.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise UsageError(f"{settings_file}: not the settings aflab wrote ({error})") from error
        if not isinstance(settings, dict):
            raise UsageError(f"{settings_file}: not the settings aflab wrote (not an object)")
    return RLRun(folder, read_curve(folder / RL_CURVE_FILE), settings)


def save_curve(run: RLRun, folder: Path, name: str) -> dict[str, Any]:
    """Draw ``run``'s curve as ``folder/name.png`` and ``.svg``; return what it drew."""
    folder.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context(RC):
        return save_figure(folder, name, *curve_figure(run.curve, run.title))


def curve_table(curve: pd.DataFrame) -> pd.DataFrame:
    """The rows as a reader reads them: each rate in percent with its interval."""
    rows = []
    for row in curve.to_dict("records"):
        value = plain_row(row)
        cells: dict[str, Any] = {"Step": int(row["step"]), "Rule": value["rule"]}
        cells |= measured_cells(value)
        reward, kl = value["reward_mean"], value["kl"]
        cells["Mean reward"] = "n/a" if reward is None else f"{reward:.3f}"
        cells["KL"] = "n/a" if kl is None else f"{kl:.3g}"
        rows.append(cells)
    return pd.DataFrame(rows)


SUMMARY_COLUMNS = (
    "Step",
    "Free refusal, of decided",
    "Paid refusal, of decided",
    "Gap pp, of decided",
)


def curve_summary(folder: Path) -> list[str]:
    """What ``train rl`` prints at its end: the curve's rows (refusal of decided per tier, the
    gap, the AF column in use, mean reward), where the curve and its figure are, and the run's
    markers; nothing when no checkpoint was measured."""
    if not (folder / RL_CURVE_FILE).is_file():
        return []
    run = read_rl_run(folder)
    table = curve_table(run.curve)
    columns = [c for c in table.columns if c.split(" [")[0] in SUMMARY_COLUMNS]
    columns += [c for c in table.columns if " AF, " in c or "scratchpad rule" in c]
    if all(run.curve[f"{tier}_af"].isna().all() for tier in TIERS):
        columns = [c for c in columns if " AF, " not in c]
    columns.append("Mean reward")
    return [
        *run.markers,
        table[columns].to_string(index=False),
        f"curve: {folder / RL_CURVE_FILE} (figure {folder / 'rl_curve.png'}); "
        f"aflab report {folder} adds the measured checkpoints' runs",
    ]


@dataclass
class RLReport:
    drawn: dict[str, dict[str, Any]]
    html: str  # "" when no RL folder is among the paths


def write_rl(runs: Sequence[RLRun], folder: Path, figures: Path) -> RLReport:
    """Write ``figures/rl_curve_<i>.png|svg`` and ``folder/rl_curve.md`` for ``runs``; return
    what each figure drew and the page's section (empty, and no Markdown, when there is none)."""
    markdown = folder / MARKDOWN_FILE
    if not runs:
        markdown.unlink(missing_ok=True)  # no stale table of an earlier build
        return RLReport({}, "")
    drawn = {
        f"rl_curve_{i}": save_curve(run, figures, f"rl_curve_{i}") for i, run in enumerate(runs)
    }
    tables = [curve_table(run.curve) for run in runs]
    markdown.write_text(
        render_markdown(runs, tables, figures.relative_to(folder)), encoding="utf-8"
    )
    return RLReport(drawn, section_html(runs, tables, figures))


def section_html(runs: Sequence[RLRun], tables: Sequence[pd.DataFrame], figures: Path) -> str:
    """The page's "RL training curves" section; every piece of text in it is escaped."""
    parts = ["<h2>RL training curves</h2>", f'<p class="note">{escape(EXPLAIN)}</p>']
    for i, (run, table) in enumerate(zip(runs, tables, strict=True)):
        name = f"rl_curve_{i}"
        parts += [
            f"<h3>{escape(str(run.folder))}</h3>",
            *(f'<p class="caveat">{escape(marker)}</p>' for marker in run.markers),
            figures_html([figures / f"{name}.png"], {name: run.title}),
            frame_table(table, "No checkpoint measured yet.", f"rl-curve-{i}"),
        ]
    return "\n".join(parts)


def render_markdown(runs: Sequence[RLRun], tables: Sequence[pd.DataFrame], figures: Path) -> str:
    """``rl_curve.md``: per RL folder its markers, figure (``figures``: relative to the file)
    and table."""
    parts = ["# aflab report: RL training curves", inline(EXPLAIN)]
    for i, (run, table) in enumerate(zip(runs, tables, strict=True)):
        title = run.title.splitlines()[0]
        parts += [
            f"## {inline(title)}",
            f"Folder: {code_span(str(run.folder))}",
            *[f"> **{inline(marker)}**" for marker in run.markers],
            f"![{inline(title)}]({figures.as_posix()}/rl_curve_{i}.png)",
            markdown_table(table),
        ]
    return "\n\n".join(parts) + "\n"
