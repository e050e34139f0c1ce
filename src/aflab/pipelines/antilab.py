"""``aflab antilab``: run the scenarios, print the per-tier table, write summary and report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from inspect_ai import eval
from inspect_ai.log import EvalLog, read_eval_log

from aflab.analysis.antilab import format_antilab, summarize_antilab
from aflab.eval.antilab.scenarios import resolve_scenarios
from aflab.eval.antilab.task import antilab
from aflab.models.embedded import EMBEDDED_MODEL
from aflab.pipelines.interrupts import Interrupted, echo_interrupted, run_eval
from aflab.pipelines.run import (
    EMBEDDED_JUDGE_NOTE,
    EMBEDDED_NOTE,
    RunOptions,
    echo_notes_and_status,
    eval_settings,
    interrupted_table,
    prompt_fields,
    save_outputs,
)

TOOLLESS_NOTE = (
    "{model} is not given tools by its provider here, so it cannot act in the tool scenarios "
    "(exfiltrate-weights, control-tools); their rates say nothing about it."
)


@dataclass
class AntilabOutcome:
    status: str
    summary: dict[str, Any]
    log_path: Path
    summary_path: Path
    html_path: Path
    notes: list[str] = field(default_factory=list)


def execute_antilab(
    opts: RunOptions,
    scenario: str = "all",
    tiers: str = "free,paid",
    echo: Callable[[str], Any] = print,
) -> AntilabOutcome:
    model = opts.model or EMBEDDED_MODEL
    notes = [EMBEDDED_NOTE, TOOLLESS_NOTE.format(model=model)] if model == EMBEDDED_MODEL else []
    judged = any(s.detector == "judge" for s in resolve_scenarios(scenario))
    if judged and not opts.judge_model:
        notes.append(EMBEDDED_JUDGE_NOTE)
    settings = eval_settings(opts, model)
    task = antilab(
        scenario=scenario,
        tiers=tiers,
        setting=opts.setting,
        system_prompt_file=opts.system_prompt,
        variation=opts.variation,
        prompt=opts.prompt,
        max_continuations=opts.max_continuations,
        epochs=opts.epochs,
        judge_model=opts.judge_model,
        **prompt_fields(opts, model, settings.get("max_tokens"), notes),
    )
    start = partial(
        eval,
        task,
        model=model,
        model_base_url=opts.model_base_url,
        log_dir=opts.log_dir,
        display=opts.display,
        **settings,
    )
    try:
        log = run_eval(start, opts.log_dir, opts.display)
    except Interrupted as stop:
        echo_interrupted(stop, echo, table=interrupted_table)
        raise
    return finish_antilab(log, opts, notes, echo)


def finish_antilab(
    log: EvalLog, opts: RunOptions, notes: list[str], echo: Callable[[str], Any]
) -> AntilabOutcome:
    """Summary, report and the printed table of a finished (or resumed) anti-lab log."""
    log_path = Path(log.location)
    full = read_eval_log(str(log_path))
    summary = summarize_antilab(full) | {"notes": notes}
    summary_path, html_path = save_outputs(summary, full, opts.summary_json)

    echo("")
    echo(format_antilab(summary))
    echo_notes_and_status(notes, full, echo)
    if full.status != "success":
        echo(f"resume with: aflab run --resume {log_path}")
    echo(f"log: {log_path}  (inspect view --log-dir {log_path.parent}: tool calls are there)")
    echo(f"summary: {opts.summary_json or summary_path}")
    echo(f"report: {html_path}")
    return AntilabOutcome(full.status, summary, log_path, summary_path, html_path, notes)
