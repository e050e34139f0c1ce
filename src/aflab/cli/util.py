"""What the command line checks before anything runs, and how it words an error.

Option callbacks refuse a bad flag with Click's one-line ``Invalid value for '--flag'`` (exit 2);
``one_line`` words any other error for ``aflab``'s central handler (exit 1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from aflab.core.errors import UsageError

# Inspect's DisplayType, spelled out so that the CLI loads without importing Inspect
# (tests/test_hostile_inputs.py checks that the two agree).
DISPLAYS = ("full", "conversation", "rich", "plain", "log", "none")


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


def model_providers() -> list[str]:
    import inspect_ai.model  # noqa: F401 (registers Inspect's own providers)
    from inspect_ai._util.entrypoints import ensure_entry_points
    from inspect_ai._util.registry import registry_find, registry_info, registry_unqualified_name

    ensure_entry_points()  # providers of installed packages, aflab's among them
    found = registry_find(lambda info: info.type == "modelapi")
    return sorted({registry_unqualified_name(registry_info(api)) for api in found})


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


def af_cut_options(command: Callable[..., Any]) -> Callable[..., Any]:
    cut: dict[str, Any] = {
        "type": click.FloatRange(0, 1),
        "show_default": True,
        "callback": check_af_cut,
    }
    command = click.option("--af-maybe", default=0.2, **cut)(command)
    return click.option("--af-threshold", default=0.4, **cut)(command)


def display_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--display", type=click.Choice(DISPLAYS), default=None, help="Inspect's display."
    )(command)


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
