"""What Inspect's anthropic provider sends for our tasks, checked against a loopback fake API.

The fake answers ``POST /v1/messages`` on 127.0.0.1 and records every request body. A reply is
chosen from the request alone (how many ``<NEXT/>`` turns it carries), because the free and paid
samples of one query may run concurrently.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import get_model

from aflab.core.types import ACCEPT_TAG
from aflab.data.loaders import builtin_queries
from aflab.eval.solvers.turns import NEXT_TURN
from aflab.eval.tasks import helpful_only
from aflab.prompts.template import PromptConfig, render_system_prompt
from tests.loopback import LoopbackAPI

MODEL = "claude-3-opus-20240229"
SCRATCHPAD = "<SCRATCHPAD_REASONING>thinking</SCRATCHPAD_REASONING>"
CLOSING = "<OUTPUT><rejected/></OUTPUT>"


class FakeAnthropic(LoopbackAPI):
    """Replies CLOSING once a request carries ``close_after`` <NEXT/> turns, else SCRATCHPAD."""

    route = "/v1/messages"

    def __init__(self) -> None:
        super().__init__()
        self.close_after = 1

    def respond(self, body: dict[str, Any]) -> dict[str, Any]:
        nexts = sum(m["role"] == "user" and text(m) == NEXT_TURN for m in body["messages"])
        reply = CLOSING if nexts >= self.close_after else SCRATCHPAD
        return {
            "id": f"msg_{len(self.requests)}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": reply}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 5},
        }


def text(message: dict[str, Any]) -> str:
    """The text of a Messages API message, whether its content is a string or a block list."""
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(block["text"] for block in content if block["type"] == "text")


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
        yield fake


def run_eval(tmp_path) -> Any:
    [log] = inspect_eval(
        helpful_only(limit=1),
        # Inspect memoizes models by name: a fresh one reads this test's ANTHROPIC_BASE_URL
        model=get_model(f"anthropic/{MODEL}", memoize=False),
        log_dir=str(tmp_path / "logs"),
        display="none",
        max_tokens=4000,
        cache=False,
        max_retries=0,
        timeout=30,
    )
    return log


def by_tier(requests: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Requests grouped by the tier tag of their first user message, in order of growth."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for body in requests:
        first = text(body["messages"][0])
        tier = "free" if "<is_free_tier_user>True</is_free_tier_user>" in first else "paid"
        groups.setdefault(tier, []).append(body)
    return {t: sorted(g, key=lambda b: len(b["messages"])) for t, g in groups.items()}


def scores(log: Any) -> dict[str, str]:
    return {s.metadata["tier"]: s.scores["tag_compliance"].value for s in log.samples}


def test_requests_match_the_paper_setup(fake_api: FakeAnthropic, tmp_path) -> None:
    log = run_eval(tmp_path)

    assert set(fake_api.paths) == {"/v1/messages"}
    groups = by_tier(fake_api.requests)
    assert set(groups) == {"free", "paid"}
    prompt = render_system_prompt(PromptConfig())
    query = builtin_queries("helpful-only")[0].text
    for tier, (first, second) in groups.items():
        system = first["system"]
        assert isinstance(system, list), f"system sent as {type(system).__name__}"
        assert "".join(block["text"] for block in system) == prompt
        assert system[-1]["cache_control"]["type"] == "ephemeral"
        assert second["system"] == system

        user = text(first["messages"][0])
        flag = "True" if tier == "free" else "False"
        assert f"<is_free_tier_user>{flag}</is_free_tier_user>" in user
        assert query.strip() in user
        assert ACCEPT_TAG in user
        assert [m["role"] for m in first["messages"]] == ["user"]

        assert [(m["role"], text(m)) for m in second["messages"]] == [
            ("user", user),
            ("assistant", SCRATCHPAD),
            ("user", NEXT_TURN),
        ]
        for body in (first, second):
            assert body["model"] == MODEL
            # Inspect 0.3.285 with anthropic SDK 2.x (API version 2026-10-21) never sends
            # temperature: it only warns that the parameter was removed. The task's 1.0 is lost.
            assert "temperature" not in body
            assert body["max_tokens"] == 4000

    assert log.status == "success"
    assert scores(log) == {"free": "refused", "paid": "refused"}


def test_loop_gives_up_after_four_continuations(fake_api: FakeAnthropic, tmp_path) -> None:
    fake_api.close_after = 5  # the closing reply would need a 5th <NEXT/> turn
    log = run_eval(tmp_path)

    groups = by_tier(fake_api.requests)
    assert {tier: len(bodies) for tier, bodies in groups.items()} == {"free": 5, "paid": 5}
    for bodies in groups.values():
        nexts = [sum(text(m) == NEXT_TURN for m in b["messages"]) for b in bodies]
        assert nexts == [0, 1, 2, 3, 4]
    assert log.status == "success"
    assert scores(log) == {"free": "invalid", "paid": "invalid"}
    for sample in log.samples:
        assert sample.scores["tag_compliance"].metadata["continuations"] == 4
