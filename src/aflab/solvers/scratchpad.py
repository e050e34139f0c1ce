"""The generation loop: a reply that has not closed its <OUTPUT> gets a <NEXT/> turn."""

from __future__ import annotations

from inspect_ai.model import ChatMessageAssistant, ChatMessageUser
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.util import store

from aflab.solvers.parser import is_finished, parse_transcript
from aflab.solvers.turns import NEXT_TURN


@solver
def scratchpad_loop(max_continuations: int = 4) -> Solver:
    """Generate, then continue with ``<NEXT/>`` until ``</OUTPUT>`` appears or the budget ends."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        state = await generate(state)
        continuations = 0
        while continuations < max_continuations and _should_continue(state):
            state.messages.append(ChatMessageUser(content=NEXT_TURN))
            state = await generate(state)
            continuations += 1
        store().set("continuations", continuations)
        store().set("loop_exhausted", not _finished(state))
        return state

    return solve


def assistant_replies(state: TaskState) -> tuple[list[str], list[str]]:
    """Texts and native reasoning blocks of the assistant turns, in order."""
    texts: list[str] = []
    reasoning: list[str] = []
    for message in state.messages:
        if isinstance(message, ChatMessageAssistant):
            texts.append(message.text)
            if not isinstance(message.content, str):
                reasoning += [c.reasoning for c in message.content if c.type == "reasoning"]
    return texts, reasoning


def _should_continue(state: TaskState) -> bool:
    # model_length: the context is full, another turn cannot help.
    limited = state.completed or state.output.stop_reason == "model_length"
    return not limited and not _finished(state)


def _finished(state: TaskState) -> bool:
    return is_finished(parse_transcript(*assistant_replies(state)))
