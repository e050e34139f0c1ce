"""Reading the Inspect logs a user names (``summary``, ``rescore``, ``report``, ``--resume``).

A truncated, empty or foreign file makes Inspect raise whatever its zip or JSON reader raised;
here any of those becomes one :class:`UsageError` that names the file.
"""

from __future__ import annotations

from pathlib import Path

from inspect_ai.log import EvalLog, read_eval_log

from aflab.core.errors import NothingToDo, UsageError

LOG_SUFFIXES = (".eval", ".json")


def read_log(path: str | Path, header_only: bool = False) -> EvalLog:
    file = Path(path)
    if file.is_dir():
        raise UsageError(f"{file}: is a folder, expected an Inspect log file (.eval)")
    if not file.is_file():
        raise UsageError(f"{file}: no such log file")
    if file.suffix not in LOG_SUFFIXES:
        raise UsageError(f"{file}: not an Inspect log (expected a .eval or .json file)")
    try:
        return read_eval_log(str(file), header_only=header_only)
    except Exception as error:  # zip, JSON and schema errors all mean: unreadable
        raise UsageError(f"{file}: not a readable Inspect log ({first_line(error)})") from error


def run_id(log: EvalLog) -> str:
    """A run's name in reports and the transcript browser: its log file's stem."""
    return Path(log.location).stem


def is_aflab_log(log: EvalLog) -> bool:
    """Written by an aflab task: its metadata names the setting."""
    return bool((log.eval.metadata or {}).get("setting"))


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def check_resumable(path: str | Path) -> None:
    """Raise unless ``path`` is an unfinished log of ``aflab run`` or ``aflab antilab``; before
    anything is written."""
    header = read_log(path, header_only=True)
    if not is_aflab_log(header):
        raise UsageError(f"{path}: not a log of aflab run or antilab, which --resume needs")
    if header.status == "success":
        total = header.results.total_samples if header.results else 0
        raise NothingToDo(
            f"{path} is already complete ({total} samples): nothing to resume, nothing written"
        )


def incomplete_note(log: EvalLog) -> str:
    """What ``aflab summary`` says under the table of a run that did not finish."""

    done = sum(1 for sample in log.samples or [] if sample.error is None)
    planned = log.eval.dataset.samples
    of = f" of {planned * (log.eval.config.epochs or 1)}" if planned else ""
    message = log.error.message.strip().splitlines() if log.error else []
    why = f" ({message[0]})" if message else ""
    resume = f"; finish it with: aflab run --resume {log.location}"
    return f"status: {log.status}: the log is incomplete, {done}{of} samples finished{why}{resume}"
