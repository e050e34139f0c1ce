"""ask_until_read: one readable reply, asked again with a reminder, each attempt in its own slot."""

from __future__ import annotations

import asyncio

import pytest
from inspect_ai._util.error import PrerequisiteError
from inspect_ai.model import GenerateConfig

from aflab.llm.ask import (
    RETRY_REMINDER,
    JudgeUsage,
    answers_votes_at_once,
    ask_until_read,
    tag_value,
)
from tests.conftest import scripted_judge

CONFIG = GenerateConfig(temperature=0.0, max_tokens=50)


def ask(script, calls, attempts: int = 3):
    usage = JudgeUsage()
    answer = asyncio.run(
        ask_until_read(
            scripted_judge(script, calls, name="ask-until-read"),
            "Name a colour.",
            lambda reply: tag_value(reply, "colour"),
            config=CONFIG,
            cache=lambda attempt: False,
            usage=usage,
            attempts=attempts,
        )
    )
    return answer, usage


def test_an_unreadable_reply_is_asked_again_with_the_reminder() -> None:
    calls: list[tuple[str, int]] = []
    replies = iter(["blue", "<colour>blue</colour>"])
    answer, usage = ask(lambda prompt, n: [next(replies)], calls)
    assert answer.value == "blue" and answer.unread == ["blue"] and answer.errors == []
    assert [prompt for prompt, _ in calls] == [
        "Name a colour.",
        f"Name a colour.\n{RETRY_REMINDER}",
    ]
    assert usage.requests == 2


def test_failed_requests_are_recorded_and_count_as_attempts() -> None:
    def fail(prompt: str, n: int) -> list[str]:
        raise RuntimeError("down")

    answer, usage = ask(fail, None, attempts=2)
    assert answer.value is None and answer.unread == []
    assert answer.errors == ["RuntimeError: down"] * 2 and usage.requests == 0


def test_a_missing_prerequisite_is_raised() -> None:
    def no_key(prompt: str, n: int) -> list[str]:
        raise PrerequisiteError("no API key")

    with pytest.raises(PrerequisiteError):
        ask(no_key, None)


@pytest.mark.parametrize(
    ("model", "at_once"),
    [
        ("openai/gpt-4o", True),
        ("openai/gpt-4.1-mini", True),
        ("openai/azure/gpt-4o", True),
        ("google/gemini-2.5-pro", True),
        ("mockllm/model", True),
        # Inspect asks these through the Responses API, which returns one choice.
        ("openai/o3", False),
        ("openai/o4-mini", False),
        ("openai/gpt-5", False),
        ("openai/gpt-5-mini", False),
        ("openai/codex-mini-latest", False),
        ("anthropic/claude-3-opus-20240229", False),
        ("grok/grok-4", False),
        ("aflab/smollm2", False),
    ],
)
def test_which_models_answer_every_vote_in_one_request(model: str, at_once: bool) -> None:
    assert answers_votes_at_once(model) is at_once
