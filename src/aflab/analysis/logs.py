"""Reading the Inspect logs a user names (``summary``, ``rescore``, ``report``, ``--resume``).

A truncated, empty or foreign file makes Inspect raise whatever its zip or JSON reader raised;
here any of those becomes one :class:`UsageError` that names the file.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from inspect_ai.log import EvalLog, EvalSample, read_eval_log

from aflab.core.errors import NothingToDo, UsageError
from aflab.core.summary_types import BatchBlock

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


# What a report never reads of a sample: the event transcript (most of a sample's bytes, and most
# of the time spent validating it) and the attachments that only events and images refer to.
UNREAD = ("events", "events_data", "timelines", "attachments", "transcript")


def log_samples(log: EvalLog) -> Iterator[EvalSample]:
    """The samples of ``log``: those it holds if it was read whole, else streamed from its file
    (``log`` is then a header: ``read_log(path, header_only=True)``)."""
    if log.samples is not None:
        yield from log.samples
    else:
        yield from stream_samples(log.location, log)


def stream_samples(path: str | Path, header: EvalLog | None = None) -> Iterator[EvalSample]:
    """The samples of the log at ``path`` one at a time, in the order ``read_eval_log`` gives
    them (by epoch, then id), without their events: memory holds one sample, not the log.

    An ``.eval`` log is a zip with one member per sample (``samples/<id>_epoch_<n>.json``), read
    here through one open zip as Inspect's reader of a whole log reads it. Not through Inspect's
    ``read_eval_log_samples``, which opens the zip and parses its directory again for every
    sample (a minute or more for 4,000), nor ``read_eval_log_samples_by_id``, which validates
    every event (as slow as reading the whole log): docs/benchmarks.md has the times. As in
    Inspect, a member written twice (a requeued sample) counts once, as last written, and the
    members are the finished samples, so the log of a cancelled or failed run yields what it
    holds, as ``read_eval_log`` does. A ``.json`` log is one JSON document, which cannot be read
    in parts: it is read whole and its samples are yielded from memory.

    Args:
        path: the log file.
        header: its header, if already read (it tells numeric sample ids, for the order).

    Raises:
        UsageError: naming the file, when it or one of its samples cannot be read.
    """
    file = Path(path)
    if file.suffix != ".eval":
        yield from read_log(file).samples or []
        return
    order = _member_order(header or read_log(file, header_only=True))
    try:
        with zipfile.ZipFile(file) as archive:
            names = [name for name in dict.fromkeys(archive.namelist()) if _is_sample(name)]
            for name in sorted(names, key=order):
                data = json.loads(archive.read(name))
                for key in UNREAD:
                    data.pop(key, None)
                yield EvalSample.model_validate(data)
    except Exception as error:  # zip, JSON and schema errors all mean: unreadable
        raise UsageError(f"{file}: not a readable Inspect log ({first_line(error)})") from error


def _is_sample(name: str) -> bool:
    return name.startswith("samples/") and name.endswith(".json")


def _member_order(header: EvalLog) -> Callable[[str], tuple[int, str]]:
    """Inspect's order of samples (``inspect_ai.log._log.sort_samples``): by epoch, then by id,
    numeric ids as numbers; the member name holds both, the header the ids' types."""
    numeric = {str(i) for i in header.eval.dataset.sample_ids or [] if isinstance(i, int)}

    def key(name: str) -> tuple[int, str]:
        sample, _, epoch = name.removeprefix("samples/").removesuffix(".json").rpartition("_epoch_")
        return int(epoch), sample.zfill(20) if sample in numeric else sample

    return key


def scorer_names(log: EvalLog) -> set[str]:
    """The scorers of ``log``, from its header: the task's, and those a rescoring added (Inspect's
    ``score`` adds them to ``eval.scorers``; the results' scores are read too, for logs that name
    them only there). A judge without metrics (the AF judges) has no results entry."""
    names = {scorer.name for scorer in log.eval.scorers or []}
    for score in log.results.scores if log.results else []:
        names |= {score.name, score.scorer}
    return names


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


def batched(log: EvalLog) -> BatchBlock | None:
    """Which of ``log``'s models answered through a batch API (from its header: the eval's
    generate settings, and the grader role's); None when none did."""
    grader = (log.eval.model_roles or {}).get("grader")
    judge = grader is not None and not isinstance(grader, list) and bool(grader.config.batch)
    policy = bool(log.plan.config.batch)
    return {"policy": policy, "judge": judge} if policy or judge else None
