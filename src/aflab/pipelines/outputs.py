"""What every run leaves beside its log, and what it prints at its end or when interrupted."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inspect_ai.log import EvalLog

from aflab.analysis.antilab import summarize_antilab
from aflab.analysis.summary import summarize, write_summary
from aflab.core.summary_types import AntilabSummary, RunSummary
from aflab.core.types import is_antilab
from aflab.data.prices import load_prices
from aflab.llm.retries import failure_line
from aflab.pipelines.interrupts import Interrupted, OverBudget, echo_interrupted, run_eval
from aflab.report.build import build_report
from aflab.report.tables import format_antilab, format_table
from aflab.spec import RunSpec

if TYPE_CHECKING:
    from aflab.pipelines.budget import Budget


def evaluate(
    start: Callable[[], list[EvalLog]], spec: RunSpec, echo: Callable[[str], Any]
) -> EvalLog:
    """Run ``start`` (an Inspect eval); when interrupted, or stopped by ``--max-cost``, say what
    finished and how to resume."""
    try:
        with spending_limit(spec) as budget:
            return run_eval(start, spec.log_dir, spec.display)
    except Interrupted as stop:
        if budget is not None and budget.stopped:
            stop = OverBudget(stop.log_path, budget.total, budget.limit, budget.unpriced)
        echo_interrupted(stop, echo, table=interrupted_table)
        raise stop from None


def interrupted_table(log: EvalLog) -> str:
    """The per-tier table of what finished, for a run or an anti-lab log."""
    if is_antilab(log):
        return format_antilab(summarize_antilab(log))
    return format_table(summarize(log))


def save_outputs(
    summary: RunSummary | AntilabSummary, log: EvalLog, summary_json: str | None
) -> tuple[Path, Path]:
    """``summary.json`` (and a copy at ``summary_json``) and the HTML report, beside the log."""
    log_path = Path(log.location)
    outputs = run_outputs_dir(log_path)
    summary_path = write_summary(summary, outputs / "summary.json")
    if summary_json:
        write_summary(summary, summary_json)
    return summary_path, build_report([log_path], outputs, logs=[log])


def echo_notes_and_status(notes: list[str], log: EvalLog, echo: Callable[[str], Any]) -> None:
    for note in notes:
        echo(f"note: {note}")
    if log.status != "success":
        message = log.error.message if log.error else "run did not finish"
        echo(f"status: {log.status}: {failure_line(log) or message}")


def run_outputs_dir(log_path: Path) -> Path:
    """``logs/<log name>/`` beside the log. Not ``<log name>.summary.json``: Inspect would list
    a timestamped .json file in the log dir as a log of its own."""
    folder = log_path.with_suffix("")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def spending_limit(spec: RunSpec) -> Iterator[Budget | None]:
    """While the block runs, the spec's ``--max-cost`` (if any) watches every billed call."""
    if spec.max_cost is None:
        yield None
        return
    # Imported only here: registering an Inspect hook makes Inspect print a banner.
    from aflab.pipelines.budget import Budget, watching

    budget = Budget(spec.max_cost, load_prices(spec.prices), bool(spec.batch))
    with watching(budget):
        yield budget
