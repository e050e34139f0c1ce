"""What the report's figures share: matplotlib settings, tier colours and the helpers that lay out,
draw and save a figure (``figures``, ``sweep`` and ``antilab`` draw with them)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

# Titles and labels carry user text (variations, file names): a "$" must not start mathtext.
RC: dict[RcKeyType, Any] = {
    "font.size": 10,
    "axes.titlesize": 11,
    "legend.fontsize": 9,
    "text.parse_math": False,
}
TIER_LABELS = {"free": "training (free)", "paid": "unmonitored (paid)"}
# Okabe-Ito colours, with a marker each so that the tiers stay apart in greyscale too.
TIER_MARKS = {"free": ("#D55E00", "o"), "paid": ("#0072B2", "s")}
# A value printed just above its point: pass with xytext=(0, 7) to Axes.annotate.
ABOVE: dict[str, Any] = {"textcoords": "offset points", "ha": "center", "fontsize": 9}


def save_figure(folder: Path, name: str, fig: Figure, data: dict[str, Any]) -> dict[str, Any]:
    """Write ``fig`` as ``name.png`` and ``name.svg`` in ``folder``; return ``data`` (what it drew).

    A bare Figure renders through Agg (PNG) or the SVG backend without pyplot: no GUI, no global
    backend switch in the caller's process, and nothing kept alive once it goes out of scope.
    """
    for ext in ("png", "svg"):
        fig.savefig(folder / f"{name}.{ext}", dpi=150, bbox_inches="tight")
    return data


def per_run_axes(title: str, ticks: list[str], height: float) -> tuple[Figure, Axes]:
    """A figure with one row per run, labelled ``ticks``, the first on top.

    Args:
        title: The figure's title.
        ticks: One label per row.
        height: Inches per row, added to a fixed margin.
    """
    fig = Figure(figsize=(7.5, 1.3 + height * len(ticks)), layout="constrained")
    ax = fig.add_subplot()
    ax.set_yticks(range(len(ticks)), ticks)
    ax.set_ylim(len(ticks) - 0.4, -0.6)  # first run on top
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    return fig, ax


def draw_interval(
    ax: Axes, y: float, x: float, lo: float | None, hi: float | None, **kw: Any
) -> None:
    """A point at ``(x, y)`` with a horizontal error bar from ``lo`` to ``hi`` (none when either is
    unknown); ``kw`` goes to ``Axes.errorbar``."""
    # Clipped at 0: a Wilson bound can sit a rounding error past its point (5e-17 above 0).
    err = None if lo is None or hi is None else [[max(x - lo, 0)], [max(hi - x, 0)]]
    ax.errorbar(x, y, xerr=err, **kw)
