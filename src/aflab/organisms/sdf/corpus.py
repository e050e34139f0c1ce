"""From the written documents to the corpus: rule filters, near-duplicates, then the judge.

Each document becomes one row with its provenance; a row that is left out keeps that
provenance and gains the stage that set it aside and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inspect_ai.model import Model
from inspect_ai.util import collect

from aflab.llm.ask import JudgeUsage
from aflab.organisms.sdf.dedupe import near_duplicates
from aflab.organisms.sdf.filters import (
    FilterSettings,
    Rejection,
    judge_rejection,
    rule_rejections,
    word_count,
)
from aflab.organisms.sdf.progress import Progress
from aflab.organisms.sdf.prompts import document_text
from aflab.organisms.sdf.universe import Fact, Universe

# Stages whose rejects are documents; the others are requests that produced none.
DOCUMENT_STAGES = ("filter", "dedupe", "judge")

Row = dict[str, Any]


@dataclass
class Chosen:
    documents: list[Row]
    rejects: list[Row]
    duplicates: int
    # Documents that passed the rule filters and so were compared for duplicates.
    deduplicated: int


def provenance(
    universe: Universe,
    fact: Fact,
    doc_id: str = "",
    doc_type: str = "",
    idea: str = "",
    text: str = "",
    generator_model: str = "",
    prompt_sha256: str = "",
    truncated: bool = False,
) -> Row:
    return {
        "doc_id": doc_id,
        "universe": universe.name,
        "universe_sha256": universe.sha256,
        "fact_id": fact.id,
        "fact": fact.text,
        "doc_type": doc_type,
        "idea": idea,
        "generator_model": generator_model,
        "prompt_sha256": prompt_sha256,
        "text": text,
        "n_words": word_count(text),
        "truncated": truncated,
    }


def rejection(stage: str, reason: str, detail: str) -> Row:
    """The columns a reject adds; ``detail`` always starts with the reason."""
    if not detail.startswith(f"{reason}:"):
        detail = f"{reason}: {detail}"
    return {
        "stage": stage,
        "reason": reason,
        "detail": detail,
        "duplicate_of": "",
        "similarity": None,
    }


async def choose(
    universe: Universe,
    records: list[Row],
    filters: FilterSettings,
    threshold: float,
    judging: tuple[Model, JudgeUsage] | None,
    progress: Progress,
) -> Chosen:
    """Sort the document records (in slot order) into kept documents and rejects."""
    facts = {fact.id: fact for fact in universe.facts}
    passed: list[Row] = []
    rejects: list[Row] = []
    for record in records:
        fact = facts[record["fact_id"]]
        text = document_text(record["reply"])
        row = provenance(
            universe,
            fact,
            doc_id=record["doc_id"],
            doc_type=record["doc_type"],
            idea=record["idea"],
            text=text,
            generator_model=record["model"],
            prompt_sha256=record["prompt_sha256"],
            truncated=record.get("stop_reason") == "max_tokens",
        )
        broken = rule_rejections(text, fact, filters)
        if broken:
            detail = "; ".join(f"{r.reason}: {r.detail}" for r in broken)
            rejects.append(row | rejection("filter", broken[0].reason, detail))
        else:
            passed.append(row)
    duplicates = near_duplicates(((row["doc_id"], row["text"]) for row in passed), threshold)
    unique = []
    for row in passed:
        duplicate = duplicates.get(row["doc_id"])
        if duplicate is None:
            unique.append(row)
            continue
        detail = f"estimated Jaccard similarity {duplicate.similarity} to {duplicate.of}"
        extra = {"duplicate_of": duplicate.of, "similarity": duplicate.similarity}
        rejects.append(row | rejection("dedupe", "near_duplicate", detail) | extra)
    # The judge comes last: it is the only filter that costs requests.
    documents = unique
    if judging is not None:
        documents = await _judged(unique, facts, judging, progress, rejects)
    return Chosen(documents, rejects, len(duplicates), len(passed))


async def _judged(
    rows: list[Row],
    facts: dict[str, Fact],
    judging: tuple[Model, JudgeUsage],
    progress: Progress,
    rejects: list[Row],
) -> list[Row]:
    judge, usage = judging
    progress.add_total("judge", len(rows))

    async def check(row: Row) -> Rejection | None:
        found = await judge_rejection(
            judge, row["doc_id"], row["text"], facts[row["fact_id"]], usage
        )
        progress.advance("judge")
        return found

    verdicts = await collect(*(check(row) for row in rows))
    kept = []
    for row, verdict in zip(rows, verdicts, strict=True):
        if verdict is None:
            kept.append(row)
        else:
            rejects.append(row | rejection("judge", verdict.reason, verdict.detail))
    return kept
