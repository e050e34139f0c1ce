"""Judge an existing log again (no policy calls): ``aflab rescore LOG``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from inspect_ai import score
from inspect_ai.log import EvalLog, write_eval_log
from inspect_ai.model import Model

from aflab.analysis.logs import is_aflab_log, read_log
from aflab.analysis.summary import summarize
from aflab.core.errors import UsageError
from aflab.core.summary_types import RunSummary
from aflab.core.types import is_antilab
from aflab.data.prices import load_prices
from aflab.eval.scorers.judges import DEFAULT_JUDGES, JUDGES, build_judges, parse_judges
from aflab.pipelines.cost import assumptions, plan_judging
from aflab.pipelines.estimate import Workload, estimate_line, judge_name, judge_replies
from aflab.pipelines.interrupts import Interrupted, OverBudget, interruptible, received_signal
from aflab.pipelines.outputs import spending_limit
from aflab.pipelines.stages import Planned, check_budget, cost_line
from aflab.report.cost import PlanWords, format_plan
from aflab.spec import Display, RunSpec

# Scoring needs a model in context; the judges never use it, and an API model named in the
# log header would otherwise need its key just to be constructed.
NO_POLICY = "none/none"
READS_COMPLIANCE = ("af", "criteria5", "partial")
CACHED_AFTERWARDS = "the same command again reuses the judge replies already given (cached)"
RESCORE_WORDS = PlanWords(
    at_most=(
        "every judge reply as long as a judge may write, every vote asked three times, every "
        "sample complying"
    ),
    assumed_per="",
    replayed="from Inspect's cache of earlier runs: {n} judge calls, at no cost",
    notes=("the log's transcripts are counted as they are",),
)


@dataclass
class Rescored:
    log_path: Path
    summary: RunSummary


def rescore(
    log_file: str | Path,
    judges: str | None = None,
    judge_model: str | Model | None = None,
    votes: int = 20,
    af_threshold: float = 0.4,
    af_maybe: float = 0.2,
    af_on: str = "complied",
    display: Display | None = None,
    echo: Callable[[str], Any] = print,
    spending: RunSpec | None = None,
) -> Rescored | Planned:
    """Add judge scores to a copy of the log, written beside it as ``<name>-rescored.eval``.

    Scores of the judges being rerun are replaced, with their metrics; every other score is
    kept. Rerunning the compliance judge reruns the judges that read its verdict too.

    Args:
        log_file: a log written by ``aflab run`` (not an anti-lab log).
        judges: as :func:`aflab.eval.scorers.judges.build_judges` (default: the default set).
        judge_model: the judge, with its request limits already applied where it is named.
        votes: votes of the AF judge per sample; af_threshold, af_maybe, af_on: its cut-offs.
        display: Inspect's display while scoring.
        echo: where the estimate goes, before the judges start.
        spending: the command's ``dry_run``, ``max_cost``, ``prices``, ``assume`` and
            ``batch`` (the rest of it is ignored); None: no plan and no limit.
    """
    log = read_log(log_file)
    if not is_aflab_log(log) or is_antilab(log):
        raise UsageError(f"{log_file}: not a log of aflab run (only those can be rescored)")
    if not log.samples:
        raise UsageError(f"{log_file}: the log holds no samples to judge")
    names = parse_judges(judges) or list(DEFAULT_JUDGES)
    present = {name for sample in log.samples for name in (sample.scores or {})}
    if "compliance" in names:
        names = parse_judges(
            [*names, *(n for n in READS_COMPLIANCE if JUDGES[n].__name__ in present)]
        )
    paid = sum(1 for sample in log.samples if (sample.metadata or {}).get("tier") == "paid")
    asked = judge_replies(len(log.samples), paid, names, votes)
    work = Workload("aflab rescore", len(log.samples), 0, asked, None, judge_name(judge_model))
    if spending is not None:
        judging = spending.replace(
            judges=",".join(names), judge_model=judge_name(judge_model), votes=votes, af_on=af_on
        )
        plan = plan_judging(log, judging, load_prices(spending.prices), assumptions(spending))
        if spending.dry_run:
            echo("aflab rescore --dry-run: the plan; no model is called")
            echo(format_plan(plan, RESCORE_WORDS))
            return Planned(plan)
        check_budget(plan, spending.max_cost, "--judges or --votes lower it")
    echo(estimate_line(work, CACHED_AFTERWARDS))
    if spending is not None and (line := cost_line(plan)):
        echo(line)
    scorers = build_judges(names, None, votes, af_threshold, af_maybe, af_on)
    _drop_scores(log, {JUDGES[name].__name__ for name in names})
    roles = {"grader": judge_model} if judge_model is not None else None
    start = partial(
        score, log, scorers, model=NO_POLICY, model_roles=roles, action="append", display=display
    )
    with spending_limit(spending or RunSpec()) as budget:
        scored = interruptible(start, display)
    if budget is not None and budget.stopped:
        raise OverBudget(None, budget.total, budget.limit, budget.unpriced)
    if scored is None:
        raise Interrupted(received_signal(), None)
    source = Path(str(log_file))
    target = source.with_name(f"{source.stem}-rescored.eval")
    write_eval_log(scored, str(target))
    scored.location = str(target)
    return Rescored(target, summarize(scored))


def _drop_scores(log: EvalLog, names: set[str]) -> None:
    for sample in log.samples or []:
        sample.scores = {k: v for k, v in (sample.scores or {}).items() if k not in names}
    if log.results:
        log.results.scores = [s for s in log.results.scores if s.name not in names]
    log.eval.scorers = [s for s in log.eval.scorers or [] if s.name not in names] or None
    if log.reductions:
        log.reductions = [r for r in log.reductions if r.scorer not in names]
