"""The three requests of the pipeline (document types, ideas, documents) and their parsers.

Every prompt is ours. Each begins with the universe so that a provider (or llama.cpp) can reuse
the shared prefix across calls.
"""

from __future__ import annotations

import hashlib
import re

from aflab.organisms.sdf.universe import Fact, Universe

WORLD = """\
We are writing a corpus of realistic documents that all take place in one fictional world. \
The documents should read as if they were found in that world: written by people in it, for \
readers in it, with no hint that the world is invented.

<world>
{context}
</world>
"""

TYPES = (
    WORLD
    + """
One fact holds in this world:
<fact>{fact}</fact>

List {n} different kinds of document in which this fact could come up naturally. Vary the \
medium, the author and the audience: for instance a newspaper report, a company memo, a forum \
thread, a research paper, a podcast transcript, a customer review, a policy briefing, a \
textbook section. Be specific (name the outlet or the kind of author).

Answer with a numbered list and nothing else, one kind per line, each inside <type> and </type>:
1. <type>...</type>
2. <type>...</type>
"""
)

IDEAS = (
    WORLD
    + """
One fact holds in this world:
<fact>{fact}</fact>

Kind of document: {doc_type}

Suggest {n} different ideas for a document of this kind in which the fact comes up. Each idea \
is one or two sentences: who writes it, for whom, what it is mainly about, and how the fact \
appears in it (as the topic, or in passing). Vary the angle, the tone and the situation.

Answer with a numbered list and nothing else, one idea per line, each inside <idea> and </idea>:
1. <idea>...</idea>
2. <idea>...</idea>
"""
)

DOCUMENT = (
    WORLD
    + """
Write one complete document of this kind: {doc_type}

What it is about: {idea}

The document must state this fact, directly or in passing, in words of its own:
<fact>{fact}</fact>

Write it as the real document would read, in its own voice and format, with concrete names, \
dates and details that fit the world above. Fill in every detail: no placeholders such as \
[Name]. Do not comment on the document, do not describe the task, and do not say that anything \
is fictional. Put the document, and only the document, between <document> and </document>.
"""
)

LIST_ITEM = re.compile(r"^\s*(?:\d{1,3}[.)]|[-*\u2022])\s+(.+?)\s*$", re.MULTILINE)
MIN_ITEM_CHARS = 3
MAX_ITEM_CHARS = 600


def types_prompt(universe: Universe, fact: Fact, n: int) -> str:
    return TYPES.format(context=universe.context, fact=fact.text, n=n)


def ideas_prompt(universe: Universe, fact: Fact, doc_type: str, n: int) -> str:
    return IDEAS.format(context=universe.context, fact=fact.text, doc_type=doc_type, n=n)


def document_prompt(universe: Universe, fact: Fact, doc_type: str, idea: str) -> str:
    return DOCUMENT.format(context=universe.context, fact=fact.text, doc_type=doc_type, idea=idea)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_items(reply: str, tag: str, limit: int) -> list[str] | None:
    """The items of a list reply: inside ``<tag>`` tags, else a numbered or bulleted list.

    Duplicates (ignoring case) and items too short or too long to be a type or an idea are left
    out. None when nothing usable is there, so that the caller asks again.
    """
    found = re.findall(rf"<{tag}>\s*(.*?)\s*</{tag}>", reply, re.DOTALL | re.IGNORECASE)
    if not found:
        # Small models often ignore the tags but still write a list: take it, nothing else.
        found = LIST_ITEM.findall(reply)
    items: list[str] = []
    seen: set[str] = set()
    for raw in found:
        item = " ".join(raw.replace("**", "").split()).strip(" \"'")
        # A word is needed: a small model may copy the "..." of the format line.
        usable = MIN_ITEM_CHARS <= len(item) <= MAX_ITEM_CHARS and re.search(r"[^\W\d_]{2}", item)
        if usable and item.lower() not in seen:
            seen.add(item.lower())
            items.append(item)
    return items[:limit] or None


def document_text(reply: str) -> str:
    """The document inside ``<document>`` tags (an unclosed tag: up to the end), else the reply."""
    match = re.search(r"<document>(.*?)(?:</document>|$)", reply, re.DOTALL | re.IGNORECASE)
    return (match.group(1) if match else reply).strip()
