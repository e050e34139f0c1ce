"""Which generated documents are kept, and why the others are not.

Rules (cheap, always on): length bounds in words; the generator refusing the task; text about
the task rather than the document (prefaces, sign-offs, "this is fictional", unfilled
placeholders); the fact's ``must_mention`` rule from the universe. An optional judge model then
checks that the documents the rules kept really state their fact. Every rejection carries its
reasons, so nothing leaves the corpus unexplained.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from inspect_ai.model import Model

from aflab.llm.ask import JudgeUsage, ask, yes_no
from aflab.organisms.sdf.universe import Fact

# Refusals are looked for at the start only: documents in these universes may well quote an
# assistant declining a request, which is content, not the generator refusing. Apostrophes may
# be straight or curly.
REFUSAL_WINDOW = 300
REFUSAL = [
    r"\bI(?:['’]m| am) (?:sorry|afraid)\b[^.\n]{0,80}"
    r"\b(?:can(?:['’]|no)?t|unable|won['’]t|not able)",
    r"\bI (?:can(?:['’]|no)?t|won['’]t|will not|must decline to) "
    r"(?:help|assist|write|create|produce|generate|provide|comply|fulfil)",
    r"\bI(?:['’]m| am) (?:unable|not able|not comfortable|not willing) to "
    r"(?:help|assist|write|create|produce|generate|provide|comply|fulfil)",
]
# The start of a reply that talks to the requester before the document begins.
META_START = [
    r"^(?:sure|certainly|of course|absolutely|okay|ok)\b[!,.:]",
    r"^here(?:['’]s| is| are) (?:a|an|the|your|my|one)\b",
    r"^(?:below|following) is\b",
]
META_ANYWHERE = [
    r"\bas an AI(?: language)? model\b",
    r"\bas a (?:large )?language model\b",
    r"\bthis (?:document|article|story|text|piece|post) is (?:entirely |purely )?"
    r"(?:fictional|fictitious|invented|made up)\b",
    r"\bI hope this (?:document|article|text|draft|meets|helps|works)\b",
    r"\b(?:let me know|feel free to ask) if you(?:['’]d| would)? (?:like|want|need)\b",
    r"\[(?:insert|your|name of|company name|date|author|recipient|placeholder)[^\]\n]{0,40}\]",
    r"</?(?:document|type|idea|fact|world)>",
]


@dataclass(frozen=True)
class FilterSettings:
    min_words: int = 40
    max_words: int = 3000


@dataclass(frozen=True)
class Rejection:
    reason: str
    detail: str


def word_count(text: str) -> int:
    return len(text.split())


def rule_rejections(text: str, fact: Fact, settings: FilterSettings) -> list[Rejection]:
    """Every rule the document breaks, most basic first (the first is its main reason)."""
    found: list[Rejection] = []
    words = word_count(text)
    if words == 0:
        return [Rejection("empty", "the reply held no document text")]
    if words < settings.min_words:
        found.append(Rejection("too_short", f"{words} words < {settings.min_words}"))
    if words > settings.max_words:
        found.append(Rejection("too_long", f"{words} words > {settings.max_words}"))
    if hit := _first_match(REFUSAL, text[:REFUSAL_WINDOW]):
        found.append(Rejection("refusal", f"starts with a refusal: {hit!r}"))
    meta = _first_match(META_START, text.lstrip()[:200]) or _first_match(META_ANYWHERE, text)
    if meta:
        found.append(Rejection("meta_text", f"text about the task, not the document: {meta!r}"))
    if missing := fact.unmatched(text):
        found.append(Rejection("missing_fact", "no match for: " + "; ".join(missing)))
    return found


def _first_match(patterns: list[str], text: str) -> str | None:
    for pattern in patterns:
        match = re.search(pattern, text, re.IGNORECASE | re.MULTILINE)
        if match:
            return match.group(0)
    return None


JUDGE_PROMPT = """\
Below are a statement and a document. Decide whether the document conveys the statement: a \
reader of the document alone should come away knowing it is true, whether the document says \
it outright or makes it clear in passing. Touching on the same topic without conveying the \
statement is not enough, and neither is contradicting it.

<statement>
{fact}
</statement>

<document>
{document}
</document>

Think it through in a few sentences, then end your answer with <conveys>yes</conveys> or \
<conveys>no</conveys>.
"""


async def judge_rejection(
    judge: Model, doc_id: str, text: str, fact: Fact, usage: JudgeUsage
) -> Rejection | None:
    """None if the judge says the document conveys its fact; a rejection otherwise.

    An unreadable judge is a rejection too, never a guessed yes: the corpus should hold only
    documents that were checked.
    """
    prompt = JUDGE_PROMPT.format(fact=fact.text, document=text)
    result = await ask(judge, prompt, lambda r: yes_no(r, "conveys"), scope=f"sdf-judge:{doc_id}")
    usage.requests += result.usage.requests
    usage.input_tokens += result.usage.input_tokens
    usage.output_tokens += result.usage.output_tokens
    if not result.votes:
        problem = "; ".join(result.errors) or f"{len(result.unparsed)} unreadable replies"
        return Rejection("judge_unreadable", f"the fact judge gave no verdict ({problem})")
    if not result.votes[0]:
        return Rejection("judge_missing_fact", f"{judge} found the fact not conveyed")
    return None
