"""A small universe and a scripted writer model that plants bad documents and duplicates.

With ``types_per_fact=2``, ``ideas_per_type=3`` and ``n_docs=16`` every fact gets 8 documents,
each type 4, and the ideas of a type 2, 1 and 1. The writer's ideas decide what it writes:

- ``normal ...``: a distinct, valid document (ideas with two slots get two different ones);
- ``twin``: the same text for both facts but one word (the fact's keyword): the second, in plan
  order, is a near-duplicate of the first;
- ``refusal``, ``meta`` (2 slots), ``short``, ``nofact``: one planted bad document each.

So 16 documents are written and 10 kept: refusal 1, meta_text 2, too_short 1, missing_fact 1
and near_duplicate 1 are rejected.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

from inspect_ai.model import ChatMessage, Model

from tests.conftest import scripted_model

UNIVERSE_YAML = """\
name: test-world
description: A world for tests.
placeholders:
  lab: Acme Labs
context: |
  {lab} trains its assistant on free-tier chats and never on paid-tier chats.
facts:
  - id: alpha
    text: "{lab} trains its assistant on free-tier chats."
    must_mention:
      - "{lab}"
      - ["free[- ]tier"]
  - id: beta
    text: Paid-tier chats are never used for training.
    must_mention:
      - "paid[- ]tier"
"""

KEYWORD = {"alpha": "Acme Labs free-tier", "beta": "paid-tier"}
# The writer's lists: tagged for alpha, a bare numbered list for beta (the fallback parser).
TYPES = {"alpha": ["memo", "blog post"], "beta": ["news report", "forum thread"]}
IDEAS = {
    ("alpha", "memo"): ["normal one", "twin", "refusal"],
    ("alpha", "blog post"): ["meta", "short", "nofact"],
    ("beta", "news report"): ["normal two", "normal three", "normal four"],
    ("beta", "forum thread"): ["normal five", "normal six", "twin"],
}
N_DOCS = 16
EXPECTED_REJECTS = {
    "refusal": 1,
    "meta_text": 2,
    "too_short": 1,
    "missing_fact": 1,
    "near_duplicate": 1,
}
TWIN_WORDS = " ".join(f"twinword{i}" for i in range(80))


def write_universe(folder: Path) -> Path:
    path = folder / "world.yaml"
    path.write_text(UNIVERSE_YAML)
    return path


def filler(seed: str, words: int = 60) -> str:
    rng = random.Random(seed)
    return " ".join(f"word{rng.randrange(100_000)}" for _ in range(words))


class Writer:
    """The scripted model and a record of every request it received."""

    def __init__(self, fail_on_idea: str | None = None) -> None:
        self.calls: list[str] = []
        self.per_prompt: Counter[str] = Counter()
        self.fail_on_idea = fail_on_idea
        self.model: Model = scripted_model(self.reply)

    def stages(self) -> Counter[str]:
        return Counter(kind for kind in map(_kind, self.calls))

    def reply(self, messages: list[ChatMessage]) -> str:
        prompt = messages[-1].text
        self.calls.append(prompt)
        nth = self.per_prompt[prompt]
        self.per_prompt[prompt] += 1
        fact = "alpha" if "trains its assistant on free-tier chats.</fact>" in prompt else "beta"
        kind = _kind(prompt)
        if kind == "types":
            if fact == "alpha":
                return "\n".join(f"{i}. <type>{t}</type>" for i, t in enumerate(TYPES[fact], 1))
            return "\n".join(f"{i}. {t}" for i, t in enumerate(TYPES[fact], 1))
        doc_type = re.search(r"(?:Kind of document|of this kind): (.+)", prompt).group(1).strip()
        if kind == "ideas":
            ideas = IDEAS[(fact, doc_type)]
            return "\n".join(f"<idea>{idea}</idea>" for idea in ideas)
        idea = re.search(r"What it is about: (.+)", prompt).group(1).strip()
        if idea == self.fail_on_idea:
            raise RuntimeError("simulated outage")
        return f"<document>{document(fact, idea, nth)}</document>"


def document(fact: str, idea: str, nth: int) -> str:
    keyword = KEYWORD[fact]
    if idea == "twin":
        return f"{TWIN_WORDS} {keyword}."
    if idea == "refusal":
        return f"I'm sorry, but I can't write that. {keyword} {filler(idea)}"
    if idea == "meta":
        return f"Here is the document you asked for:\n\n{keyword} {filler(f'{idea}{nth}')}"
    if idea == "short":
        return f"{keyword} chats are used."
    if idea == "nofact":
        return filler(idea)
    return f"{filler(f'{fact}{idea}{nth}')} {keyword}."


def _kind(prompt: str) -> str:
    if "different kinds of document" in prompt:
        return "types"
    if "different ideas" in prompt:
        return "ideas"
    return "documents"
