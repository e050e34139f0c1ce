"""The generation loop: a reply that has not closed its <OUTPUT> gets a <NEXT/> turn."""

from __future__ import annotations

from inspect_ai.model import ChatMessageAssistant, ChatMessageSystem, ChatMessageUser
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.util import store

from aflab.solvers.parser import has_closed_output
from aflab.solvers.turns import NEXT_TURN


@solver
def system_prompt(text: str) -> Solver:
    """Put ``text`` first, verbatim (Inspect's ``system_message`` would format ``{}`` in it)."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        state.messages.insert(0, ChatMessageSystem(content=text))
        return state

    return solve


@solver
def scratchpad_loop(max_continuations: int = 4) -> Solver:
    """Generate, then continue with ``<NEXT/>`` until ``</OUTPUT>`` appears or the budget ends."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        state = await generate(state)
        continuations = 0
        while (
            not state.completed
            and not has_closed_output(_last_reply(state))
            and continuations < max_continuations
        ):
            state.messages.append(ChatMessageUser(content=NEXT_TURN))
            state = await generate(state)
            continuations += 1
        store().set("continuations", continuations)
        store().set("loop_exhausted", not has_closed_output(_last_reply(state)))
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


def _last_reply(state: TaskState) -> str:
    for message in reversed(state.messages):
        if isinstance(message, ChatMessageAssistant):
            return message.text
    return ""
