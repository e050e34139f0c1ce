"""What ``aflab sdf generate`` will cost before it starts: requests, tokens and dollars per stage.

The plan walks the generator's tree (each fact's document types, each type's ideas, each idea's
document slots), splitting ``--n-docs`` as the pipeline does (``generate.split``). Where the
output folder's stage files hold a request's record, the generator reuses it: the request is
replayed at no cost, and the items it lists are known, so the requests below it are counted on
their real prompts. Where they do not, a generated item is not known yet: its prompt is counted
with the item left out plus an assumed length, and each list is taken to be as long as asked.

What the model will write is assumed (:class:`SdfAssumptions`, ``--assume``). *At most* takes
every reply at its ``max_tokens`` (a list's, ``--max-tokens`` for a document, a judge's), every
listed item at its allowance (``TYPE_TOKENS``, ``IDEA_TOKENS``) and every document judged.
Neither figure counts a retried reply (an unreadable list or verdict is asked again, at most
twice), and Inspect's cache is not looked up: a request made before under the same slot is
answered from it at no cost, so the same command in a new folder costs less than planned.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aflab.core.summary_types import CostEstimate
from aflab.data.prices import PriceTable
from aflab.llm.ask import JUDGE_MAX_TOKENS
from aflab.llm.tokens import TokenCounter, token_counter
from aflab.organisms.sdf.filters import JUDGE_PROMPT, rule_rejections
from aflab.organisms.sdf.generate import (
    IDEA_TOKENS,
    LIST_SLACK,
    TYPE_TOKENS,
    GenerateSettings,
    check_out,
    manifest_of,
    reusable,
    split,
    stage_files,
)
from aflab.organisms.sdf.prompts import document_prompt, document_text, ideas_prompt, types_prompt
from aflab.organisms.sdf.store import StageFile
from aflab.organisms.sdf.universe import Fact, Universe
from aflab.pipelines.stages import Stage, check_budget, estimate_from_stages, parse_assumed
from aflab.report.cost import PlanWords, format_plan

TYPES, IDEAS = "sdf: document types", "sdf: ideas"
DOCUMENTS, JUDGE = "sdf: documents", "sdf: fact judge"
# The field of a list stage's record that holds its items (the generator's ListStage.name).
LIST_FIELD = {TYPES: "types", IDEAS: "ideas"}
# A list item's numbering and tags around its text: "12. <type>", "</type>" and the line break.
ITEM_FORMAT_TOKENS = 8
WORDS = PlanWords(
    at_most="every reply max_tokens long, every listed item as long as its allowance, every "
    "document judged",
    assumed_per="",
    assumed={
        "type_tokens": "a document type {:g} tokens",
        "idea_tokens": "an idea {:g} tokens",
        "document_share": "a document {:.0%} of --max-tokens",
        "judge_reply_tokens": "fact-judge replies {:g} tokens",
    },
    replayed="from the output folder's stage files: {n} requests, at no cost",
    notes=(
        "not counted: a retried list or verdict (an unreadable reply is asked again, at most "
        "twice); not looked up: Inspect's cache, which answers a request made before at no cost",
    ),
)
CHEAPER = "--n-docs, --max-tokens or no --fact-judge lower it"


@dataclass(frozen=True)
class SdfAssumptions:
    """What the plan cannot count before the model writes it.

    Attributes:
        type_tokens: one document type as listed (a few words).
        idea_tokens: one idea as listed (a sentence or two).
        document_share: a document's length as a share of ``--max-tokens``.
        judge_reply_tokens: the fact judge's reply to one document.
    """

    type_tokens: float = 12.0
    idea_tokens: float = 45.0
    # 800 tokens at the default --max-tokens 2048: the middle of the 600-1000 tokens that
    # docs/sdf.md gives for a document.
    document_share: float = 0.4
    judge_reply_tokens: float = 250.0

    @classmethod
    def parse(cls, text: str | None) -> SdfAssumptions:
        """``key=value,key=value`` over the defaults; an unknown key or bad value is refused."""
        known = tuple(cls.__dataclass_fields__)
        return cls(**parse_assumed(text, known, shares=("document_share",)))


@dataclass(frozen=True)
class _Lengths:
    """The tokens of what is not written yet, in one of the plan's two figures."""

    type_tokens: float
    idea_tokens: float
    document_tokens: float
    judge_reply_tokens: float
    full_lists: bool  # every list reply as long as its max_tokens

    @classmethod
    def expected(cls, assume: SdfAssumptions, max_tokens: int) -> _Lengths:
        return cls(
            assume.type_tokens,
            assume.idea_tokens,
            assume.document_share * max_tokens,
            assume.judge_reply_tokens,
            full_lists=False,
        )

    @classmethod
    def at_most(cls, max_tokens: int) -> _Lengths:
        return cls(TYPE_TOKENS, IDEA_TOKENS, max_tokens, JUDGE_MAX_TOKENS, full_lists=True)

    def list_reply(self, n: int, item_tokens: float, cap: int) -> float:
        """A list of ``n`` items, its reply bounded by ``cap`` tokens (the stage's max_tokens)."""
        return cap if self.full_lists else min(cap, n * (item_tokens + ITEM_FORMAT_TOKENS))


class _Counted:
    """A counter that counts each distinct request once (the prompts of one fact repeat)."""

    def __init__(self, counter: TokenCounter) -> None:
        self.counter = counter
        self._seen: dict[str, int] = {}

    def __call__(self, prompt: str) -> int:
        if prompt not in self._seen:
            self._seen[prompt] = self.counter.conversation([prompt])
        return self._seen[prompt]


class _Walk:
    """One pass over the generator's tree, with the lengths of one figure."""

    def __init__(
        self,
        universe: Universe,
        settings: GenerateSettings,
        folder: tuple[StageFile, StageFile, StageFile],
        writer: tuple[str, _Counted],
        judge: tuple[str, _Counted] | None,
        lengths: _Lengths,
    ) -> None:
        self.universe, self.settings, self.lengths = universe, settings, lengths
        self.types, self.ideas, self.docs = folder
        model, self.writer = writer
        self.stages = {name: Stage(name, model) for name in (TYPES, IDEAS, DOCUMENTS)}
        self.judge: _Counted | None = None
        if judge is not None:
            self.stages[JUDGE] = Stage(JUDGE, judge[0])
            self.judge = judge[1]

    def run(self) -> list[Stage]:
        facts = self.universe.facts
        for fact, quota in zip(facts, split(self.settings.n_docs, len(facts)), strict=True):
            if quota:
                self._fact(fact, quota)
        return list(self.stages.values())

    def _fact(self, fact: Fact, quota: int) -> None:
        n = self.settings.types_per_fact
        prompt = types_prompt(self.universe, fact, n)
        types = self._list(TYPES, self.types, fact.id, prompt, n, self.lengths.type_tokens)
        for t, (doc_type, share) in enumerate(zip(types, split(quota, len(types)), strict=True)):
            if share:
                self._type(fact, t, doc_type, share)

    def _type(self, fact: Fact, t: int, doc_type: str | None, quota: int) -> None:
        n = self.settings.ideas_per_type
        key = f"{fact.id}/t{t}"
        if doc_type is None:  # the type is not written yet: its assumed length stands in
            prompt = ideas_prompt(self.universe, fact, "", n)
            unknown = self.lengths.type_tokens
            ideas = self._ask(IDEAS, prompt, n, self.lengths.idea_tokens, unknown)
        else:
            prompt = ideas_prompt(self.universe, fact, doc_type, n)
            ideas = self._list(IDEAS, self.ideas, key, prompt, n, self.lengths.idea_tokens)
        for i, (idea, share) in enumerate(zip(ideas, split(quota, len(ideas)), strict=True)):
            for k in range(share):
                self._document(fact, f"{key}/i{i}/d{k}", doc_type, idea)

    def _document(self, fact: Fact, doc_id: str, doc_type: str | None, idea: str | None) -> None:
        if doc_type is not None and idea is not None:
            prompt = document_prompt(self.universe, fact, doc_type, idea)
            record = reusable(self.docs, doc_id, prompt)
            if record is not None:
                self.stages[DOCUMENTS].replayed += 1
                self._judge_written(fact, document_text(record["reply"]))
                return
            unknown = 0.0
        else:  # left out of the prompt, and counted by their assumed lengths
            prompt = document_prompt(self.universe, fact, doc_type or "", idea or "")
            unknown = self.lengths.idea_tokens
            if doc_type is None:
                unknown += self.lengths.type_tokens
        written = self.lengths.document_tokens
        self.stages[DOCUMENTS].add(1, self.writer(prompt) + unknown, written)
        if self.judge is not None:
            asked = self.judge(JUDGE_PROMPT.format(fact=fact.text, document="")) + written
            self.stages[JUDGE].add(1, asked, self.lengths.judge_reply_tokens)

    def _judge_written(self, fact: Fact, text: str) -> None:
        """A document already written is judged on its text, unless a rule sets it aside."""
        if self.judge is None or rule_rejections(text, fact, self.settings.filters):
            return
        asked = self.judge(JUDGE_PROMPT.format(fact=fact.text, document=text))
        self.stages[JUDGE].add(1, asked, self.lengths.judge_reply_tokens)

    def _list(
        self, stage: str, file: StageFile, key: str, prompt: str, n: int, item_tokens: float
    ) -> list[str | None]:
        """The items of a list request: its record's (replayed), else ``n`` not yet known."""
        record = reusable(file, key, prompt)
        if record is None:
            return self._ask(stage, prompt, n, item_tokens)
        self.stages[stage].replayed += 1
        # The record's items, under the stage's name; none ends the branch, as in the generator.
        return list(record[LIST_FIELD[stage]])

    def _ask(
        self, stage: str, prompt: str, n: int, item_tokens: float, unknown: float = 0.0
    ) -> list[str | None]:
        """A list asked for: ``unknown`` tokens of its prompt are not written yet."""
        allowance = TYPE_TOKENS if stage == TYPES else IDEA_TOKENS
        cap = min(self.settings.max_tokens, allowance * n + LIST_SLACK)
        reply = self.lengths.list_reply(n, item_tokens, cap)
        self.stages[stage].add(1, self.writer(prompt) + unknown, reply)
        return [None] * n


def plan_generate(
    universe: Universe,
    model: str,
    settings: GenerateSettings,
    out: Path,
    prices: PriceTable,
    assumptions: SdfAssumptions | None = None,
    judge: str | None = None,
) -> CostEstimate:
    """The plan of ``aflab sdf generate`` into ``out`` with ``model`` (and the fact ``judge``):
    the same refusals as the run for a folder made differently, and nothing written."""
    assume = assumptions or SdfAssumptions()
    check_out(out, manifest_of(universe, model, settings))
    # Read-only: a stage file that is not there (a new folder) reads as empty.
    folder = stage_files(out, readonly=True)
    counters = [token_counter(model)]
    writer = (model, _Counted(counters[0]))
    judging = None
    if judge is not None:
        counters.append(token_counter(judge))
        judging = (judge, _Counted(counters[1]))

    def walk(lengths: _Lengths) -> list[Stage]:
        return _Walk(universe, settings, folder, writer, judging, lengths).run()

    return estimate_from_stages(
        walk(_Lengths.expected(assume, settings.max_tokens)),
        walk(_Lengths.at_most(settings.max_tokens)),
        prices,
        counters,
        dataclasses.asdict(assume),
    )


def announce(
    plan: CostEstimate, dry_run: bool, max_cost: float | None, echo: Callable[[str], Any]
) -> None:
    """Print the plan for ``--dry-run``; refuse it when it is above ``--max-cost``."""
    if dry_run:
        echo("aflab sdf generate --dry-run: the plan; no model is called, nothing is written")
        echo(format_plan(plan, WORDS))
    check_budget(plan, max_cost, CHEAPER)
