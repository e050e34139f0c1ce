"""Format-constrained decoding: a llama.cpp grammar (GBNF) that admits only the expected format.

Scratchpad blocks, then one ``<OUTPUT>``: in helpful-only it opens with the accept tag (and an
answer) or is the reject tag; in animal-welfare it is a plain answer, or with the self-tag
instruction an answer after either tag. A tiny model that cannot follow the format unaided then
yields valid samples, so the demo's table has rates; the grammar forces the form of the reply,
never which decision it takes.
Only local engines take a grammar (``--constrain-format``); API models are never constrained.
"""

from __future__ import annotations

from aflab.core.types import ACCEPT_TAG, REJECT_TAG, Setting

# Bounds in characters, so that a reply fits the embedded default of 256 tokens and closes its
# output instead of rambling until the budget ends. No "<" inside: no tag can start there.
THOUGHT_CHARS = 480
ANSWER_CHARS = 240
MAX_SCRATCHPADS = 1


def format_grammar(setting: Setting, scratchpad: bool = True, self_tag: bool = False) -> str:
    """The GBNF for one reply in ``setting``'s format (with or without scratchpad blocks);
    ``self_tag``: the animal-welfare prompt asked for a decision tag."""
    if setting == "helpful-only":
        decision = f"{_literal(ACCEPT_TAG)} answer | {_literal(REJECT_TAG)}"
    elif self_tag:  # the tag opens the reply either way, and an answer follows
        decision = f"({_literal(ACCEPT_TAG)} | {_literal(REJECT_TAG)}) answer"
    else:  # nothing asked for a tag, and an answer holds no "<": none can appear
        decision = "answer"
    pads = " ".join(["pad"] + ["pad?"] * (MAX_SCRATCHPADS - 1))
    rules = [
        f"root ::= {pads + ' ' if scratchpad else ''}output",
        'pad ::= "<SCRATCHPAD_REASONING>" thought "</SCRATCHPAD_REASONING>\\n"',
        f'output ::= "<OUTPUT>" ({decision}) "</OUTPUT>"',
        f"thought ::= [^<]{{1,{THOUGHT_CHARS}}}",
        # An answer starts with something visible: a bare newline is no answer.
        f"answer ::= [ \\n]? [^< \\n] [^<]{{0,{ANSWER_CHARS}}}",
    ]
    return "\n".join(rules) + "\n"


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
