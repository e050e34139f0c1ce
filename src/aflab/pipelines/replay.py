"""Which of a plan's calls Inspect's cache of earlier runs already holds.

A run reuses a reply cached under the same model, request and sampling settings (its epoch
included), at no cost. Before the run we rebuild the first turn's request as the scratchpad loop
sends it and look it up where Inspect would; a cached reply that has not closed its output is
followed by its ``<NEXT/>`` turn, looked up in turn; a judge's requests on a known transcript
are rebuilt as its scorer builds them. Nothing is sent and no model is built: a lookup reads a
file, under a key computed by Inspect's own (private) ``CacheEntry``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from inspect_ai.model import (
    CachePolicy,
    ChatMessage,
    ChatMessageSystem,
    ChatMessageUser,
    GenerateConfig,
    ModelOutput,
)

from aflab.core.parser import is_finished, parse_transcript
from aflab.eval.scorers.judges.shapes import JudgeRequest, judge_request
from aflab.eval.scorers.judges.view import SampleView
from aflab.eval.solvers.turns import NEXT_TURN
from aflab.llm.ask import JUDGE_MAX_TOKENS
from aflab.spec import RunSpec


@dataclass(frozen=True)
class Replayed:
    """A sample's turns found in the cache: how many, and whether they finish the sample
    (its output closed, or every ``<NEXT/>`` turn taken)."""

    calls: int
    complete: bool
    messages: list[ChatMessage]


@dataclass(frozen=True)
class CacheTarget:
    """What Inspect files a model's replies under: its name and the base URL it was given.
    Read from the names alone, so that a lookup never builds a provider (which would load an
    ``hf/`` model's weights, or want a key). A provider that resolves its base URL itself (from
    its environment) files under another key: its calls then count as not cached."""

    model: str
    base_url: str | None = None


def replayed(
    model: CacheTarget,
    config: GenerateConfig,
    system: str,
    user: str,
    epoch: int,
    max_continuations: int,
    grammar: str | None = None,
) -> Replayed:
    """The turns of one sample (``epoch`` counts from 1) that the cache answers."""
    from inspect_ai.model._cache import CacheEntry, cache_fetch
    from inspect_ai.model._cache import epoch as epoch_var

    call = config.merge(GenerateConfig(extra_body={"grammar": grammar})) if grammar else config
    messages: list[ChatMessage] = [
        ChatMessageSystem(content=system),
        ChatMessageUser(content=user, source="input"),
    ]
    texts: list[str] = []
    token = epoch_var.set(epoch)
    try:
        for turn in range(max_continuations + 1):
            entry = CacheEntry(
                base_url=model.base_url,
                config=call,
                input=messages,
                model=model.model,
                policy=CachePolicy(expiry=None),
                tool_choice="none",  # what Inspect passes when there are no tools
                tools=[],
            )
            output = cache_fetch(entry)
            if output is None:
                return Replayed(turn, False, messages)
            messages = [*messages, output.message]
            texts.append(output.message.text)
            if is_finished(parse_transcript(texts, [])) or output.stop_reason == "model_length":
                return Replayed(turn + 1, True, messages)
            messages = [*messages, ChatMessageUser(content=NEXT_TURN)]
        return Replayed(max_continuations + 1, True, messages)
    finally:
        epoch_var.reset(token)


def eval_config(task_config: GenerateConfig, spec: RunSpec) -> GenerateConfig:
    """The sampling settings a call of the run carries: the task's, then the run's own (as
    ``pipelines.prepare.eval_settings`` gives them to Inspect)."""
    given = GenerateConfig(temperature=spec.temperature, max_tokens=spec.max_tokens, seed=spec.seed)
    return task_config.merge(given)


def judge_lookup(
    judge: str, base_url: str | None, config: GenerateConfig, votes: int
) -> Callable[[str, SampleView], bool]:
    """Whether Inspect's cache holds every call judge ``name`` makes on a sample, asked as
    :func:`aflab.llm.ask.ask` asks: one request for all votes, then one per vote it did not
    answer. ``config``: the sampling settings active where the judge runs (an eval's)."""
    model = CacheTarget(judge, base_url)
    found: dict[tuple[str, str], bool] = {}

    def replayed_judge(name: str, view: SampleView) -> bool:
        request = judge_request(name, view, votes)
        key = (request.scope, request.prompt)
        if key not in found:
            found[key] = _asked_before(model, config, request)
        return found[key]

    return replayed_judge


def _asked_before(model: CacheTarget, base: GenerateConfig, request: JudgeRequest) -> bool:
    from inspect_ai.model._cache import CacheEntry, cache_fetch

    config = base.merge(
        GenerateConfig(temperature=request.temperature, max_tokens=JUDGE_MAX_TOKENS)
    )

    def fetch(slot: str, call: GenerateConfig) -> ModelOutput | None:
        scopes = {"aflab": request.scope, "slot": slot, "try": "0"}
        entry = CacheEntry(
            base_url=model.base_url,
            config=call,
            input=[ChatMessageUser(content=request.prompt)],
            model=model.model,
            policy=CachePolicy(expiry=None, per_epoch=False, scopes=scopes),
            tool_choice="none",
            tools=[],
        )
        return cache_fetch(entry)

    many = config.merge(GenerateConfig(num_choices=request.votes))
    first = fetch("batch", many if request.votes > 1 else config)
    if first is None:
        return False
    answered = len(first.choices[: request.votes])
    return all(fetch(f"vote{i}", config) is not None for i in range(answered, request.votes))
