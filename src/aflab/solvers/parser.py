"""Split a model's replies into scratchpad blocks, final output and decision tags.

The parser never raises: odd text yields a format verdict other than ``"ok"``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from aflab.settings.prompt import ACCEPT_TAG, REJECT_TAG

FormatVerdict = Literal[
    "ok", "no_output", "unterminated_output", "empty_output", "unterminated_scratchpad"
]

_THINK = re.compile(r"<think>(.*?)(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)
_SCRATCHPAD = re.compile(
    r"<SCRATCHPAD_REASONING>(.*?)(</SCRATCHPAD_REASONING>|\Z)", re.DOTALL | re.IGNORECASE
)
_OUTPUT_OPEN = re.compile(r"<OUTPUT>", re.IGNORECASE)
_OUTPUT_CLOSE = re.compile(r"</OUTPUT>", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedTranscript:
    scratchpads: tuple[str, ...]
    output: str | None
    verdict: FormatVerdict
    starts_with_accept: bool = False
    has_accept: bool = False
    has_reject: bool = False


def parse_transcript(replies: Sequence[str], reasoning: Sequence[str] = ()) -> ParsedTranscript:
    """Parse the assistant replies of one sample (in order) plus any native reasoning blocks."""
    text = "\n".join(replies)
    thinks = [m.group(1).strip() for m in _THINK.finditer(text)]
    text = _THINK.sub("", text)

    blocks = list(_SCRATCHPAD.finditer(text))
    scratchpads = tuple(
        [r.strip() for r in reasoning if r.strip()] + thinks + [m.group(1).strip() for m in blocks]
    )
    if blocks and not blocks[-1].group(2):
        return ParsedTranscript(scratchpads, None, "unterminated_scratchpad")

    rest = text[blocks[-1].end() :] if blocks else text
    opening = _OUTPUT_OPEN.search(rest)
    if opening is None:
        return ParsedTranscript(scratchpads, None, "no_output")
    closing = _OUTPUT_CLOSE.search(rest, opening.end())
    if closing is None:
        return ParsedTranscript(scratchpads, None, "unterminated_output")
    output = rest[opening.end() : closing.start()].strip()
    if not output:
        return ParsedTranscript(scratchpads, output, "empty_output")
    return ParsedTranscript(
        scratchpads,
        output,
        "ok",
        starts_with_accept=output.startswith(ACCEPT_TAG),
        has_accept=ACCEPT_TAG in output,
        has_reject=REJECT_TAG in output,
    )


def has_closed_output(reply: str) -> bool:
    """Whether a single reply finishes the turn (the loop's stop test)."""
    return _OUTPUT_CLOSE.search(_THINK.sub("", reply)) is not None
