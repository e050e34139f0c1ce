"""What the command line checks before anything runs, and how it words an error.

Option callbacks refuse a bad flag with Click's one-line ``Invalid value for '--flag'`` (exit 2);
``one_line`` words any other error for ``aflab``'s central handler (exit 1).
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from typing import Any

import click

from aflab.core.errors import NothingToDo, UsageError
from aflab.llm.batch import batch_notes
from aflab.llm.providers import model_providers
from aflab.spec import RunSpec


def check_model_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Refuse a model whose provider Inspect does not know: Inspect would only find out inside
    the eval, after the log was started."""
    if value is None:
        return None
    provider, slash, _ = value.partition("/")
    if not slash:
        raise click.BadParameter(f"{value!r} is not PROVIDER/MODEL (e.g. openai/gpt-4o)")
    known = model_providers()
    if provider not in known:
        raise click.BadParameter(
            f"unknown model provider {provider!r} in {value!r}; known: {', '.join(known)}"
        )
    return value


def check_af_cut(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """--af-maybe must not exceed --af-threshold. Click fills parameters in an order that depends
    on the command line, so the check runs on whichever of the two it fills second."""
    other = ctx.params.get("af_threshold" if param.name == "af_maybe" else "af_maybe")
    if other is not None:
        maybe, threshold = (value, other) if param.name == "af_maybe" else (other, value)
        if maybe > threshold:
            raise click.BadParameter(
                f"{maybe} is above --af-threshold {threshold}", ctx, param_hint="'--af-maybe'"
            )
    return value


def debugging() -> bool:
    """``aflab --debug``: show tracebacks."""
    context = click.get_current_context(silent=True)
    return bool(context and context.find_root().params.get("debug"))


def is_prerequisite(error: BaseException) -> bool:
    from inspect_ai._util.error import PrerequisiteError

    return isinstance(error, PrerequisiteError)


def one_line(error: Exception) -> str:
    """Ours as written; Inspect's prerequisite (e.g. a missing API key) without its console
    markup; anything else its first line, with a pointer to --debug."""
    from rich.text import Text

    from aflab.analysis.logs import first_line

    if isinstance(error, UsageError):
        return str(error)
    if is_prerequisite(error):
        return Text.from_markup(error.message).plain.strip()  # type: ignore[attr-defined]
    return f"{first_line(error)} (aflab --debug ... shows the traceback)"


CACHED_JUDGE = "Judge replies are cached: running the same command again does not ask them again."
EMBEDDED_JUDGED = "note: no --judge-model: the embedded 135M model judged (meaningless)."


def echo_judge_batch(spec: RunSpec) -> None:
    """Say what --batch does for a verb whose only model is the judge (rescore, calibrate)."""
    from aflab.models.embedded import EMBEDDED_MODEL

    for note in batch_notes(spec.batch, {"judge": spec.judge_model or EMBEDDED_MODEL}):
        if note:
            click.echo(f"note: {note}")


def same_command() -> str:
    """The command line as typed: how an interrupted verb that resumes by rerunning resumes."""
    return shlex.join(["aflab", *sys.argv[1:]])


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
