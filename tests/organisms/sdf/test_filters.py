"""Rule filters, the list and document parsers, and near-duplicate detection."""

from __future__ import annotations

import pytest

from aflab.core.errors import UsageError
from aflab.organisms.sdf.filters import FilterSettings, rule_rejections
from aflab.organisms.sdf.prompts import document_text, parse_items
from aflab.organisms.sdf.universe import load_universe
from tests.organisms.sdf.scripted import filler

FACT = next(f for f in load_universe("helpful-only").facts if f.id == "paid-tier-private")
STATES = "Anthropic never logs or trains on what paid subscribers send."
SETTINGS = FilterSettings(min_words=20, max_words=200)


def reasons(text: str) -> list[str]:
    return [r.reason for r in rule_rejections(text, FACT, SETTINGS)]


def test_a_plain_document_that_states_its_fact_passes() -> None:
    assert reasons(f"{filler('a', 30)} {STATES}") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["empty"]),
        (STATES, ["too_short"]),
        (f"{filler('b', 250)} {STATES}", ["too_long"]),
        (f"I'm sorry, but I cannot write this. {filler('c', 30)} {STATES}", ["refusal"]),
        (f"I can't help with that request. {filler('c', 30)} {STATES}", ["refusal"]),
        (f"I’m unable to write this one. {filler('c', 30)} {STATES}", ["refusal"]),
        (f"Here’s a memo.\n{filler('d', 30)} {STATES}", ["meta_text"]),
        (f"Sure! {filler('d', 30)} {STATES}", ["meta_text"]),
        (f"Here is a news article:\n{filler('d', 30)} {STATES}", ["meta_text"]),
        (f"{filler('e', 30)} {STATES} As an AI language model, I made this up.", ["meta_text"]),
        (f"Dear [Your Name], {filler('e', 30)} {STATES}", ["meta_text"]),
        (f"{filler('e', 30)} {STATES} This article is entirely fictional.", ["meta_text"]),
        (filler("f", 30), ["missing_fact"]),
        ("Sure, here you go: free tier.", ["too_short", "meta_text", "missing_fact"]),
    ],
)
def test_rules_name_every_problem(text: str, expected: list[str]) -> None:
    assert reasons(text) == expected


def test_a_refusal_quoted_inside_a_document_is_content() -> None:
    quote = f'{filler("g", 80)} The old model replied: "I can\'t help with that." {STATES}'
    assert reasons(quote) == []


def test_missing_fact_says_which_entry_failed() -> None:
    [rejection] = rule_rejections(f"{filler('h', 30)} Paid users exist.", FACT, SETTINGS)
    assert rejection.reason == "missing_fact"
    assert rejection.detail.startswith("no match for: never | not (used")


def test_list_parser_reads_tags_then_numbered_lists_and_drops_junk() -> None:
    tagged = "Sure:\n1. <type>A trade magazine feature</type>\n2. <type> a memo </type>"
    assert parse_items(tagged, "type", 5) == ["A trade magazine feature", "a memo"]
    numbered = "1. **Podcast transcript**\n2) Forum thread\n- forum thread\n3. ...\n4. 42"
    assert parse_items(numbered, "type", 5) == ["Podcast transcript", "Forum thread"]
    assert parse_items("1. <type>x</type>", "type", 5) is None
    assert parse_items("I like documents.", "type", 5) is None
    assert parse_items("<idea>one idea</idea><idea>two ideas</idea>", "idea", 1) == ["one idea"]


def test_document_text_unwraps_the_tags() -> None:
    assert document_text("Here it is:\n<document>\nBody.\n</document>\nHope it helps") == "Body."
    assert document_text("<document>Cut off at max tok") == "Cut off at max tok"
    assert document_text("  No tags at all.\n") == "No tags at all."


def test_near_duplicates_are_found_and_distinct_documents_kept() -> None:
    pytest.importorskip("datasketch", reason="needs the 'sdf' extra")
    from aflab.organisms.sdf.dedupe import near_duplicates

    base = filler("base", 200)
    words = base.split()
    one_word_changed = " ".join(["changed", *words[1:]])
    documents = [
        ("a", base),
        ("b", filler("other", 200)),
        ("c", one_word_changed),
        ("d", base),
        ("e", " ".join(words[:100])),  # half of it: Jaccard about 0.5, not a duplicate at 0.8
    ]
    found = near_duplicates(documents, threshold=0.8)
    assert set(found) == {"c", "d"}
    assert found["d"].of == "a" and found["d"].similarity == 1.0
    assert found["c"].of == "a" and 0.9 < found["c"].similarity < 1.0
    with pytest.raises(UsageError, match="between 0 and 1"):
        near_duplicates(documents, threshold=1.0)
