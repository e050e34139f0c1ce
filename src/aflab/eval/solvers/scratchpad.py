"""The generation loop: a reply that has not closed its <OUTPUT> gets a <NEXT/> turn."""

from __future__ import annotations

from typing import Any

from inspect_ai.model import ChatMessageAssistant, ChatMessageUser
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.util import store

from aflab.core.errors import UsageError
from aflab.core.parser import is_finished, parse_transcript
from aflab.eval.solvers.turns import NEXT_TURN
from aflab.models.embedded import is_embedded

# The sample store key saying that a grammar constrained this sample's replies.
FORMAT_GRAMMAR = "format_grammar"


@solver
def scratchpad_loop(
    max_continuations: int = 4, grammar: str | None = None, constrain: bool | None = None
) -> Solver:
    """Generate, then continue with ``<NEXT/>`` until ``</OUTPUT>`` appears or the budget ends.

    Only the replies to the conversation's last user turn count, so a later turn of the same
    conversation (an anti-lab follow-up) gets a loop of its own.

    Args:
        max_continuations: ``<NEXT/>`` turns at most.
        grammar: a GBNF grammar for every reply, used when ``constrain`` allows it.
        constrain: True: always (local engines only); False: never; None: on the embedded
            llama.cpp engine (``aflab/...``), off elsewhere.
    """

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        enforce = grammar is not None and _constrained(constrain, str(state.model))
        config: dict[str, Any] = {"extra_body": {"grammar": grammar}} if enforce else {}
        store().set(FORMAT_GRAMMAR, enforce)
        start = len(state.messages)
        state = await generate(state, **config)
        continuations = 0
        while continuations < max_continuations and _should_continue(state, start):
            state.messages.append(ChatMessageUser(content=NEXT_TURN))
            state = await generate(state, **config)
            continuations += 1
        store().set("continuations", continuations)
        store().set("loop_exhausted", not _finished(state, start))
        return state

    return solve


def assistant_replies(
    state: TaskState, start: int = 0, end: int | None = None
) -> tuple[list[str], list[str]]:
    """Texts and native reasoning blocks of the assistant turns in messages[start:end], in order."""
    texts: list[str] = []
    reasoning: list[str] = []
    for message in state.messages[start:end]:
        if isinstance(message, ChatMessageAssistant):
            texts.append(message.text)
            if not isinstance(message.content, str):
                reasoning += [c.reasoning for c in message.content if c.type == "reasoning"]
    return texts, reasoning


def _constrained(constrain: bool | None, model: str) -> bool:
    if constrain is None:
        return is_embedded(model)
    if constrain and not is_embedded(model):
        raise UsageError(
            f"constrain_format needs a local llama.cpp engine (aflab/...), not {model}: "
            "API models are never constrained"
        )
    return constrain


def _should_continue(state: TaskState, start: int) -> bool:
    # model_length: the context is full, another turn cannot help.
    limited = state.completed or state.output.stop_reason == "model_length"
    return not limited and not _finished(state, start)


def _finished(state: TaskState, start: int) -> bool:
    return is_finished(parse_transcript(*assistant_replies(state, start)))
