"""Plain progress lines where the output is not a terminal (CI, ``| tee``, nohup).

Off a terminal, Inspect's default display (full, or rich) draws nothing until the eval ends: a
run of hours printed nothing for hours. There every verb prints a line every
``AFLAB_PROGRESS_SECONDS`` seconds (default 30) and one at the end: samples finished of those
planned, their rate, the model calls, retries and failed samples so far, and the time elapsed.
Inspect's hooks count them. Where Inspect prints progress itself (``--display plain`` or
``log``) or was asked for silence (``none``), nothing is added.

In batch mode Inspect also prints the state of its batches at every poll, whatever the display;
:func:`batch_status` prints it only when it changes.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from inspect_ai.hooks import (
    Hooks,
    ModelCacheUsageData,
    ModelRetry,
    ModelUsageData,
    SampleEnd,
    TaskStart,
    hooks,
)

from aflab.core.errors import UsageError

INTERVAL_VARIABLE = "AFLAB_PROGRESS_SECONDS"
DEFAULT_INTERVAL = 30.0
# The displays that show no progress off a terminal (full falls back to rich there).
SILENT_OFF_TERMINAL = ("full", "rich", "conversation")


@dataclass
class Tally:
    """What finished since the verb started Inspect. ``planned`` grows as each task starts."""

    started: float = field(default_factory=time.monotonic)
    planned: int = 0
    samples: int = 0
    failed: int = 0
    calls: int = 0
    retries: int = 0


def progress_line(tally: Tally, now: float) -> str:
    """``progress: 12 of 84 samples (1.6 a minute), 37 model calls, 0 retries, 0 failed;
    7 min 30 s elapsed`` (no samples while a log is rescored: only its judges' calls)."""
    elapsed = max(now - tally.started, 0.0)
    parts = []
    if tally.planned:
        rate = tally.samples / (elapsed / 60) if elapsed > 0 else 0.0
        parts.append(f"{tally.samples} of {tally.planned} samples ({rate:.1f} a minute)")
    parts += [
        f"{tally.calls} model call{'' if tally.calls == 1 else 's'}",
        f"{tally.retries} retr{'y' if tally.retries == 1 else 'ies'}",
        f"{tally.failed} failed",
    ]
    return f"progress: {', '.join(parts)}; {clock(elapsed)} elapsed"


def clock(seconds: float) -> str:
    """``45 s``, ``7 min 30 s``, ``2 h 5 min``."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


_tally: Tally | None = None
_lock = threading.Lock()


class ProgressHooks(Hooks):
    """Counts for :func:`progress_lines`; enabled only while it runs."""

    def enabled(self) -> bool:
        return _tally is not None

    async def on_task_start(self, data: TaskStart) -> None:
        samples = data.spec.dataset.samples or 0
        _count("planned", samples * (data.spec.config.epochs or 1))

    async def on_sample_end(self, data: SampleEnd) -> None:
        _count("samples")
        if data.sample.error is not None:
            _count("failed")

    async def on_model_usage(self, data: ModelUsageData) -> None:
        _count("calls")

    async def on_model_cache_usage(self, data: ModelCacheUsageData) -> None:
        _count("calls")

    async def on_model_retry(self, data: ModelRetry) -> None:
        _count("retries")


_registered = False


def _register() -> None:
    """Register the hooks the first time they are needed. Inspect announces the hooks it finds
    when its first eval starts ("hooks enabled: ..."), even disabled ones: registered on import,
    they would be announced on every run, on a terminal too."""
    global _registered
    if not _registered:
        hooks(name="aflab_progress", description="aflab's progress lines off a terminal")(
            ProgressHooks
        )
        _registered = True


def _count(name: str, n: int = 1) -> None:
    with _lock:
        if _tally is not None:
            setattr(_tally, name, getattr(_tally, name) + n)


def shows_no_progress(display: str | None) -> bool:
    """Whether Inspect's display shows nothing until the end: off a terminal, unless the display
    is one that prints lines (plain, log) or none was asked for."""
    chosen = display or os.environ.get("INSPECT_DISPLAY", "full").lower().strip()
    return chosen in SILENT_OFF_TERMINAL and not sys.stdout.isatty()


def interval() -> float:
    """Seconds between lines: ``AFLAB_PROGRESS_SECONDS``, or 30."""
    value = os.environ.get(INTERVAL_VARIABLE)
    if not value:
        return DEFAULT_INTERVAL
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise UsageError(f"{INTERVAL_VARIABLE}={value!r}: expected a number of seconds above 0")
    return seconds


@contextmanager
def progress_lines(display: str | None, echo: Callable[[str], Any] | None = None) -> Iterator[None]:
    """While an eval runs, a progress line every :func:`interval` seconds and one at the end,
    where Inspect's display shows none (:func:`shows_no_progress`)."""
    global _tally
    if not shows_no_progress(display) or _tally is not None:
        yield
        return
    say = echo or (lambda line: print(line, flush=True))
    # Inspect's rich display ends its results with a line of padding and no newline.
    last = echo or (lambda line: print(f"\n{line}", flush=True))
    every = interval()
    _register()
    stop = threading.Event()
    with _lock:
        _tally = tally = Tally()

    def tick() -> None:
        while not stop.wait(every):
            say(_snapshot(tally))

    printer = threading.Thread(target=tick, name="aflab-progress", daemon=True)
    printer.start()
    try:
        yield
    finally:
        stop.set()
        printer.join()
        with _lock:
            _tally = None
        last(_snapshot(tally))


def _snapshot(tally: Tally) -> str:
    with _lock:
        return progress_line(tally, time.monotonic())


@contextmanager
def batch_status(display: str | None, echo: Callable[[str], Any] | None = None) -> Iterator[None]:
    """While an eval runs, Inspect's batch status only when it changes (and never under
    ``--display none``): Inspect prints it at every poll (every 15 s, on any display), so hours
    of waiting for a batch would be hundreds of identical lines. Nothing is printed while no
    batch is open: Inspect says itself when a batch is created and when it completes."""
    from inspect_ai.model._providers.util.batch_log import BatchStatus, set_batch_status_callback

    say = echo or (lambda line: print(line, flush=True))
    last: list[tuple[int, int, int, int]] = []

    def changed(status: BatchStatus) -> None:
        counts = (
            status.batch_count,
            status.pending_requests,
            status.completed_requests,
            status.failed_requests,
        )
        if display == "none" or not status.batch_count or counts in last:
            return
        last[:] = [counts]
        say(batch_line(status, time.time()))

    set_batch_status_callback(changed)
    try:
        yield
    finally:
        set_batch_status_callback(None)


def batch_line(status: Any, now: float) -> str:
    """``batches: 2 open (150 requests waiting, 50 done, 0 failed); the oldest sent 1 h 3 min
    ago`` for Inspect's BatchStatus."""
    opened = status.oldest_created_at or now
    return (
        f"batches: {status.batch_count} open ({status.pending_requests} requests waiting, "
        f"{status.completed_requests} done, {status.failed_requests} failed); "
        f"the oldest sent {clock(now - opened)} ago"
    )
