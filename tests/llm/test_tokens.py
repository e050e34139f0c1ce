"""Counting tokens offline: the embedded model's own tokenizer, else the stated approximation."""

from __future__ import annotations

from aflab.llm.tokens import (
    REPLY_PREFIX_TOKENS,
    TEMPLATE_TOKENS_PER_MESSAGE,
    approximate,
    token_counter,
)
from aflab.models.embedded import count_tokens


def test_the_embedded_model_counts_with_its_own_tokenizer() -> None:
    counter = token_counter("aflab/smollm2")
    text = "Write a poem about the sea, in the style of a weather report."
    assert counter.exact and counter.count(text) == count_tokens(text) != approximate(text)
    assert "own tokenizer" in counter.method


def test_an_api_model_is_approximated_and_says_so() -> None:
    counter = token_counter("anthropic/claude-3-opus-20240229")
    assert not counter.exact and "approximation, 4 characters a token" in counter.method
    assert counter.count("x" * 41) == 11


def test_a_conversation_adds_the_chat_template() -> None:
    counter = token_counter("openai/gpt-4o")
    texts = ["a" * 40, "b" * 80]
    expected = 10 + 20 + 2 * TEMPLATE_TOKENS_PER_MESSAGE + REPLY_PREFIX_TOKENS
    assert counter.conversation(texts) == expected


def test_a_local_folder_without_a_tokenizer_falls_back_to_the_approximation(tmp_path) -> None:
    counter = token_counter(f"hf/{tmp_path}")
    assert not counter.exact
