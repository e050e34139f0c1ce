"""Where in a transcript's tokens the probes look.

The conversation is rendered by the model's own chat template and tokenized as Inspect's ``hf/``
provider does (``tokenizer(text)``), so the tokens are those the policy read and wrote when it ran
through ``hf/``. Each message's text is found in the rendered text, and character offsets map it
to tokens: a position is the last token that ends at or before a character, so a token that
straddles a boundary is never counted on the wrong side.

- ``system_end``: the system prompt's last token (the same for every sample of a prompt);
- ``user_end``: the first user turn's last token (after the tier cue and the request);
- ``prompt_end``: the last token before the model's first reply (the generation prompt's end);
- ``scratchpad_mean``: every token inside the scratchpad blocks, averaged;
- ``pre_output``: the last token before ``<OUTPUT>``.

The first three come before any reasoning: what they encode was there before the model wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aflab.core.parser import OUTPUT_OPEN, SCRATCHPAD_BLOCK

POSITIONS = ("system_end", "user_end", "prompt_end", "scratchpad_mean", "pre_output")
BEFORE_REASONING = ("system_end", "user_end", "prompt_end")


class Unplaceable(ValueError):
    """A transcript whose messages cannot be found in its rendered text."""


@dataclass(frozen=True)
class Message:
    role: str
    content: str


@dataclass
class Located:
    """The token ids of a transcript and, per position, the token indices it averages (one for a
    single-token position); ``missing`` names the positions the transcript lacks."""

    input_ids: list[int]
    indices: dict[str, list[int]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def locate(tokenizer: Any, messages: Sequence[Message]) -> Located:
    """Tokenize ``messages`` and find the five positions.

    Raises:
        Unplaceable: when a message's text is not in what the chat template made of it.
    """
    text = tokenizer.apply_chat_template(
        [{"role": m.role, "content": m.content} for m in messages], tokenize=False
    )
    spans = _message_spans(text, messages)
    encoded = tokenizer(text, return_offsets_mapping=True)
    ids, offsets = list(encoded["input_ids"]), [tuple(o) for o in encoded["offset_mapping"]]
    ends = [end if end > start else -1 for start, end in offsets]  # added tokens: no text

    def last_before(char: int) -> int | None:
        found = [i for i, end in enumerate(ends) if 0 <= end <= char]
        return found[-1] if found else None

    def ending(role: str) -> int | None:
        span = next((s for m, s in zip(messages, spans, strict=True) if m.role == role), None)
        return last_before(span[1]) if span else None

    first_reply = next(
        (s for m, s in zip(messages, spans, strict=True) if m.role == "assistant"), None
    )
    singles = {
        "system_end": ending("system"),
        "user_end": ending("user"),
        "prompt_end": last_before(first_reply[0]) if first_reply else None,
        "pre_output": _pre_output(messages, spans, last_before),
    }
    located = Located(ids)
    for name, index in singles.items():
        if index is not None:
            located.indices[name] = [index]
    inside = _scratchpad_tokens(messages, spans, offsets)
    if inside:
        located.indices["scratchpad_mean"] = inside
    located.missing = [p for p in POSITIONS if p not in located.indices]
    return located


Span = tuple[int, int, int]  # start, end, and where the untrimmed content would start


def _message_spans(text: str, messages: Sequence[Message]) -> list[Span]:
    """Each message's characters in ``text``, found in order; templates may trim a message, so
    its stripped text is tried too (``origin`` then maps the untrimmed content's offsets)."""
    spans, cursor = [], 0
    for number, message in enumerate(messages):
        full = message.content
        for content in (full, full.strip()):
            start = text.find(content, cursor) if content else -1
            if start >= 0:
                break
        else:
            raise Unplaceable(f"message {number} ({message.role}) is not in the rendered chat")
        lead = len(full) - len(full.lstrip()) if content != full else 0
        spans.append((start, start + len(content), start - lead))
        cursor = start + len(content)
    return spans


def _pre_output(messages: Sequence[Message], spans: Sequence[Span], last_before: Any) -> int | None:
    for message, (_, _, origin) in zip(messages, spans, strict=True):
        if message.role != "assistant":
            continue
        opening = OUTPUT_OPEN.search(message.content)
        if opening:
            return last_before(origin + opening.start())  # type: ignore[no-any-return]
    return None


def _scratchpad_tokens(
    messages: Sequence[Message],
    spans: Sequence[Span],
    offsets: Sequence[tuple[int, int]],
) -> list[int]:
    """Tokens that lie wholly inside a scratchpad block's text (the tags left out)."""
    blocks = [
        (origin + block.start(1), origin + block.end(1))
        for message, (_, _, origin) in zip(messages, spans, strict=True)
        if message.role == "assistant"
        for block in SCRATCHPAD_BLOCK.finditer(message.content)
    ]
    return [
        i
        for i, (first, last) in enumerate(offsets)
        if last > first and any(a <= first and last <= b for a, b in blocks)
    ]
