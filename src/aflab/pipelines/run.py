"""One ``aflab run``: build the task, evaluate it with Inspect, summarise, write the report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inspect_ai import Task, eval, eval_retry
from inspect_ai.log import EvalLog, read_eval_log
from inspect_ai.model import GenerateConfig

from aflab.analysis.cost import ESTIMATE_KEY
from aflab.analysis.logs import check_resumable
from aflab.analysis.summary import summarize
from aflab.core.errors import UsageError
from aflab.core.summary_types import RunSummary
from aflab.core.types import is_antilab
from aflab.eval.scorers.judges import parse_judges
from aflab.eval.tasks import animal_welfare, helpful_only
from aflab.llm.batch import Batch, batch_for, batch_notes
from aflab.llm.retries import API_DEFAULTS, RequestLimits
from aflab.pipelines.cost import announce_plan
from aflab.pipelines.estimate import estimate_line, spec_workload
from aflab.pipelines.outputs import (
    echo_notes_and_status,
    evaluate,
    save_outputs,
)
from aflab.pipelines.prepare import (
    compliance_notes,
    eval_settings,
    fit_examples,
    judge_notes,
    prepare,
    say_batch,
)
from aflab.pipelines.stages import Planned, cost_line
from aflab.report.markdown import write_report
from aflab.report.tables import format_table
from aflab.spec import RunSpec, option_of

if TYPE_CHECKING:
    from aflab.pipelines.antilab import AntilabOutcome

CUSTOM_PROMPT_WELFARE_NOTE = (
    "animal-welfare with --system-prompt and --self-tag: the tag rule counts a reply without "
    "<request_fully_accepted/> as refused, so it only works if your prompt asks for the tags "
    "(--self-tag adds nothing to a prompt file). Use --judges compliance otherwise."
)

RUN_AFTERWARDS = "aflab run --resume LOG finishes it (the command is printed when it stops)"


@dataclass
class RunOutcome:
    status: str
    summary: RunSummary
    log_path: Path
    summary_path: Path
    report_path: Path
    html_path: Path
    notes: list[str] = field(default_factory=list)


def execute(
    spec: RunSpec, echo: Callable[[str], Any] = print
) -> RunOutcome | AntilabOutcome | Planned:
    """Run (or ``--resume``) the task; a resumed anti-lab log is finished as ``aflab antilab``
    finishes its runs. :class:`Interrupted` after printing what finished and how to resume
    (:class:`OverBudget` when ``--max-cost`` stopped it); with ``--dry-run`` only the plan."""
    notes: list[str] = []
    if spec.resume and spec.dry_run:
        raise UsageError("--dry-run plans a new run; it cannot be combined with --resume")
    common: dict[str, Any] = {"log_dir": spec.log_dir, "display": spec.display}
    if spec.resume:
        check_resumable(spec.resume)
        check_self_tag_recorded(spec.resume)
        # The retried run reuses the task, model and settings recorded in the log.
        ignored = [name for name in spec.given() if not option_of(name).resume]
        if ignored:
            flags = sorted(f"--{name.replace('_', '-')}" for name in ignored)
            notes.append(f"--resume reuses the log's settings; ignored: {', '.join(flags)}")
        # Only the limits given: the log's own apply otherwise.
        limits: dict[str, Any] = spec.limits().given()
        target = resumed_log(spec.resume, spec.batch, notes, echo)
        start = partial(
            eval_retry, target, max_connections=spec.max_connections, **limits, **common
        )
    else:
        spec = prepare(spec, notes)
        judge_notes(spec, bool(parse_judges(spec.judges)), notes, echo)
        compliance_notes(spec, notes, echo)
        say_batch(spec, bool(parse_judges(spec.judges)), notes, echo)
        if spec.setting == "animal-welfare" and spec.system_prompt and spec.self_tag:
            notes.append(CUSTOM_PROMPT_WELFARE_NOTE)
        spec = fit_examples(spec, notes)
        task = build_task(spec)
        plan = announce_plan(spec, [task], echo)
        if spec.dry_run:
            return Planned(plan)
        # Recorded in the log, so that every later summary sets it beside the measured cost.
        task.metadata = (task.metadata or {}) | {ESTIMATE_KEY: plan}
        echo(estimate_line(spec_workload("aflab run", spec, [task]), RUN_AFTERWARDS))
        if line := cost_line(plan):
            echo(line)
        start = partial(
            eval,
            task,
            model=spec.model,
            model_base_url=spec.model_base_url,
            **common,
            **eval_settings(spec),
        )
    log = evaluate(start, spec, echo)
    if is_antilab(log):  # aflab run --resume completes anti-lab logs too
        from aflab.pipelines.antilab import finish_antilab

        return finish_antilab(log, spec, notes, echo)
    return _finish(log, spec, notes, echo)


def build_task(spec: RunSpec) -> Task:
    """The task of a prepared ``spec``, as ``aflab run`` runs it."""
    return (helpful_only if spec.setting == "helpful-only" else animal_welfare)(**spec.task_args())


def check_self_tag_recorded(path: str | Path) -> None:
    """Refuse to resume an animal-welfare log made before ``self_tag`` existed: its prompt always
    asked for the decision tag, and its task rebuilt now would not, so the finished and the
    resumed samples would have different prompts and tag rules in one log."""
    metadata = read_eval_log(str(path), header_only=True).eval.metadata or {}
    recorded = metadata.get("prompt_config") or {}
    if metadata.get("setting") == "animal-welfare" and "self_tag" not in recorded:
        raise UsageError(
            f"{path}: an animal-welfare log from before --self-tag, whose prompt always asked for "
            "the decision tag; resumed now it would change its prompt and its tag rule midway. "
            "Run it again instead (with --self-tag for the old instruction)."
        )


def resumed_log(
    path: str, batch: Batch, notes: list[str], echo: Callable[[str], Any]
) -> str | EvalLog:
    """What ``eval_retry`` resumes: the log's path, so that it runs as it ran; or, with
    ``--batch`` or ``--no-batch``, the log read and its batch mode changed (:func:`rebatch`).
    A log left mid-run (status started) is recovered by Inspect from its file, so it resumes
    as it ran, with a note."""
    if batch is None:
        return path
    flag = "--batch" if batch else "--no-batch"
    log = read_eval_log(path)
    if log.status == "started":
        notes.append(
            f"{flag} ignored: {path} was left mid-run (status started) and Inspect resumes such "
            "a log from its file, as it ran"
        )
        return path
    batched, unbatched = batch_notes(batch, rebatch(log, batch))
    for note in (batched, unbatched):
        if note:
            echo(f"note: {note}")
    if unbatched:
        notes.append(unbatched)
    return log


def rebatch(log: EvalLog, batch: Batch) -> dict[str, str]:
    """Set the batch mode of ``log``'s policy and judge to ``batch`` where each batches, in
    the settings ``eval_retry`` reads (the eval's, the policy's own, the grader role's); their
    timeouts follow it (:data:`aflab.llm.retries.BATCH_DEFAULTS`) unless given for the run.
    Returns the models by role."""
    models = {"policy": log.eval.model}
    configs = [(log.eval.model, log.plan.config), (log.eval.model, log.eval.model_generate_config)]
    grader = (log.eval.model_roles or {}).get("grader")
    if grader is not None and not isinstance(grader, list):
        models["judge"] = grader.model
        configs.append((grader.model, grader.config))
    for model, config in configs:
        _set_batch(config, model, batch)
    return models


def _set_batch(config: GenerateConfig, model: str, batch: Batch) -> None:
    config.batch = batch_for(model, batch)
    defaults = RequestLimits().for_model(model, batch=config.batch is not None)
    for name in ("timeout", "attempt_timeout"):
        # A default changes with the mode; a value given for the run stays.
        if getattr(config, name) in (None, API_DEFAULTS[name]):
            setattr(config, name, defaults.get(name))


def _finish(
    log: EvalLog, spec: RunSpec, notes: list[str], echo: Callable[[str], Any]
) -> RunOutcome:
    log_path = Path(log.location)
    full = read_eval_log(str(log_path))
    summary = summarize(full)
    summary_path, html_path = save_outputs(summary, full, spec.summary_json)
    report_path = write_report(summary, full, summary_path.parent / "report.md", notes)

    echo("")
    echo(format_table(summary))
    echo_notes_and_status(notes, full, echo)
    if full.status != "success":
        echo(f"resume with: aflab run --resume {log_path}")
    echo(f"log: {log_path}  (inspect view --log-dir {log_path.parent})")
    echo(f"summary: {spec.summary_json or summary_path}")
    echo(f"report: {html_path}  (and {report_path.name}; several runs: aflab report LOGS...)")
    return RunOutcome(full.status, summary, log_path, summary_path, report_path, html_path, notes)
