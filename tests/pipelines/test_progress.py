"""Progress lines where the output is not a terminal (CI, ``| tee``, nohup)."""

import re
import sys
import time
from pathlib import Path

import pytest

from aflab.core.errors import UsageError
from aflab.pipelines import progress
from aflab.pipelines.progress import Tally, clock, interval, progress_line, shows_no_progress
from aflab.pipelines.run import execute
from aflab.spec import RunSpec
from tests.conftest import FLAKY


def test_the_line_says_samples_rate_calls_retries_failures_and_time() -> None:
    tally = Tally(started=0.0, planned=84, samples=12, failed=1, calls=37, retries=1)
    assert progress_line(tally, 450.0) == (
        "progress: 12 of 84 samples (1.6 a minute), 37 model calls, 1 retry, 1 failed; "
        "7 min 30 s elapsed"
    )
    # Rescoring a log runs no samples: its judges' calls are what progresses.
    assert progress_line(Tally(started=0.0, calls=1), 3.0) == (
        "progress: 1 model call, 0 retries, 0 failed; 3 s elapsed"
    )
    assert clock(2 * 3600 + 5 * 60 + 9) == "2 h 5 min"


def test_only_displays_silent_off_a_terminal_get_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INSPECT_DISPLAY", raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    assert shows_no_progress(None) and shows_no_progress("rich")
    # Inspect's own lines, or silence asked for.
    assert not any(shows_no_progress(d) for d in ("plain", "log", "none"))
    monkeypatch.setenv("INSPECT_DISPLAY", "none")
    assert not shows_no_progress(None)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert not shows_no_progress("full")  # on a terminal Inspect's display shows progress


def test_the_interval_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(progress.INTERVAL_VARIABLE, raising=False)
    assert interval() == 30.0
    monkeypatch.setenv(progress.INTERVAL_VARIABLE, "0.5")
    assert interval() == 0.5
    for bad in ("0", "soon"):
        monkeypatch.setenv(progress.INTERVAL_VARIABLE, bad)
        with pytest.raises(UsageError, match="AFLAB_PROGRESS_SECONDS"):
            interval()


def test_a_run_off_a_terminal_prints_periodic_lines_and_one_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("INSPECT_DISPLAY", raising=False)
    monkeypatch.setenv(progress.INTERVAL_VARIABLE, "0.05")
    FLAKY.update(fail_on=None, calls=0)
    spec = RunSpec(model="flaky/x", limit=2, log_dir=str(tmp_path), display="rich")
    execute(spec, echo=lambda _: None)
    out = capsys.readouterr().out.splitlines()
    lines = [line for line in out if line.startswith("progress:")]
    assert len(lines) >= 2, lines  # at least one while it ran, and the last
    # Before the task starts no samples are planned yet: only the calls are said.
    pattern = r"progress: (\d of 4 samples \([\d.]+ a minute\), )?\d model calls?, 0 retries"
    assert all(re.match(pattern, line) for line in lines), lines
    last = r"4 of 4 samples .* 4 model calls, 0 retries, 0 failed; \d+ s elapsed"
    assert re.search(last, lines[-1]), lines
    assert progress._tally is None  # the hooks are off again


def test_no_lines_where_inspect_prints_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(progress.INTERVAL_VARIABLE, "0.05")
    spec = RunSpec(model="flaky/x", limit=1, log_dir=str(tmp_path), display="none")
    execute(spec, echo=lambda _: None)
    assert "\nprogress:" not in capsys.readouterr().out


def test_inspect_batch_status_is_printed_only_when_it_changes() -> None:
    """Inspect reports its batches at every poll, 15 s apart, for as long as a batch takes."""
    from inspect_ai.model._providers.util.batch_log import BatchStatus, emit_batch_status

    said: list[str] = []
    sent = time.time() - 3700
    polls = [
        BatchStatus(0, 0, 0, 0, None),  # nothing open: Inspect says when a batch is created
        BatchStatus(1, 4, 0, 0, int(sent)),
        BatchStatus(1, 4, 0, 0, int(sent)),  # the same, an hour on: not said again
        BatchStatus(2, 6, 0, 0, int(sent)),
        BatchStatus(1, 2, 4, 0, int(sent)),
    ]
    with progress.batch_status("plain", said.append):
        for status in polls:
            emit_batch_status(status)
    assert said[0] == (
        "batches: 1 open (4 requests waiting, 0 done, 0 failed); the oldest sent 1 h 1 min ago"
    )
    assert len(said) == 3 and said[2].startswith("batches: 1 open (2 requests waiting, 4 done")
    quiet: list[str] = []
    with progress.batch_status("none", quiet.append):
        emit_batch_status(polls[1])
    assert quiet == []
