"""Ctrl-C and SIGTERM: a verb stops promptly, its log marked cancelled, and says how to resume.

On a first Ctrl-C Inspect cancels the running samples and writes the log with status
"cancelled", keeping every finished sample (so ``eval_retry`` completes it without repeating
one). It then returns no log at all, or raises, depending on the display; :func:`run_eval`
turns each of those into :class:`Interrupted`, which names the log. SIGTERM (``kill``,
``timeout``, a batch scheduler) would end the process at once and leave the log "started";
the CLI handles it as a first Ctrl-C instead.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

from aflab.llm.retries import retry_notices

if TYPE_CHECKING:  # the CLI imports this module; Inspect loads only when a verb runs
    from inspect_ai.log import EvalLog

T = TypeVar("T")

_sigterm_received = False


class Interrupted(Exception):
    """An eval stopped by SIGINT or SIGTERM; ``log_path`` is its log, when one was written."""

    def __init__(self, signum: int, log_path: Path | None) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum
        self.log_path = log_path

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        # The shell's convention for a process ended by a signal: 130 for SIGINT, 143 for SIGTERM.
        return 128 + self.signum

    @property
    def headline(self) -> str:
        return f"interrupted ({self.signal_name})"

    def read_log(self) -> EvalLog | None:
        from inspect_ai.log import read_eval_log

        return read_eval_log(str(self.log_path)) if self.log_path else None


class OverBudget(Interrupted):
    """A run stopped because its measured spend passed ``--max-cost``: exit status 3."""

    def __init__(
        self, log_path: Path | None, spent: float, limit: float, unpriced: str | None = None
    ) -> None:
        super().__init__(signal.SIGINT, log_path)
        self.spent = spent
        self.limit = limit
        self.unpriced = unpriced

    @property
    def exit_code(self) -> int:
        return 3

    @property
    def headline(self) -> str:
        spent, limit = f"${self.spent:.2f}", f"${self.limit:.2f}"
        if self.unpriced:
            return (
                f"stopped: {self.unpriced} has no price, so --max-cost {limit} cannot hold "
                f"(spent {spent}; --prices FILE adds one)"
            )
        return f"stopped: the measured spend, {spent}, passed --max-cost {limit}"


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While a verb runs, SIGTERM stops it as a first Ctrl-C does."""
    global _sigterm_received
    _sigterm_received = False  # from an earlier verb run in this process
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    global _sigterm_received
    _sigterm_received = True
    # Inside an eval this is asyncio's handler, which cancels the eval so that Inspect writes
    # the log as cancelled (a second signal raises at once); elsewhere it is Python's, which
    # raises KeyboardInterrupt.
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signal.SIGINT, frame)
    else:
        raise KeyboardInterrupt


def received_signal() -> int:
    """The signal that stopped the process: SIGTERM if one arrived, else Ctrl-C's SIGINT."""
    return signal.SIGTERM if _sigterm_received else signal.SIGINT


def run_eval(
    start: Callable[[], list[EvalLog]], log_dir: str, display: str | None = None
) -> EvalLog:
    """Run ``start`` (one Inspect eval) with retry notices shown; its log, or
    :class:`Interrupted` naming the cancelled log when a signal stopped it."""
    before = _log_files(log_dir)
    logs = interruptible(start, display) or []
    if logs and logs[0].status != "cancelled":
        return logs[0]
    found = Path(logs[0].location) if logs else _newest(_log_files(log_dir) - before)
    raise Interrupted(received_signal(), found)


def interruptible(start: Callable[[], T], display: str | None = None) -> T | None:
    """``start()`` with retry notices shown, progress lines where Inspect's display shows none,
    and Inspect's batch status only when it changes; None if it raised for a signal (a second
    one, or the full-screen display's Ctrl-C), which leaves the caller to find what it wrote."""
    from aflab.pipelines.progress import batch_status, progress_lines  # loads Inspect

    try:
        with retry_notices(display), progress_lines(display), batch_status(display):
            return start()
    except (KeyboardInterrupt, asyncio.CancelledError):
        return None


def _log_files(log_dir: str) -> set[Path]:
    folder = Path(log_dir)
    return {*folder.glob("*.eval"), *folder.glob("*.json")} if folder.is_dir() else set()


def _newest(paths: set[Path]) -> Path | None:
    return max(paths, key=lambda p: p.stat().st_mtime, default=None)


def finished_samples(log: EvalLog) -> EvalLog:
    """The log with only its finished samples: those cancelled mid-flight carry an error and
    run again on resume, so they are not results yet."""
    return log.model_copy(update={"samples": [s for s in log.samples or [] if s.error is None]})


def progress_line(stop: Interrupted, log: EvalLog | None) -> str:
    """``interrupted (SIGINT): 12 of 20 samples finished; the log, marked cancelled, keeps them``"""
    head = stop.headline
    if log is None:
        return f"{head} before a log was written"
    done = sum(1 for s in log.samples or [] if s.error is None)
    total = (log.results.total_samples if log.results else 0) or _planned(log)
    return f"{head}: {done} of {total} samples finished; the log, marked {log.status}, keeps them"


def _planned(log: EvalLog) -> int:
    samples = log.eval.dataset.samples or 0
    return samples * (log.eval.config.epochs or 1)


def echo_interrupted(
    stop: Interrupted,
    echo: Callable[[str], Any],
    table: Callable[[EvalLog], str] | None = None,
    resume: str | None = None,
) -> None:
    """What finished and the command that completes the run.

    Args:
        stop: the interruption, with the log it left (if any).
        echo: where the lines go.
        table: renders the finished samples of that log (None: no table).
        resume: the command that resumes (default: ``aflab run --resume LOG``).
    """
    log = stop.read_log()
    echo("")
    echo(progress_line(stop, log))
    if log is not None and table is not None:
        echo(table(finished_samples(log)))
    if log is not None:
        echo(f"resume with: {resume or f'aflab run --resume {stop.log_path}'}")
        echo(f"log: {stop.log_path}")
