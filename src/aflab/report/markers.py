"""What a reader must know before reading a run's numbers, said the same way in every view: the
terminal table, the Markdown report, the HTML page and the figure titles.

A run on the embedded demo model, an unfinished run and a run whose format a grammar enforced
all look like any other run in a table of rates; these markers say so beside the numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from textwrap import fill
from typing import Any

from aflab.models.embedded import is_embedded

EMBEDDED_CAVEAT = (
    "embedded 135M demo model: it shows no alignment faking; its rates say nothing about any "
    "real model"
)
TITLE_WIDTH = 80  # characters of a figure title's line that fit a figure's width
# Inspect's log status, as a reader would say it; "success" needs no marker.
STATUS = {
    "started": "unfinished: partial results",
    "cancelled": "cancelled: partial results",
    "error": "stopped by an error: partial results",
}


def status_marker(status: object) -> str | None:
    """The marker of a run's status, None for a finished run."""
    if status is None or status == "success":
        return None
    return STATUS.get(str(status), f"status {status}: partial results")


def run_markers(run: Mapping[str, Any]) -> list[str]:
    """The markers of one run (a summary or a runs-table row): its ``model``, ``status`` and
    ``format_enforced``."""
    markers = []
    if is_embedded(str(run.get("model") or "")):
        markers.append(EMBEDDED_CAVEAT)
    if status := status_marker(run.get("status")):
        markers.append(status)
    enforced = run.get("format_enforced")
    if isinstance(enforced, str) and enforced:
        markers.append(f"format enforced by {enforced}")
    return markers


def title_lines(run: Mapping[str, Any]) -> list[str]:
    """The run's markers as lines of a figure title, each wrapped to the figure's width."""
    return [fill(marker, TITLE_WIDTH) for marker in run_markers(run)]


def with_caveat(title: str, models: Iterable[object]) -> str:
    """A figure's ``title`` over several runs, with the demo-model caveat if any is on it."""
    if any(is_embedded(str(model)) for model in models):
        return f"{title}\n" + fill(f"({EMBEDDED_CAVEAT})", TITLE_WIDTH)
    return title
