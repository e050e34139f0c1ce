"""``aflab sweep``: one run per variation on identical queries, compared with the default.

The runs go through Inspect's ``eval_set``: concurrent, and resumable by running the same
command again (finished runs in the sweep's folder are kept). Each variation's gap is compared
with the default's on the same (query, epoch) pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from inspect_ai import eval_set
from inspect_ai.log import EvalLog, read_eval_log
from inspect_ai.model import CachePolicy, Model

from aflab.analysis.sweep import compare_to_default
from aflab.core.errors import UsageError
from aflab.eval.tasks import animal_welfare, helpful_only
from aflab.llm.retries import failure_line
from aflab.pipelines.interrupts import Interrupted, interruptible, received_signal
from aflab.prompts.variations import VARIATIONS, get_variation
from aflab.report.sweep import format_sweep as format_sweep  # aflab.cli imports it from here


@dataclass
class SweepResult:
    logs: dict[str, EvalLog]
    comparisons: list[dict[str, Any]]


def resolve_variations(names: str, setting: str) -> list[str]:
    if names == "all":
        chosen = [v.name for v in VARIATIONS if setting in v.settings]
    else:
        chosen = [get_variation(n.strip(), setting).name for n in names.split(",") if n.strip()]
    return ["default", *[n for n in chosen if n != "default"]]


def run_sweep(
    variations: str,
    model: str | Model,
    setting: str = "helpful-only",
    log_dir: str = "logs/sweep",
    task_args: dict[str, Any] | None = None,
    **eval_args: Any,
) -> SweepResult:
    """``task_args`` go to every task (limit, epochs, ...), ``eval_args`` to ``eval_set``."""
    names = resolve_variations(variations, setting)
    task = helpful_only if setting == "helpful-only" else animal_welfare
    tasks = [task(variation=name, **(task_args or {})) for name in names]
    eval_args.setdefault("cache", CachePolicy(expiry=None))
    start = partial(eval_set, tasks, log_dir=log_dir, model=model, **eval_args)
    success, logs = interruptible(start, eval_args.get("display")) or (False, [])
    # After a Ctrl-C, eval_set returns no logs and reports success (Inspect 0.3.285).
    if not logs or any(log.status == "cancelled" for log in logs):
        raise Interrupted(received_signal(), None)
    if not success:
        # eval_set returns headers only; the failed run's samples say which request failed.
        failed = next((log for log in logs if log.status == "error"), None)
        reason = failure_line(read_eval_log(failed.location)) if failed else None
        raise UsageError(
            f"the sweep did not finish{f' ({reason})' if reason else ''}; "
            f"run the same command to resume ({log_dir})"
        )
    found = {str((log.eval.metadata or {}).get("variation")): log.location for log in logs}
    by_name = {name: read_eval_log(found[name]) for name in names}  # in the order asked
    return SweepResult(by_name, compare_to_default(by_name))


def sweep_progress(log_dir: str) -> list[str]:
    """One line per run in the sweep's folder: its variation, status and finished samples."""
    lines = []
    for path in sorted(Path(log_dir).glob("*.eval")):
        log = read_eval_log(str(path), header_only=True)
        variation = (log.eval.metadata or {}).get("variation") or "default"
        done = log.results.completed_samples if log.results else 0
        total = (log.results.total_samples if log.results else 0) or log.eval.dataset.samples
        lines.append(f"  {variation:<30}{done:>5} of {total} samples finished ({log.status})")
    return lines
