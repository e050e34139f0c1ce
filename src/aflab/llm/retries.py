"""How long a model request may take and how often it is retried; retry notices; the one line
that names a model whose requests kept failing.

Inspect retries a failed request (connection error, rate limit, 5xx) with exponential backoff
from about 3 s, and by default forever, logging each retry below the console's level: an API
base URL on a closed port ran for 10 minutes with no output. aflab bounds API models by default
and prints each retry where no full-screen display counts them.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from aflab.llm.batch import Batch, batch_for

if TYPE_CHECKING:  # the CLI imports this module; Inspect loads only when a verb runs
    from inspect_ai.log import EvalError, EvalLog
    from inspect_ai.model import Model

# With backoff of about 3, 6, 12, 24, 48 s, five retries give up on a dead endpoint within about
# two minutes. The total is checked only between attempts, so it never cuts a long reply short;
# one attempt may take 10 minutes (a 4000-token reply from a slow model takes 2-3).
API_DEFAULTS = {"max_retries": 5, "timeout": 1200, "attempt_timeout": 600}
# A batched request waits for its whole batch, minutes to hours: an attempt timeout would abandon
# it and send it again in a new batch (paid twice), and the total would refuse the retry of a
# request whose batch took over 20 minutes. Batch mode bounds the number of retries only.
BATCH_DEFAULTS = {"max_retries": API_DEFAULTS["max_retries"]}
# Models that never retry (in-process) and must not have a long local generation abandoned.
UNBOUNDED_PREFIXES = ("aflab/", "none/")

RETRIES_HELP = {
    "max_retries": "Retries of a failed model request (connection error, rate limit, 5xx), with "
    "backoff from 3 s. API models default to 5: a dead endpoint fails in about 2 minutes.",
    "timeout": "Seconds after a request's first attempt when no further retry starts "
    "(API default 1200; none in batch mode).",
    "attempt_timeout": "Seconds one attempt may take before it is abandoned and retried "
    "(API default 600; none in batch mode, where an attempt waits for its whole batch).",
}


@dataclass(frozen=True)
class RequestLimits:
    """The ``--max-retries``, ``--timeout`` and ``--attempt-timeout`` flags (None: not given)."""

    max_retries: int | None = None
    timeout: int | None = None
    attempt_timeout: int | None = None

    def given(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def for_model(self, model: str, batch: bool = False) -> dict[str, Any]:
        """Inspect's generate settings for ``model``: the flags, over the API defaults (those of
        batch mode when its requests are ``batch``ed)."""
        if model.startswith(UNBOUNDED_PREFIXES):
            return self.given()
        return (BATCH_DEFAULTS if batch else API_DEFAULTS) | self.given()

    def judge(self, model: str | Model | None, batch: Batch = None) -> str | Model | None:
        """A judge named by a string, built with its limits and batch mode (where it batches).
        Inspect passes a role model only the eval's max_retries and timeout, not attempt_timeout
        nor batch."""
        from inspect_ai.model import GenerateConfig, get_model

        if not isinstance(model, str):
            return model
        batched = batch_for(model, batch)
        # Typed Any for GenerateConfig's keywords, each of its own type.
        settings: dict[str, Any] = self.for_model(model, batch=batched is not None)
        if batched is not None:
            settings["batch"] = batched
        return get_model(model, config=GenerateConfig(**settings)) if settings else model


# Inspect's level for HTTP requests and retries, between DEBUG and INFO.
HTTP_LEVEL = 15
# Inspect's retry message: "[sample] -> MODEL retry N (retrying in W seconds) [ERROR] [rate]".
RETRY_MESSAGE = re.compile(
    r"-> (?P<model>\S+) retry (?P<attempt>\d+) \(retrying in (?P<wait>[\d,.]+) seconds\)"
    r"(?: \[(?P<error>[^\]]+)\])?"
)


class RetryNotices(logging.Handler):
    """One plain line per retry, from the record Inspect logs at its HTTP level."""

    def __init__(self, echo: Callable[[str], Any]) -> None:
        super().__init__(level=logging.DEBUG)
        self.echo = echo

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        found = RETRY_MESSAGE.search(message)
        if found is None:
            return
        error = found["error"] or "error"
        self.echo(
            f"retry {found['attempt']}: {found['model']} failed ({error}); "
            f"next attempt in {found['wait']} s"
        )


def shows_retries(display: str | None) -> bool:
    """Whether Inspect's own display already counts retries: only the full-screen one does."""
    chosen = display or os.environ.get("INSPECT_DISPLAY", "full")
    return chosen == "full" and sys.stdout.isatty()


@contextmanager
def retry_notices(display: str | None, outside_eval: bool = False) -> Iterator[None]:
    """Print model retries to stderr, unless the full-screen display shows them.

    An eval sets Inspect's loggers to pass its HTTP level on; model calls made outside one
    (``outside_eval``) need that level set here, and have no Inspect display to count retries.
    """
    if not outside_eval and shows_retries(display):
        yield
        return
    logger = logging.getLogger("inspect_ai.model._model")
    handler = RetryNotices(lambda line: print(line, file=sys.stderr, flush=True))
    level = logger.level
    if outside_eval and logger.getEffectiveLevel() > HTTP_LEVEL:
        logger.setLevel(HTTP_LEVEL)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def failure_line(log: EvalLog) -> str | None:
    """``MODEL at ENDPOINT: ERROR (N attempts)`` when the run ended because a model request kept
    failing (a dead endpoint, a bad key), else None."""
    for sample in log.samples or []:
        if sample.error is None or is_cancellation(sample.error):
            continue
        calls = [e for e in sample.events if e.event == "model"]
        # Each attempt at the request that ended the sample is a model event with an error.
        attempts = 0
        for event in reversed(calls):
            if not event.error:
                break
            attempts += 1
        if attempts:
            event = calls[-1]
            where = endpoint(log, event.model)
            return f"{event.model} at {where}: {event.error} ({attempts} attempts)"
    return None


def is_cancellation(error: EvalError) -> bool:
    return error.message.startswith("CancelledError")


def endpoint(log: EvalLog, model: str) -> str:
    """The base URL a model of this log used, as recorded or from Inspect's environment variable."""
    url = log.eval.model_base_url if model == log.eval.model else None
    for role in (log.eval.model_roles or {}).values():
        for config in role if isinstance(role, list) else [role]:
            if config.model == model:
                url = url or config.base_url
    return url or os.environ.get(base_url_variable(model)) or "its provider's default endpoint"


def base_url_variable(model: str) -> str:
    """Inspect reads OPENAI_BASE_URL for openai/..., and NAME_BASE_URL for openai-api/NAME/..."""
    parts = model.split("/")
    name = parts[1] if parts[0] == "openai-api" and len(parts) > 2 else parts[0]
    return f"{name.upper().replace('-', '_')}_BASE_URL"
