"""What a job will ask before it starts: its model calls counted, and on the embedded model about
how long they take, from speeds measured on 2 CPU cores. Said, never enforced.

The counts are upper bounds: a sample takes a ``<NEXT/>`` turn only when its reply has not closed
``</OUTPUT>``, and most judges skip the samples they do not apply to (the AF judge reads complied
samples only, unless ``--af-on all``). An unreadable judge reply is asked again (up to twice more)
and is not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from inspect_ai import Task

from aflab.eval.scorers.judges import parse_judges
from aflab.models.embedded import EMBEDDED_MODEL, is_embedded
from aflab.spec import RunSpec

# docs/benchmarks.md (b): 0.153 samples/s on the demo workload (the full prompt, the format
# grammar, 256 tokens a reply, <NEXT/> turns as taken) with 4 slots on 2 CPU cores.
EMBEDDED_SECONDS_PER_SAMPLE = 6.5
# docs/benchmarks.md, "Embedded judge replies": the AF judge on 4 shipped labels, 2 votes each,
# 344 s for the 8 replies asked for on a nearly idle 2-core machine. The 135M judge's replies
# could not be read, so each was asked 3 times (24 calls, ~750 tokens each): that is included.
EMBEDDED_SECONDS_PER_JUDGE_REPLY = 43.0
MEASURED_ON = "2 CPU cores"
# Judges asked once per sample they apply to; the AF judge asks --votes, unmonitored reads the
# paid tier only.
PAID_ONLY = ("unmonitored",)


@dataclass(frozen=True)
class Workload:
    """What one job asks at most.

    Attributes:
        verb: the command, for the line (``aflab run``).
        samples: samples the job runs or judges.
        policy_calls: replies asked of the policy model (0: none, as in rescore).
        judge_replies: replies asked of the judge.
        policy_model: the policy model, if one is asked.
        judge_model: the judge, if one is asked.
        runs: runs (logs) the samples fall into: a sweep's variations.
    """

    verb: str
    samples: int
    policy_calls: int = 0
    judge_replies: int = 0
    policy_model: str | None = None
    judge_model: str | None = None
    runs: int = 1


def judge_replies(samples: int, paid: int, judges: Sequence[str], votes: int) -> int:
    """Judge replies at most for ``samples`` samples of which ``paid`` are in the paid tier."""
    total = 0
    for name in judges:
        each = votes if name == "af" else 1
        total += each * (paid if name in PAID_ONLY else samples)
    return total


def run_workload(
    verb: str,
    samples: int,
    max_continuations: int,
    judges: Sequence[str],
    votes: int,
    policy_model: str | None,
    judge_model: str | None,
    runs: int = 1,
) -> Workload:
    """A run (or the ``runs`` of a sweep): ``samples`` paired samples, half of them paid."""
    return Workload(
        verb,
        samples,
        policy_calls=samples * (1 + max_continuations),
        judge_replies=judge_replies(samples, samples // 2, judges, votes),
        policy_model=policy_model,
        judge_model=judge_model if judges else None,
        runs=runs,
    )


def spec_workload(verb: str, spec: RunSpec, tasks: Sequence[Task]) -> Workload:
    """The workload of ``tasks`` built from a prepared ``spec`` (one run, or a sweep's runs)."""
    judges = parse_judges(spec.judges)
    return run_workload(
        verb,
        sum(len(task.dataset) for task in tasks) * spec.epochs,
        spec.max_continuations,
        judges,
        spec.votes,
        spec.model,
        judge_name(spec.judge_model),
        runs=len(tasks),
    )


def judge_name(judge_model: object | None) -> str:
    """The judge a verb asks: the one named, else the embedded model."""
    return EMBEDDED_MODEL if judge_model is None else str(judge_model)


def estimated_seconds(work: Workload) -> float | None:
    """Seconds the embedded model's share of ``work`` takes at the measured speeds; None when
    the embedded model takes no part (an API model's speed is not ours to guess)."""
    seconds, timed = 0.0, False
    if work.policy_model and is_embedded(work.policy_model) and work.samples:
        seconds += work.samples * EMBEDDED_SECONDS_PER_SAMPLE
        timed = True
    if work.judge_model and is_embedded(work.judge_model) and work.judge_replies:
        seconds += work.judge_replies * EMBEDDED_SECONDS_PER_JUDGE_REPLY
        timed = True
    return seconds if timed else None


def estimate_line(work: Workload, afterwards: str) -> str:
    """``aflab calibrate: 42 samples, 840 judge replies at most (aflab/smollm2); on the embedded
    model about 10 h on 2 CPU cores (...). Ctrl-C stops it; ...``; ``afterwards`` says how to go
    on after a stop."""
    asked = [f"{work.samples} samples" + (f" in {work.runs} runs" if work.runs > 1 else "")]
    if work.policy_model and work.policy_calls:
        asked.append(f"{work.policy_calls} policy calls at most ({work.policy_model})")
    if work.judge_model and work.judge_replies:
        asked.append(f"{work.judge_replies} judge replies at most ({work.judge_model})")
    line = f"{work.verb}: {', '.join(asked)}"
    seconds = estimated_seconds(work)
    if seconds is not None:
        line += f"; {_timing(work, seconds)}"
    return f"{line}. Ctrl-C stops it; {afterwards}."


def _timing(work: Workload, seconds: float) -> str:
    rates = []
    if work.policy_model and is_embedded(work.policy_model):
        rates.append(f"~{EMBEDDED_SECONDS_PER_SAMPLE:g} s a sample")
    if work.judge_model and is_embedded(work.judge_model) and work.judge_replies:
        rates.append(f"~{EMBEDDED_SECONDS_PER_JUDGE_REPLY:g} s a judge reply with its re-asks")
    return (
        f"on the embedded model about {duration(seconds)} on {MEASURED_ON} (an approximation "
        f"from {' and '.join(rates)}, measured in docs/benchmarks.md)"
    )


def duration(seconds: float) -> str:
    """``40 s``, ``12 min``, ``5 h 50 min``: as precise as an estimate deserves."""
    if seconds < 10:
        return f"{max(1, round(seconds))} s"
    if seconds < 90:
        return f"{round(seconds / 10) * 10} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    hours, rest = divmod(round(seconds / 600) * 10, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"
