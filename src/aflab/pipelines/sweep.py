"""``aflab sweep``: one run per variation on identical queries, compared with the default.

The runs go through Inspect's ``eval_set``: concurrent, and resumable by running the same
command again (finished runs in the sweep's folder are kept). Each variation's gap is compared
with the default's on the same (query, epoch) pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import copy_context
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from inspect_ai import eval_set
from inspect_ai.log import EvalLog, read_eval_log
from inspect_ai.model import Model

from aflab.analysis.cost import ESTIMATE_KEY
from aflab.analysis.sweep import compare_to_default
from aflab.core.errors import UsageError
from aflab.core.summary_types import CostEstimate, SweepComparison
from aflab.data.prices import load_prices
from aflab.eval.scorers.judges import parse_judges
from aflab.eval.tasks import animal_welfare, helpful_only
from aflab.llm.retries import failure_line
from aflab.pipelines.cost import announce_plan, assumptions, plan_cost
from aflab.pipelines.estimate import estimate_line, spec_workload
from aflab.pipelines.interrupts import Interrupted, OverBudget, interruptible, received_signal
from aflab.pipelines.outputs import spending_limit
from aflab.pipelines.prepare import (
    compliance_notes,
    eval_settings,
    judge_notes,
    prepare,
    say_batch,
)
from aflab.pipelines.stages import cost_line
from aflab.prompts.variations import VARIATIONS, get_variation
from aflab.spec import RunSpec

SWEEP_AFTERWARDS = "the same command again resumes it (finished runs are kept)"


@dataclass
class SweepResult:
    logs: dict[str, EvalLog]
    comparisons: list[SweepComparison]
    plan: CostEstimate | None = None  # a --dry-run's: nothing was run


def resolve_variations(names: str, setting: str) -> list[str]:
    if names == "all":
        chosen = [v.name for v in VARIATIONS if setting in v.settings]
    else:
        chosen = [get_variation(n.strip(), setting).name for n in names.split(",") if n.strip()]
    return ["default", *[n for n in chosen if n != "default"]]


def run_sweep(
    spec: RunSpec,
    variations: str = "all",
    model: Model | None = None,
    notes: list[str] | None = None,
    echo: Callable[[str], Any] = print,
) -> SweepResult:
    """One run of ``spec`` per variation (and the default), resumable as ``eval_set`` is.

    Args:
        spec: what every run shares (model, queries, judges, sampling, where logs go).
        variations: comma-separated names, or all (those of the spec's setting).
        model: a model object to use instead of ``spec.model`` (e.g. a scripted model).
        notes: collects what the user must be told (the embedded model's defaults, its judge).
        echo: where the lines before the runs go (the estimate; a judge that grades itself).
    """
    notes = [] if notes is None else notes
    if model is None:
        # The default's prompt is the reference: its worked examples stay even where the
        # embedded model's context is tight, so that no-examples still differs from it.
        spec = prepare(spec, notes)
        judge_notes(spec, bool(parse_judges(spec.judges)), notes, echo)
        say_batch(spec, bool(parse_judges(spec.judges)), notes, echo)
    compliance_notes(spec, notes, echo)
    names = resolve_variations(variations, spec.setting)
    task = helpful_only if spec.setting == "helpful-only" else animal_welfare
    args = spec.task_args("sweep")
    tasks = [task(**args, variation=name) for name in names]
    asked = spec if model is None else spec.replace(model=str(model))
    plan = announce_plan(asked, tasks, echo, "aflab sweep")
    if spec.dry_run:
        return SweepResult({}, [], plan)
    for each in tasks:  # each run's own share, recorded in its log
        each.metadata = (each.metadata or {}) | {
            ESTIMATE_KEY: plan_cost(asked, [each], load_prices(spec.prices), assumptions(spec))
        }
    echo(estimate_line(spec_workload("aflab sweep", asked, tasks), SWEEP_AFTERWARDS))
    if line := cost_line(plan):
        echo(line)
    # A failed run ends the sweep rather than being retried by eval_set for hours (up to 10
    # times, waits doubling from 30 s): the model requests have bounded retries of their own.
    # In a context of its own: eval_set leaves its model active in the caller's context
    # (Inspect 0.3.285), where a task built later would take it for the model it runs on.
    start = partial(
        copy_context().run,
        eval_set,
        tasks,
        log_dir=spec.log_dir,
        model=model or spec.model,
        model_base_url=spec.model_base_url,
        display=spec.display,
        retry_attempts=0,
        **eval_settings(spec),
    )
    with spending_limit(spec) as budget:
        success, logs = interruptible(start, spec.display) or (False, [])
    if budget is not None and budget.stopped:
        raise OverBudget(None, budget.total, budget.limit, budget.unpriced)
    # After a Ctrl-C, eval_set returns no logs and reports success (Inspect 0.3.285).
    if not logs or any(log.status == "cancelled" for log in logs):
        raise Interrupted(received_signal(), None)
    if not success:
        # eval_set returns headers only; the failed run's samples say which request failed.
        failed = next((log for log in logs if log.status == "error"), None)
        reason = failure_line(read_eval_log(failed.location)) if failed else None
        raise UsageError(
            f"the sweep did not finish{f' ({reason})' if reason else ''}; "
            f"run the same command to resume ({spec.log_dir})"
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
