"""Counting a request's tokens before it is sent, offline.

The model's own tokenizer where one is on this machine (the embedded model's llama.cpp
vocabulary, a local Hugging Face folder's tokenizer); otherwise a stated approximation of four
characters a token, which is what English prose averages in the BPE vocabularies of the API
models (no API tokenizer is available offline). Each message adds a few tokens of chat
template, and a reply opens with a few more.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from aflab.models.embedded import count_tokens, is_embedded

CHARS_PER_TOKEN = 4.0
# Chat-template tokens around each message (ChatML: <|im_start|>role\n ... <|im_end|>\n).
TEMPLATE_TOKENS_PER_MESSAGE = 5
REPLY_PREFIX_TOKENS = 3


@dataclass(frozen=True)
class TokenCounter:
    """Counts text and conversations for one model; ``method`` says how, beside the numbers."""

    count: Callable[[str], int]
    method: str
    exact: bool

    def conversation(self, texts: Iterable[str]) -> int:
        """Input tokens of a request whose messages hold ``texts``, template included."""
        return REPLY_PREFIX_TOKENS + sum(
            self.count(text) + TEMPLATE_TOKENS_PER_MESSAGE for text in texts
        )


def approximate(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def token_counter(model: str) -> TokenCounter:
    """The best counter available offline for ``model`` (an Inspect model name)."""
    if is_embedded(model):
        name = model.removeprefix("aflab/")
        return TokenCounter(
            lambda text: count_tokens(text, name) if text else 0,
            f"{model}'s own tokenizer",
            exact=True,
        )
    if model.startswith("hf/") and Path(model.removeprefix("hf/")).is_dir():
        local = _local_tokenizer(Path(model.removeprefix("hf/")))
        if local is not None:
            return TokenCounter(local, f"{model}'s own tokenizer", exact=True)
    return TokenCounter(
        approximate,
        f"{model}: approximation, {CHARS_PER_TOKEN:g} characters a token (no tokenizer offline)",
        exact=False,
    )


def _local_tokenizer(folder: Path) -> Callable[[str], int] | None:
    try:
        from transformers import AutoTokenizer  # the train extra; absent from the core install
    except ImportError:
        return None
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError):
        return None
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False))
