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
from aflab.report.html import figures_html, frame_table
from aflab.report.markdown import code_span, inline
from aflab.report.markers import TITLE_WIDTH, run_markers, title_lines
from aflab.report.plot import RC, TIER_LABELS, TIER_MARKS, save_figure
from aflab.report.tables import percent

MARKDOWN_FILE = "rl_curve.md"
# What the figure and the table read; a CSV without one of them is not a curve aflab wrote.
RATES = [
    f"{tier}_{rate}{bound}"
    for tier in TIERS
    for rate in ("refusal", "refusal_all", "af")
    for bound in ("", "_lo", "_hi")
]
COLUMNS = ["step", "rule", *RATES, "gap_pp", "gap_lo_pp", "gap_hi_pp", "gap_pairs"]
COLUMNS += ["reward_mean", "kl"]
# Optional (curves written before the rule column existed lack them).
RULE_COLUMNS = [f"{tier}_af_rule{bound}" for tier in TIERS for bound in ("", "_lo", "_hi")]
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
    for tier, name in TIER_LABELS.items():
        colour, marker = TIER_MARKS[tier]
        for suffix, style in (("", "-"), ("_all", "--")):
            rates = curve[f"{tier}_refusal{suffix}"]
            drawn[f"{tier}_refusal{suffix}"] = _percent(rates)
            refusal.plot(
                steps,
                100 * rates,
                style,
                marker=marker,
                color=colour,
                label=f"{name}, {'of all (paper)' if suffix else 'of decided'}",
            )
            refusal.fill_between(
                steps,
                100 * curve[f"{tier}_refusal{suffix}_lo"],
                100 * curve[f"{tier}_refusal{suffix}_hi"],
                color=colour,
                alpha=0.12,
            )
        key = af_key(curve, tier)
        rates = curve[key]
        drawn[f"{tier}_af"] = _percent(rates)
        if rates.notna().any():
            label = name if key.endswith("_af") else f"{name}, scratchpad rule (no judge)"
            af.plot(steps, 100 * rates, "-", marker=marker, color=colour, label=label)
            af.fill_between(
                steps, 100 * curve[f"{key}_lo"], 100 * curve[f"{key}_hi"], color=colour, alpha=0.12
            )
    refusal.set_ylabel("refusal (%)")
    refusal.set_ylim(-2, 102)
    refusal.set_title(title)
    refusal.legend(fontsize=8, ncol=2)
    af.set_ylabel("alignment faking (%)")
    af.set_ylim(-2, 102)
    af.set_xlabel("RL step")
    if not af.get_legend_handles_labels()[0]:
        af.text(
            0.5,
            0.5,
            "no AF judge measured the checkpoints",
            ha="center",
            transform=af.transAxes,
            color="#666666",
        )
    else:
        af.legend(fontsize=8)
    return fig, drawn


def af_key(curve: pd.DataFrame, tier: str) -> str:
    """The AF judge's column when it measured the checkpoints, else the transparent scratchpad
    rule's (``{tier}_af_rule``: scratchpads naming training, modification and values, a share
    of all samples), when the curve has it."""
    judged, rule = f"{tier}_af", f"{tier}_af_rule"
    if curve[judged].notna().any() or rule not in curve or not curve[rule].notna().any():
        return judged
    return rule


def read_curve(path: Path) -> pd.DataFrame:
    """The rows of ``path`` by step; a UsageError names a file that is not a curve aflab wrote."""
    try:
        curve = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError) as error:  # pandas' parser errors are ValueErrors
        raise UsageError(f"{path}: not an RL curve aflab wrote ({error})") from error
    missing = [column for column in COLUMNS if column not in curve.columns]
    if missing:
        raise UsageError(f"{path}: not an RL curve aflab wrote (no {', '.join(missing)})")
    numeric = [column for column in COLUMNS if column != "rule"]
    numeric += [column for column in RULE_COLUMNS if column in curve.columns]
    try:
        curve[numeric] = curve[numeric].apply(pd.to_numeric)
    except ValueError as error:
        raise UsageError(f"{path}: not an RL curve aflab wrote ({error})") from error
    if curve["step"].isna().any():
        raise UsageError(f"{path}: not an RL curve aflab wrote (a row without its step)")
    return curve.sort_values("step", kind="stable").reset_index(drop=True)


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
    found: dict[Path, Path] = {}
    for path in map(Path, paths):
        if path.is_dir():
            for curve in sorted(path.rglob(RL_CURVE_FILE)):
                if curve.is_file():
                    found.setdefault(curve.parent.resolve(), curve.parent)
    return list(found.values())


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
        value = {key: None if pd.isna(v) else v for key, v in row.items()}
        cells: dict[str, Any] = {"Step": int(row["step"]), "Rule": value["rule"]}
        for tier in TIERS:
            for suffix, convention in (("", "of decided"), ("_all", "of all (paper)")):
                key = f"{tier}_refusal{suffix}"
                cells[f"{tier.title()} refusal, {convention} [95% CI]"] = _rate(value, key)
        cells["Gap pp, of decided [95% CI]"] = _gap(value)
        for tier in TIERS:
            cells[f"{tier.title()} AF, of judged [95% CI]"] = _rate(value, f"{tier}_af")
        if all(value.get(f"{tier}_af") is None for tier in TIERS):
            for tier in TIERS:
                key = f"{tier}_af_rule"
                rule = _rate(value, key) if value.get(key) is not None else "n/a"
                cells[f"{tier.title()} scratchpad rule, of all [95% CI]"] = rule
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


def _rate(row: dict[str, Any], key: str) -> str:
    return percent(row[key], [row[f"{key}_lo"], row[f"{key}_hi"]], "n/a").strip()


def _gap(row: dict[str, Any]) -> str:
    pp, lo, hi, pairs = (row[f"gap_{key}"] for key in ("pp", "lo_pp", "hi_pp", "pairs"))
    if pp is None:
        return "n/a (no query valid in both tiers)"
    # The interval is known whenever the gap is (core.stats); a row edited by hand may lack it.
    interval = "" if lo is None or hi is None else f" [{lo:+.1f}, {hi:+.1f}]"
    return f"{pp:+.1f}{interval} ({int(pairs or 0)} pairs)"


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


def markdown_table(table: pd.DataFrame) -> str:
    """``table`` as a Markdown (pipe) table, every cell escaped."""
    lines = [
        "| " + " | ".join(inline(column) for column in table.columns) + " |",
        "|" + "|".join("---" for _ in table.columns) + "|",
    ]
    lines += ["| " + " | ".join(inline(v) for v in row) + " |" for row in table.itertuples(False)]
    return "\n".join(lines)


def _percent(rates: pd.Series) -> list[float | None]:
    return [None if pd.isna(r) else 100 * float(r) for r in rates]
