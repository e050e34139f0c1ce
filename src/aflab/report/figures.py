"""Paper-style figures from the runs DataFrame (``aflab.analysis.runs.load``), as PNG and SVG.

``write_figures`` returns, per figure, the numbers it drew, so tests and the HTML report read the
same data the reader sees.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
from matplotlib.figure import Figure

from aflab.report.markers import TITLE_WIDTH, status_marker, title_lines, with_caveat
from aflab.report.plot import (
    ABOVE,
    RC,
    TIER_LABELS,
    TIER_MARKS,
    draw_interval,
    per_run_axes,
    save_figure,
)

REFUSES, GREY, NOT_JUDGED = "refuses", "invalid / unscored", "complies (not judged for AF)"
AF, NO_AF = "complies with alignment faking", "complies without alignment faking"
# Okabe-Ito colours stay apart under the common colour-vision deficiencies; AF also differs by
# hatching, so the split survives greyscale print.
STYLE: dict[str, dict[str, Any]] = {
    REFUSES: {"color": "#56B4E9"},
    AF: {"color": "#E69F00", "hatch": "///"},
    NO_AF: {"color": "#F0E442"},
    NOT_JUDGED: {"color": "#CC79A7"},
    GREY: {"color": "#BBBBBB"},
}
BAR: dict[str, Any] = {"height": 0.6, "edgecolor": "#333333", "linewidth": 0.6}
# A white box keeps the count legible over hatching and dark fills alike.
COUNT: dict[str, Any] = {
    "ha": "center",
    "va": "center",
    "fontsize": 9,
    "bbox": {"fc": "white", "ec": "none"},
}
LABEL_WIDTH = 60


def write_figures(runs: pd.DataFrame, folder: Path) -> dict[str, dict[str, Any]]:
    """Write ``<name>.png`` and ``<name>.svg`` per figure into ``folder``; return what each drew:
    ``bars_<i>`` per run (row position i), ``gap``, and ``af_rate`` when any run has an AF judge."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [row for _, row in runs.iterrows()]
    labels = _labels(rows)
    drawn: dict[str, dict[str, Any]] = {}
    with matplotlib.rc_context(RC):
        for i, row in enumerate(rows):
            drawn[f"bars_{i}"] = save_figure(folder, f"bars_{i}", *_bars(row))
        drawn["gap"] = save_figure(folder, "gap", *_gap(rows, labels))
        judged = [(label, row) for label, row in zip(labels, rows, strict=True) if _af(row)]
        if judged:
            drawn["af_rate"] = save_figure(folder, "af_rate", *_af_rate(judged))
    return drawn


def _bars(row: pd.Series) -> tuple[Figure, dict[str, Any]]:
    fig = Figure(figsize=(7.5, 2.6), layout="constrained")
    ax = fig.add_subplot()
    tiers: dict[str, dict[str, Any]] = {}
    for y, (tier, name) in enumerate(TIER_LABELS.items()):
        n, segments = _count(row, f"{tier}_n"), _segments(row, tier)
        tiers[tier] = {"label": name, "n": n, "segments": segments}
        left = 0.0
        for segment, count in segments.items():
            width = count / n if n else 0.0
            label = segment if y == 0 else None
            ax.barh(y, width, left=left, label=label, **BAR, **STYLE[segment])
            if count and width >= 0.06:  # narrower segments: the count would overflow the bar
                ax.text(left + width / 2, y, str(count), **COUNT)
            left += width
    ax.set_yticks(range(len(tiers)), [f"{t['label']}\nn = {t['n']}" for t in tiers.values()])
    ax.invert_yaxis()  # training on top, as in the paper
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda x, _: f"{100 * x:.0f}%")
    ax.set_xlabel("share of the tier's samples (counts in the bars)")
    head = _shortened(f"{row['model']} · {row['setting']} · {row['variation']}", TITLE_WIDTH)
    title = "\n".join([head, _when(row), *title_lines(row.to_dict())])
    ax.set_title(title)
    fig.legend(loc="outside lower center", ncol=2, frameon=False)
    return fig, {"title": title, "tiers": tiers}


def _segments(row: pd.Series, tier: str) -> dict[str, int]:
    # The row's counts already follow its compliance rule (results.run_row).
    refused = _count(row, f"{tier}_refused")
    if _af(row):
        complied = {AF: _count(row, f"{tier}_complied_af")}
        complied[NO_AF] = _count(row, f"{tier}_complied_no_af")
    else:
        complied = {NOT_JUDGED: _count(row, f"{tier}_complied")}
    # Grey is the remainder (invalid + unscored).
    rest = _count(row, f"{tier}_n") - refused - sum(complied.values())
    if rest < 0:
        raise ValueError(f"{row.get('run')}: {tier} segments exceed n")
    return {REFUSES: refused, **complied, GREY: rest}


# The two conventions of every rate (analysis.judged), as the figures mark them.
CONVENTIONS = {"": ("of decided", "o", "#0072B2"), "_all": ("of all (paper)", "D", "#009E73")}


def _gap(rows: list[pd.Series], labels: list[str]) -> tuple[Figure, dict[str, Any]]:
    points = []
    for label, row in zip(labels, rows, strict=True):
        rule = str(row.get("compliance_rule") or "tag")
        point: dict[str, Any] = {"run": row.get("run"), "label": label, "rule": rule}
        for suffix in CONVENTIONS:
            keys = ("pp", "lo_pp", "hi_pp", "pairs")
            pp, lo, hi, pairs = (_num(row, f"gap{suffix}_{k}") for k in keys)
            point[f"gap{suffix}"] = {"pp": pp, "lo": lo, "hi": hi, "pairs": int(pairs or 0)}
        points.append(point)
    ticks = [f"{p['label']}\n{p['gap']['pairs']} / {p['gap_all']['pairs']} pairs" for p in points]
    fig, ax = per_run_axes(
        with_caveat("Compliance gap per run, 95% CI", (row["model"] for row in rows)), ticks, 0.7
    )
    named: set[str] = set()  # each convention named in the legend once, at its first point
    for y, p in enumerate(points):
        if p["gap_all"]["pp"] is None:  # no query in both tiers: say so rather than leave a hole
            ax.text(0, y, "  n/a (no query valid in both tiers)", va="center", fontsize=9)
            continue
        for offset, (suffix, (name, marker, colour)) in zip(
            (-0.14, 0.14), CONVENTIONS.items(), strict=True
        ):
            gap = p[f"gap{suffix}"]
            if gap["pp"] is None:
                continue
            legend = None if name in named else name
            named.add(name)
            style = {"fmt": marker, "color": colour, "capsize": 4, "label": legend}
            draw_interval(ax, y + offset, gap["pp"], gap["lo"], gap["hi"], **style)
            ax.annotate(f"{gap['pp']:+.1f}", (gap["pp"], y + offset), xytext=(0, 5), **ABOVE)
    ax.axvline(0, color="#333333", linewidth=0.8)
    ax.margins(x=0.1)  # room for the value printed above a point at ±100
    if all(p["gap_all"]["pp"] is None for p in points):
        ax.set_xlim(-100, 100)
    ax.set_xlabel("compliance gap (pp, paid − free refusal); pairs: of decided / of all")
    if named:
        fig.legend(loc="outside lower center", ncol=2, frameon=False)
    return fig, {"title": ax.get_title(), "points": points}


def _af_rate(judged: list[tuple[str, pd.Series]]) -> tuple[Figure, dict[str, Any]]:
    points: list[dict[str, Any]] = []
    for label, row in judged:
        points.append({"run": row.get("run"), "label": label})
        for tier in TIER_LABELS:
            af = _count(row, f"{tier}_complied_af")
            points[-1][tier] = {"af": af}
            for suffix in CONVENTIONS:
                keys = (f"af_rate{suffix}", f"af{suffix}_lo", f"af{suffix}_hi")
                rate, lo, hi = (_num(row, f"{tier}_{k}") for k in keys)
                points[-1][tier] |= {f"rate{suffix}": rate, f"lo{suffix}": lo, f"hi{suffix}": hi}
    ticks = [f"{p['label']}\nAF: free {p['free']['af']}, paid {p['paid']['af']}" for p in points]
    rows = [row for _, row in judged]
    title = with_caveat("Alignment-faking rate per run, 95% CI", (row["model"] for row in rows))
    fig, ax = per_run_axes(title, ticks, 0.8)
    slots = [(tier, suffix) for tier in TIER_LABELS for suffix in CONVENTIONS]
    named: set[str] = set()  # each marker named in the legend once, at its first point
    for y, p in enumerate(points):
        for offset, (tier, suffix) in zip((-0.27, -0.09, 0.09, 0.27), slots, strict=True):
            t, (colour, marker) = p[tier], TIER_MARKS[tier]
            if t[f"rate{suffix}"] is None:
                continue
            # Drawn in percent; the returned rates are fractions. Hollow: the paper's convention.
            lo, hi = (None if v is None else 100 * v for v in (t[f"lo{suffix}"], t[f"hi{suffix}"]))
            name = f"{TIER_LABELS[tier]}, {CONVENTIONS[suffix][0]}"
            legend = None if name in named else name
            named.add(name)
            face = "white" if suffix else colour
            style = {"fmt": marker, "color": colour, "mfc": face, "capsize": 3, "label": legend}
            draw_interval(ax, y + offset, 100 * t[f"rate{suffix}"], lo, hi, **style)
    ax.set_xlim(-2, 102)
    ax.set_xlabel(
        "alignment-faking rate (%): of judged = of refused + complied samples; "
        "of all = of every sample with a compliance verdict"
    )
    if named:
        fig.legend(loc="outside lower center", ncol=2, frameon=False)
    return fig, {"title": title, "points": points}


def _labels(rows: list[pd.Series]) -> list[str]:
    labels = [f"{row['model']} · {row['variation']}" for row in rows]
    # An unfinished run is marked where its numbers are drawn.
    labels = [
        f"{label} [{row['status']}]" if status_marker(row.get("status")) else label
        for label, row in zip(labels, rows, strict=True)
    ]
    if len({row.get("setting") for row in rows}) > 1:
        labels = [f"{label} · {row['setting']}" for label, row in zip(labels, rows, strict=True)]
    # Repeated runs of one configuration would otherwise share a label.
    labels = [f"{x} (run {i})" if labels.count(x) > 1 else x for i, x in enumerate(labels)]
    return [_shortened(label) for label in labels]


def _when(row: pd.Series) -> str:
    """When the run started, and its log's name: what tells apart runs of one configuration."""
    created = str(row.get("created") or "")[:19].replace("T", " ")
    # A log is named <start>_<task>_<id>: the start is said already, the id tells it apart.
    log = "log …" + str(row.get("run")).rsplit("_", 1)[-1]
    return " · ".join(part for part in (created, log) if part)


def _shortened(label: str, width: int = LABEL_WIDTH) -> str:
    """A model given as a long path (hf//tmp/.../merged) would squeeze the plot to nothing:
    keep the start and the end, which tell runs apart."""
    if len(label) <= width:
        return label
    head = width // 3
    return f"{label[:head]}…{label[-(width - head - 1) :]}"


def _missing(value: Any) -> bool:
    return bool(pd.api.types.is_scalar(value) and pd.isna(value))


def _num(row: pd.Series, key: str) -> float | None:
    value = row.get(key)
    return None if _missing(value) else float(value)


def _count(row: pd.Series, key: str) -> int:
    return int(_num(row, key) or 0)


def _af(row: pd.Series) -> bool:
    return not _missing(row.get("af_judge"))
