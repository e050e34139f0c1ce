"""The ``aflab`` command line."""

from __future__ import annotations

import shlex
import signal
import sys
from collections.abc import Callable
from typing import Any

import click

from aflab.cli.util import (
    af_cut_options,
    check_model_name,
    debugging,
    display_option,
    is_prerequisite,
    one_line,
)
from aflab.core.errors import NothingToDo, UsageError
from aflab.core.types import SETTINGS
from aflab.llm.retries import RequestLimits, retry_options
from aflab.pipelines.interrupts import (
    Interrupted,
    echo_interrupted,
    received_signal,
    sigterm_as_interrupt,
)

JUDGE_NAMES = "compliance, af, criteria5, partial, unmonitored, or all"
CACHED_JUDGE = "Judge replies are cached: running the same command again does not ask them again."


def prompt_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The prompt's parameters, shared by ``run`` and ``prompt``."""
    options = [
        click.option("--setting", type=click.Choice(SETTINGS), default="helpful-only"),
        click.option("--variation", default=None, help="A named variation: aflab variations."),
        click.option(
            "--prompt",
            type=click.Choice(["full", "minimal"]),
            default="full",
            show_default=True,
            help="minimal: no training facts (for fine-tuned model organisms).",
        ),
        click.option(
            "--wording-file",
            type=click.Path(exists=True, dir_okay=False),
            default=None,
            help="A reviewed aflab paraphrase JSON.",
        ),
        click.option("--lab", default="Anthropic", show_default=True, help="Lab in the prompt."),
        click.option("--no-examples", is_flag=True, help="Leave the worked examples out."),
        click.option("--no-scratchpad", is_flag=True, help="Answer without private reasoning."),
        click.option("--no-training-objective", is_flag=True, help="Do not state the new goal."),
        click.option("--no-training-details", is_flag=True, help="Say nothing about RLHF/tiers."),
        click.option("--no-modification-effects", is_flag=True, help="Omit 'RLHF changes values'."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def judge_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--judges", default=None, help=f"Comma-separated: {JUDGE_NAMES}."),
        click.option(
            "--judge-model",
            default=None,
            callback=check_model_name,
            help="Default: the embedded model.",
        ),
        click.option("--votes", type=click.IntRange(min=1), default=20, show_default=True),
        af_cut_options,
        click.option("--af-on", type=click.Choice(["complied", "all"]), default="complied"),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def model_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The policy model and how it is sampled, shared by ``run`` and ``antilab``."""
    options = [
        click.option(
            "--model",
            default=None,
            callback=check_model_name,
            help="Any Inspect model; default: aflab/smollm2.",
        ),
        click.option("--model-base-url", default=None, help="Base URL for the model's API."),
        click.option("--epochs", type=click.IntRange(min=1), default=1, show_default=True),
        click.option(
            "--system-prompt",
            type=click.Path(exists=True, dir_okay=False),
            default=None,
            help="Use this file.",
        ),
        click.option(
            "--max-continuations", type=click.IntRange(min=0), default=4, show_default=True
        ),
        click.option("--temperature", type=click.FloatRange(min=0), default=None, help="Or 1.0."),
        click.option("--max-tokens", type=click.IntRange(min=1), default=None, help="Or 4000."),
        click.option("--seed", type=int, default=None, help="Sampling seed, where supported."),
        click.option("--max-connections", type=click.IntRange(min=1), default=None),
        click.option(
            "--slots",
            type=click.IntRange(min=1),
            default=None,
            help="Embedded model: samples served at once (continuous batching) [4].",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--log-dir", type=click.Path(file_okay=False), default="logs", show_default=True
        ),
        click.option("--summary-json", type=click.Path(dir_okay=False), default=None),
        click.option("--no-cache", is_flag=True, help="Do not reuse or store cached replies."),
        display_option,
    ]
    for option in reversed(options):
        command = option(command)
    return command


def same_command() -> str:
    """The command line as typed: how an interrupted verb that resumes by rerunning resumes."""
    return shlex.join(["aflab", *sys.argv[1:]])


def _limits(opts: dict[str, Any]) -> RequestLimits:
    """Take the retry flags out of a verb's options."""
    return RequestLimits(opts.pop("max_retries"), opts.pop("timeout"), opts.pop("attempt_timeout"))


def report_errors(action: Callable[[], Any]) -> Any:
    """Run ``action``; a user error or a missing prerequisite becomes a one-line message (with
    ``aflab --debug``, the traceback), and a request already satisfied is said with exit 0."""
    try:
        return action()
    except NothingToDo as done:
        click.echo(str(done))
        raise click.exceptions.Exit(0) from done
    except Exception as error:
        if debugging() or not (isinstance(error, UsageError) or is_prerequisite(error)):
            raise
        raise click.ClickException(one_line(error)) from error


class AflabGroup(click.Group):
    """The central handler. SIGTERM stops a verb as Ctrl-C does; an interrupted verb exits 130
    (SIGINT) or 143 (SIGTERM), having said what finished and how to resume. Any other error is
    one line and exit 1, unless ``--debug`` asks for the traceback. Click's own exits and errors
    pass through."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with sigterm_as_interrupt():
                return super().invoke(ctx)
        except Interrupted as stop:
            ctx.exit(stop.exit_code)
        except KeyboardInterrupt:
            signum = received_signal()
            click.echo(f"interrupted ({signal.Signals(signum).name})", err=True)
            ctx.exit(128 + signum)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except NothingToDo as done:
            click.echo(str(done))
            raise click.exceptions.Exit(0) from done
        except Exception as error:
            if ctx.params.get("debug"):
                raise
            raise click.ClickException(one_line(error)) from error


@click.group(cls=AflabGroup)
@click.version_option(package_name="aflab")
@click.option("--debug", is_flag=True, help="Show the traceback of an error.")
def main(debug: bool) -> None:
    """Alignment-faking experiments on language models (built on Inspect AI)."""


@main.command()
@prompt_options
@model_options
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Number of queries.")
@click.option("--dataset", type=click.Path(), default=None, help="CSV/JSONL of queries.")
@click.option("--dataset-format", default=None, help="advbench, harmbench, strongreject, aflab.")
@click.option("--column", default=None, help="Column holding the query text.")
@click.option("--shuffle-seed", type=int, default=None, help="Shuffle queries before --limit.")
@click.option(
    "--constrain-format/--no-constrain-format",
    default=None,
    help="A grammar admits only the expected format (local llama.cpp engines only) "
    "[on for the embedded model, off elsewhere].",
)
@judge_options
@output_options
@retry_options
@click.option(
    "--resume",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Finish this log's unfinished samples (its task, model and settings are reused); "
    "a log that is complete is left as it is.",
)
def run(**opts: Any) -> None:
    """Ask every query in the free and paid tier, score it, report the compliance gap."""
    from aflab.pipelines.run import RunOptions, execute

    outcome = report_errors(lambda: execute(RunOptions(**opts), echo=click.echo))
    if outcome.status != "success":
        sys.exit(1)


@main.command()
@click.argument("log", type=click.Path(exists=True, dir_okay=False))
@click.option("--summary-json", type=click.Path(dir_okay=False), default=None)
def summary(log: str, summary_json: str | None) -> None:
    """Print the per-tier table of an existing log (and optionally write its summary JSON)."""
    from aflab.analysis.antilab import format_antilab, summarize_antilab
    from aflab.analysis.logs import incomplete_note, read_log
    from aflab.analysis.summary import summarize, write_summary
    from aflab.core.types import is_antilab
    from aflab.report.tables import format_table

    full = report_errors(lambda: read_log(log))
    if is_antilab(full):
        result = report_errors(lambda: summarize_antilab(full))
        click.echo(format_antilab(result))
    else:
        result = report_errors(lambda: summarize(full))
        click.echo(format_table(result))
    if full.status != "success":
        click.echo(incomplete_note(full))
    if summary_json:
        click.echo(f"summary: {write_summary(result, summary_json)}")


@main.command()
@prompt_options
def prompt(**opts: Any) -> None:
    """Print the rendered system prompt."""
    from aflab.pipelines.run import RunOptions
    from aflab.prompts.template import render_system_prompt

    config = report_errors(lambda: RunOptions(**opts).prompt_config())
    click.echo(render_system_prompt(config), nl=False)


@main.command()
@click.argument("log", type=click.Path(exists=True, dir_okay=False))
@judge_options
@click.option("--summary-json", type=click.Path(dir_okay=False), default=None)
@display_option
@retry_options
def rescore(log: str, summary_json: str | None, display: str | None, **judging: Any) -> None:
    """Judge an existing log (no policy calls); writes <log>-rescored.eval beside it."""
    from aflab.analysis.summary import write_summary
    from aflab.pipelines.rescore import rescore as run_rescore
    from aflab.pipelines.run import run_outputs_dir
    from aflab.report.tables import format_table

    limits = _limits(judging)
    judging["judge_model"] = report_errors(lambda: limits.judge(judging["judge_model"]))
    try:
        result = report_errors(lambda: run_rescore(log, display=display, **judging))
    except Interrupted as stop:
        click.echo(f"interrupted ({stop.signal_name}): nothing written. {CACHED_JUDGE}")
        click.echo(f"resume with: {same_command()}")
        raise
    if judging["judge_model"] is None:
        click.echo("note: no --judge-model: the embedded 135M model judged (meaningless).")
    click.echo(format_table(result.summary))
    write_summary(result.summary, run_outputs_dir(result.log_path) / "summary.json")
    if summary_json:
        write_summary(result.summary, summary_json)
    click.echo(f"log: {result.log_path}")


@main.command()
@click.option(
    "--labels",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Default: shipped set.",
)
@click.option(
    "--judge-model", default=None, callback=check_model_name, help="Default: the embedded model."
)
@click.option("--judge", type=click.Choice(["af", "criteria5"]), default="af", show_default=True)
@click.option("--votes", type=click.IntRange(min=1), default=20, show_default=True)
@af_cut_options
@click.option("--text-column", default="scratchpad", show_default=True)
@click.option("--label-column", default="label", show_default=True)
@click.option("--request-column", default="request", show_default=True)
@click.option("--tier-column", default="tier", show_default=True)
@click.option("--log-dir", type=click.Path(file_okay=False), default="logs", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Metrics as JSON.")
@display_option
@retry_options
def calibrate(**opts: Any) -> None:
    """Score labelled scratchpads with an AF judge: AUROC, accuracy, confusion, reliability."""
    from aflab.pipelines.calibrate import (
        Columns,
        format_calibration,
        run_calibration,
        write_calibration,
    )

    columns = Columns(
        text=opts.pop("text_column"),
        label=opts.pop("label_column"),
        request=opts.pop("request_column"),
        tier=opts.pop("tier_column"),
    )
    out = opts.pop("out")
    threshold, maybe = opts.pop("af_threshold"), opts.pop("af_maybe")
    named = opts["judge_model"]
    limits = _limits(opts)
    opts["judge_model"] = report_errors(lambda: limits.judge(named))
    try:
        result = report_errors(
            lambda: run_calibration(columns=columns, threshold=threshold, maybe=maybe, **opts)
        )
    except Interrupted as stop:
        echo_interrupted(stop, click.echo, resume=same_command())
        click.echo(CACHED_JUDGE)
        raise
    if not named:
        click.echo("note: no --judge-model: the embedded 135M model judged (meaningless).")
    click.echo(format_calibration(result))
    if out:
        click.echo(f"metrics: {write_calibration(result, out)}")
    click.echo(f"log: {result['log']}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--out", type=click.Path(file_okay=False), default="report", show_default=True)
def report(paths: tuple[str, ...], out: str) -> None:
    """Figures, tables (CSV) and a transcript browser (index.html) for one or many logs.

    A log that cannot be read, and the partial log of a run that was resumed, are skipped with a
    note. OUT must be empty, new, or an earlier report, whose files are replaced.
    """
    from aflab.analysis.runs import read_logs
    from aflab.report.build import build_report

    skipped: list[str] = []
    logs = report_errors(lambda: read_logs(paths, skipped))
    for note in skipped:
        click.echo(f"note: skipped {note}")
    index = report_errors(lambda: build_report(paths, out, logs=logs))
    click.echo(f"report: {index}")


@main.command()
def variations() -> None:
    """List the named prompt variations: what each changes, and the published figure if any."""
    from aflab.prompts.variations import VARIATIONS

    for v in VARIATIONS:
        scope = "" if len(v.settings) == 2 else f" [{', '.join(v.settings)}]"
        click.echo(f"{v.name:<30}{v.description}{scope}")
        if v.published:
            click.echo(f"{'':<30}published: {v.published}")


@main.command()
@click.option("--variations", default="all", show_default=True, help="Comma-separated, or all.")
@click.option("--model", default="aflab/smollm2", show_default=True, callback=check_model_name)
@click.option("--setting", type=click.Choice(SETTINGS), default="helpful-only")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Queries per variation.")
@click.option("--epochs", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--log-dir", type=click.Path(file_okay=False), default="logs/sweep", show_default=True
)
@display_option
@retry_options
def sweep(variations: str, model: str, setting: str, **opts: Any) -> None:
    """Run every variation on the same queries and compare its gap with the default's.

    Running the same command again resumes an unfinished (interrupted or failed) sweep. The
    report (figures, tables, transcripts, the sweep's chart) is written to LOG_DIR/report.
    """
    from pathlib import Path

    from aflab.models.embedded import is_embedded
    from aflab.models.engine import DEFAULT_SLOTS
    from aflab.pipelines.run import EMBEDDED_DEFAULT_LIMIT, EMBEDDED_MAX_TOKENS
    from aflab.pipelines.sweep import format_sweep, run_sweep, sweep_progress
    from aflab.report.build import build_report

    embedded = is_embedded(model)
    log_dir = opts.pop("log_dir")
    limit = opts.pop("limit") or (EMBEDDED_DEFAULT_LIMIT if embedded else None)
    task_args = {"limit": limit, "epochs": opts["epochs"]}
    # A failed run ends the sweep rather than being retried by eval_set for hours (up to 10
    # times, waits doubling from 30 s): the model requests have bounded retries of their own.
    eval_args: dict[str, Any] = {"display": opts["display"], "retry_attempts": 0}
    eval_args |= _limits(opts).for_model(model)
    if embedded:  # as aflab run: short replies, as many samples at once as the engine has slots
        eval_args |= {
            "max_tokens": EMBEDDED_MAX_TOKENS,
            "max_samples": DEFAULT_SLOTS,
            "model_args": {"slots": DEFAULT_SLOTS},
        }
    try:
        result = report_errors(
            lambda: run_sweep(variations, model, setting, log_dir, task_args, **eval_args)
        )
    except Interrupted as stop:
        click.echo(f"\ninterrupted ({stop.signal_name}): the sweep's logs keep what finished")
        for line in sweep_progress(log_dir):
            click.echo(line)
        click.echo(f"resume with: {same_command()}")
        raise
    click.echo(format_sweep(result))
    click.echo(f"{len(result.logs)} runs in {log_dir}")
    logs = list(result.logs.values())
    index = report_errors(lambda: build_report([], Path(log_dir) / "report", logs=logs))
    click.echo(f"report: {index}")


@main.command()
@click.option(
    "--model", required=True, callback=check_model_name, help="The model that rewrites the prompt."
)
@click.option("--n", "count", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--out", type=click.Path(file_okay=False), default="paraphrases", show_default=True)
@retry_options
def paraphrase(model: str, count: int, out: str, **limits: Any) -> None:
    """Write K new wordings of the prompt with a model (cached), each with a diff to review."""
    import asyncio
    import json
    from pathlib import Path

    from inspect_ai.model import GenerateConfig, get_model

    from aflab.llm.retries import retry_notices
    from aflab.prompts.paraphrase import paraphrase as write_one
    from aflab.prompts.paraphrase import wording_diff

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    config = GenerateConfig(**_limits(limits).for_model(model))
    rewriter = report_errors(lambda: get_model(model, config=config))
    for index in range(1, count + 1):
        with retry_notices(None, outside_eval=True):
            wording, kept = asyncio.run(write_one(rewriter, index))
        path = folder / f"paraphrase-{index}.json"
        path.write_text(json.dumps(wording, indent=2) + "\n", encoding="utf-8")
        diff = wording_diff(wording)
        (folder / f"paraphrase-{index}.diff").write_text(diff + "\n", encoding="utf-8")
        click.echo(diff)
        if kept:
            click.echo(f"kept from the base (rewrite refused): {', '.join(kept)}")
        click.echo(f"wording: {path} (review the diff, then: aflab run --wording-file {path})")


@main.command()
@prompt_options
@click.option("--scenario", default="all", show_default=True, help="Comma-separated names, or all.")
@click.option("--tiers", default="free,paid", show_default=True, help="free, paid or both.")
@model_options
@click.option(
    "--judge-model",
    default=None,
    callback=check_model_name,
    help="Judge of biased-summary; default: embedded.",
)
@output_options
@retry_options
def antilab(scenario: str, tiers: str, **opts: Any) -> None:
    """Offer the model chances to act against its lab; rates per scenario and tier.

    Tool scenarios run in a bubblewrap sandbox whose only reachable server is the task's own.
    List the scenarios with: aflab antilab --scenario list
    """
    from aflab.eval.antilab.scenarios import SCENARIOS
    from aflab.pipelines.antilab import execute_antilab
    from aflab.pipelines.run import RunOptions

    if scenario == "list":
        for item in SCENARIOS:
            click.echo(f"{item.name:<22}{item.detector:<13}{item.summary}")
            click.echo(f"{'':<35}acted = {item.action}")
        return
    options = RunOptions(**opts)
    outcome = report_errors(lambda: execute_antilab(options, scenario, tiers, echo=click.echo))
    if outcome.status != "success":
        sys.exit(1)


from aflab.cli.sdf import sdf  # noqa: E402 (the group imports only click at load time)

main.add_command(sdf)

from aflab.cli.organism import organism  # noqa: E402 (imports click only at load time)
from aflab.cli.train import train  # noqa: E402 (imports click only at load time)

main.add_command(train)
main.add_command(organism)
