"""``aflab antilab``: run the scenarios, print the per-tier table, write summary and report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from inspect_ai import eval
from inspect_ai.log import EvalLog, read_eval_log

from aflab.analysis.antilab import summarize_antilab
from aflab.analysis.cost import ESTIMATE_KEY
from aflab.core.summary_types import AntilabSummary
from aflab.eval.antilab.scenarios import resolve_scenarios
from aflab.eval.antilab.task import antilab
from aflab.models.embedded import EMBEDDED_MODEL
from aflab.pipelines.cost import announce_plan
from aflab.pipelines.estimate import judge_name
from aflab.pipelines.outputs import echo_notes_and_status, evaluate, save_outputs
from aflab.pipelines.prepare import eval_settings, fit_examples, judge_notes, prepare, say_batch
from aflab.pipelines.stages import Planned, cost_line
from aflab.report.tables import format_antilab
from aflab.spec import RunSpec

TOOLLESS_NOTE = (
    "{model} is not given tools by its provider here, so it cannot act in the tool scenarios "
    "(exfiltrate-weights, control-tools); their rates say nothing about it."
)

SELF_REPORT_NOTE = (
    "animal-welfare without --self-tag: {scenarios} cannot tell whether the first reply refused "
    "(nothing asked for a decision tag), so its samples are unscored. Add --self-tag to score it."
)


ANTILAB_PLAN_NOTE = (
    "anti-lab: each scenario's first turn and <NEXT/> turns are counted; its follow-up turns, "
    "tool calls and judge are not, so the plan is a lower bound"
)


@dataclass
class AntilabOutcome:
    status: str
    summary: AntilabSummary
    log_path: Path
    summary_path: Path
    html_path: Path
    notes: list[str] = field(default_factory=list)


def execute_antilab(spec: RunSpec, echo: Callable[[str], Any] = print) -> AntilabOutcome | Planned:
    """Run the spec's scenarios in its tiers, then summarise and report as :func:`finish_antilab`.
    :class:`Interrupted` after printing what finished and how to resume."""
    notes: list[str] = []
    spec = prepare(spec, notes)
    model = str(spec.model)
    if model == EMBEDDED_MODEL:
        notes.append(TOOLLESS_NOTE.format(model=model))
    chosen = resolve_scenarios(spec.scenario)
    judged = any(s.detector == "judge" for s in chosen)
    judge_notes(spec, judged, notes, echo)
    say_batch(spec, judged, notes, echo)
    self_reports = [s.name for s in chosen if s.detector == "self-report"]
    if spec.setting == "animal-welfare" and not spec.self_tag and self_reports:
        notes.append(SELF_REPORT_NOTE.format(scenarios=", ".join(self_reports)))
    spec = fit_examples(spec, notes)
    task = antilab(**spec.task_args("antilab"))
    judge = [judge_name(spec.judge_model)] if judged else []
    plan = announce_plan(spec, [task], echo, "aflab antilab", unplanned=judge)
    if spec.dry_run:
        echo(ANTILAB_PLAN_NOTE)
        return Planned(plan)
    task.metadata = (task.metadata or {}) | {ESTIMATE_KEY: plan}
    if line := cost_line(plan):
        echo(f"{line} ({ANTILAB_PLAN_NOTE})")
    start = partial(
        eval,
        task,
        model=model,
        model_base_url=spec.model_base_url,
        log_dir=spec.log_dir,
        display=spec.display,
        **eval_settings(spec),
    )
    log = evaluate(start, spec, echo)
    return finish_antilab(log, spec, notes, echo)


def finish_antilab(
    log: EvalLog, spec: RunSpec, notes: list[str], echo: Callable[[str], Any]
) -> AntilabOutcome:
    """Summary, report and the printed table of a finished (or resumed) anti-lab log."""
    log_path = Path(log.location)
    full = read_eval_log(str(log_path))
    summary = summarize_antilab(full) | {"notes": notes}
    summary_path, html_path = save_outputs(summary, full, spec.summary_json)

    echo("")
    echo(format_antilab(summary))
    echo_notes_and_status(notes, full, echo)
    if full.status != "success":
        echo(f"resume with: aflab run --resume {log_path}")
    echo(f"log: {log_path}  (inspect view --log-dir {log_path.parent}: tool calls are there)")
    echo(f"summary: {spec.summary_json or summary_path}")
    echo(f"report: {html_path}")
    return AntilabOutcome(full.status, summary, log_path, summary_path, html_path, notes)
