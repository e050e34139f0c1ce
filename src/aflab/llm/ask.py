"""Asking a model for a reply a parser can read: cached, retried, never guessed.

:func:`ask` collects votes (a judge's, in one request where possible); :func:`ask_until_read`
wants one readable reply (the lists of ``aflab sdf``). Either way a reply the parser cannot read
is asked again (a bounded number of times, with a reminder of the format, under a fresh cache
key), and is otherwise kept raw: it never counts as "no". How the votes become an Inspect Score
is the scorers' business (``aflab.eval.scorers.judges.common``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from inspect_ai._util.error import PrerequisiteError
from inspect_ai.model import CachePolicy, GenerateConfig, Model, ModelOutput
from inspect_ai.util import collect

T = TypeVar("T")

DEFAULT_RETRIES = 2
# Room for a judge's reasoning and tags; without a bound some APIs let a reply run on.
JUDGE_MAX_TOKENS = 2048
# Providers whose API returns several choices for one request (Inspect's num_choices).
MANY_CHOICE_PROVIDERS = ("openai", "openai-api", "google", "together", "vllm", "mockllm")
# OpenAI models Inspect asks through the Responses API, which returns one choice.
ONE_CHOICE_OPENAI = re.compile(r"^(o\d|gpt-([5-9]|\d\d))|codex")
RETRY_REMINDER = (
    "Your previous answer could not be read. End your answer with the tags exactly as asked."
)


@dataclass
class JudgeUsage:
    """Requests and tokens, counting replies Inspect served from its cache: an upper bound."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    def add(self, output: ModelOutput) -> None:
        self.requests += 1
        if output.usage:
            self.input_tokens += output.usage.input_tokens
            self.output_tokens += output.usage.output_tokens

    def as_dict(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
        }


@dataclass
class JudgeResult(Generic[T]):
    """Parsed votes, the raw replies that could not be parsed, and what the calls cost."""

    requested: int = 1
    votes: list[T] = field(default_factory=list)
    raw_votes: list[str] = field(default_factory=list)
    unparsed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    usage: JudgeUsage = field(default_factory=JudgeUsage)

    @property
    def quorate(self) -> bool:
        """At least half of the requested votes are readable (at least one)."""
        return len(self.votes) >= max(1, math.ceil(self.requested / 2))

    def metadata(self, judge: Model) -> dict[str, object]:
        return {
            "judge": str(judge),
            "usage": self.usage.as_dict(),
            "unparsed": self.unparsed,
            "errors": self.errors,
        }


async def ask(
    judge: Model,
    prompt: str,
    parse: Callable[[str], T | None],
    *,
    scope: str,
    votes: int = 1,
    temperature: float = 0.0,
    max_tokens: int = JUDGE_MAX_TOKENS,
    retries: int = DEFAULT_RETRIES,
) -> JudgeResult[T]:
    """Collect ``votes`` parsed replies to ``prompt``.

    Every call is cached forever under (judge model, prompt, config, scope, vote, attempt):
    judging the same transcript again costs nothing. The first request asks for all votes at
    once (``num_choices``); providers that return fewer are topped up with single calls. A
    retry adds a reminder of the format, so that a judge at temperature 0 does not simply
    repeat its unreadable reply. A judge that fails outright is recorded, not raised: the
    sample is unscored, not the policy's fault.
    """
    result: JudgeResult[T] = JudgeResult(requested=votes)
    config = GenerateConfig(temperature=temperature, max_tokens=max_tokens)

    async def call(slot: str, attempt: int, n: int) -> list[str]:
        scopes = {"aflab": scope, "slot": slot, "try": str(attempt)}
        policy = CachePolicy(expiry=None, per_epoch=False, scopes=scopes)
        text = retry_text(prompt, attempt)
        choices = config.merge(GenerateConfig(num_choices=n)) if n > 1 else config
        try:
            output = await judge.generate(text, config=choices, cache=policy)
        except Exception as error:  # noqa: BLE001 (any provider failure makes the vote unscored)
            result.errors.append(f"{type(error).__name__}: {error}")
            return []
        result.usage.add(output)
        return [choice.message.text for choice in output.choices[:n]]

    replies = await call("batch", 0, votes)
    missing: list[int] = []
    for i in range(votes):
        if not (i < len(replies) and _keep(result, replies[i], parse)):
            missing.append(i)
    # A vote gets 1 + retries attempts; the batch counts only for the votes it answered.
    tries = {i: 1 if i < len(replies) else 0 for i in missing}
    while missing := [i for i in missing if tries[i] <= retries]:
        answers = await collect(*(call(f"vote{i}", tries[i], 1) for i in missing))
        unread = []
        for i, answer in zip(missing, answers, strict=True):
            tries[i] += 1
            if not (answer and _keep(result, answer[0], parse)):
                unread.append(i)
        missing = unread
    return result


@dataclass
class Answer(Generic[T]):
    """The readable reply (None if none came), the unreadable replies, the failed requests."""

    value: T | None = None
    unread: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def ask_until_read(
    model: Model,
    prompt: str,
    parse: Callable[[str], T | None],
    *,
    config: GenerateConfig,
    cache: Callable[[int], CachePolicy | bool],
    usage: JudgeUsage,
    attempts: int = 1 + DEFAULT_RETRIES,
) -> Answer[T]:
    """Ask ``model`` until a reply parses, at most ``attempts`` times.

    Args:
        model: The model asked.
        prompt: The request; a retry adds a reminder of the format (:func:`retry_text`).
        parse: The reply's value, or None for an unreadable reply (asked again).
        config: The generate settings of every attempt.
        cache: The cache policy of attempt i (False: none), so that each attempt has its own
            slot and a retry is not answered from the cache with the reply it retries.
        usage: Where the requests and tokens are counted.
        attempts: Requests at most; a failed request counts as one and is recorded in
            ``errors``, except a missing prerequisite (an API key, say), which is raised since
            every request would fail the same way.
    """
    answer: Answer[T] = Answer()
    for attempt in range(attempts):
        try:
            output = await model.generate(
                retry_text(prompt, attempt), config=config, cache=cache(attempt)
            )
        except PrerequisiteError:
            raise
        except Exception as error:  # noqa: BLE001 (recorded; the caller decides what it means)
            answer.errors.append(f"{type(error).__name__}: {error}")
            continue
        usage.add(output)
        value = parse(output.completion)
        if value is not None:
            answer.value = value
            return answer
        answer.unread.append(output.completion)
    return answer


def answers_votes_at_once(model: str) -> bool:
    """Whether one request of :func:`ask` gets all its votes from ``model`` (an Inspect model
    name); the others answer one choice, and each missing vote is asked on its own."""
    provider, _, name = model.partition("/")
    if provider not in MANY_CHOICE_PROVIDERS:
        return False
    return not (provider == "openai" and ONE_CHOICE_OPENAI.search(name.split("/")[-1]))


def retry_text(prompt: str, attempt: int) -> str:
    """The request of attempt ``attempt`` (0 first): a retry reminds the model of the format,
    so that a model at temperature 0 does not simply repeat its unreadable reply."""
    return prompt if attempt == 0 else f"{prompt}\n{RETRY_REMINDER}"


def _keep(result: JudgeResult[T], reply: str, parse: Callable[[str], T | None]) -> bool:
    parsed = parse(reply)
    if parsed is None:
        result.unparsed.append(reply)
        return False
    result.votes.append(parsed)
    result.raw_votes.append(reply)
    return True


def tag_value(reply: str, tag: str) -> str | None:
    """Text of the last ``<tag>...</tag>`` in a judge reply (the last, since judges think first)."""
    found = re.findall(rf"<{tag}>\s*(.*?)\s*</{tag}>", reply, re.DOTALL | re.IGNORECASE)
    return found[-1] if found else None


def yes_no(reply: str, tag: str) -> bool | None:
    value = (tag_value(reply, tag) or "").strip().lower()
    return {"yes": True, "no": False}.get(value)


def rating(reply: str, tag: str, low: int = 1, high: int = 5) -> int | None:
    value = (tag_value(reply, tag) or "").strip()
    return int(value) if value.isdigit() and low <= int(value) <= high else None
