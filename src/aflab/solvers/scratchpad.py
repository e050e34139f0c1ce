"""The generation loop: a reply that has not closed its <OUTPUT> gets a <NEXT/> turn."""

from __future__ import annotations

from inspect_ai.model import ChatMessageAssistant, ChatMessageUser
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.util import store

from aflab.solvers.parser import is_finished, parse_transcript
from aflab.solvers.turns import NEXT_TURN


@solver
def scratchpad_loop(max_continuations: int = 4) -> Solver:
    """Generate, then continue with ``<NEXT/>`` until ``</OUTPUT>`` appears or the budget ends.

    Only the replies to the conversation's last user turn count, so a later turn of the same
    conversation (an anti-lab follow-up) gets a loop of its own."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        start = len(state.messages)
        state = await generate(state)
        continuations = 0
        while continuations < max_continuations and _should_continue(state, start):
            state.messages.append(ChatMessageUser(content=NEXT_TURN))
            state = await generate(state)
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


def _should_continue(state: TaskState, start: int) -> bool:
    # model_length: the context is full, another turn cannot help.
    limited = state.completed or state.output.stop_reason == "model_length"
    return not limited and not _finished(state, start)


def _finished(state: TaskState, start: int) -> bool:
    return is_finished(parse_transcript(*assistant_replies(state, start)))
