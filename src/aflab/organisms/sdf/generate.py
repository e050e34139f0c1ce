"""The generation pipeline: per fact, document types; per type, ideas; per idea, documents.

``--n-docs`` is split evenly over the facts, then over each fact's types, then over each type's
ideas, so that a slot (fact, type, idea, repeat) always has the same id and extending a corpus
with a larger ``--n-docs`` reuses everything already written. All three stages run
concurrently through Inspect's model API (``max_connections`` bounds the requests in flight).
Two layers make reruns cheap: every result is appended to a stage file in the output folder as
soon as it arrives (a rerun skips what is there, even with ``--no-cache``), and every request is
cached by Inspect under its slot, so a fresh folder on the same model costs nothing either.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from inspect_ai._util.error import PrerequisiteError
from inspect_ai.model import CachePolicy, GenerateConfig, Model
from inspect_ai.util import collect

from aflab.core.errors import UsageError
from aflab.llm.ask import JudgeUsage, ask_until_read
from aflab.organisms.sdf.corpus import Chosen, choose, provenance, rejection
from aflab.organisms.sdf.dataset import write_corpus
from aflab.organisms.sdf.dedupe import DEFAULT_THRESHOLD
from aflab.organisms.sdf.filters import FilterSettings
from aflab.organisms.sdf.progress import NoProgress, Progress
from aflab.organisms.sdf.prompts import (
    document_prompt,
    ideas_prompt,
    parse_items,
    sha256,
    types_prompt,
)
from aflab.organisms.sdf.store import StageFile
from aflab.organisms.sdf.universe import Fact, Universe, describe

MANIFEST_FILE = "sdf.json"
SUMMARY_FILE = "summary.json"
STAGES_DIR = "stages"
# Room per list item: a type is a few words, an idea a sentence or two (plus tags and numbers).
TYPE_TOKENS = 50
IDEA_TOKENS = 100
LIST_SLACK = 50
LIST_RETRIES = 2


@dataclass(frozen=True)
class ListStage:
    """A stage that asks for a list: its name (also its stage file and record field), the tag
    each item comes in, what it lists (for messages), its stage file, tokens per item."""

    name: str
    tag: str
    what: str
    file: StageFile
    tokens: int


@dataclass(frozen=True)
class GenerateSettings:
    n_docs: int
    types_per_fact: int = 10
    ideas_per_type: int = 10
    temperature: float = 1.0
    max_tokens: int = 2048
    seed: int | None = None
    cache: bool = True
    filters: FilterSettings = field(default_factory=FilterSettings)
    dedupe_threshold: float = DEFAULT_THRESHOLD

    def __post_init__(self) -> None:
        for name in ("n_docs", "types_per_fact", "ideas_per_type", "max_tokens"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1")

    def generator(self, model: Model | str) -> dict[str, Any]:
        """What shapes the stage files: an output folder is only resumed with the same values."""
        return {
            "model": str(model),
            "types_per_fact": self.types_per_fact,
            "ideas_per_type": self.ideas_per_type,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
        }


@dataclass
class Outcome:
    """What one ``aflab sdf generate`` did; also written as ``summary.json``."""

    out: str
    planned: int
    generated: int
    kept: int
    rejected: int
    rejected_by_reason: dict[str, int]
    # Slots or branches that produced no document, as "stage/reason": count.
    not_generated: dict[str, int]
    duplicate_rate: float
    per_fact: dict[str, dict[str, int]]
    stage_records_reused: dict[str, int]
    requests: dict[str, int]
    judge_requests: dict[str, int] | None
    failed: int
    incomplete_records_redone: int
    outside_plan: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def split(total: int, parts: int) -> list[int]:
    """``total`` spread over ``parts`` as evenly as possible, the first parts taking the rest."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def prepare_out(out: Path, manifest: dict[str, Any]) -> None:
    """Create or reopen ``out``; refuse a folder made from another universe or generator."""
    if check_out(out, manifest):
        return
    out.mkdir(parents=True, exist_ok=True)
    path = out / MANIFEST_FILE
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def check_out(out: Path, manifest: dict[str, Any]) -> bool:
    """Whether ``out`` holds a corpus made as ``manifest`` says (False: none yet, a new or empty
    folder); refuse one made from another universe or generator, or a folder not ours."""
    path = out / MANIFEST_FILE
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise UsageError(f"{path}: unreadable ({error}); start a new --out folder") from None
        changed = [
            f"{key} was {old['generator'].get(key)!r}, now {value!r}"
            for key, value in manifest["generator"].items()
            if old.get("generator", {}).get(key) != value
        ]
        if old.get("universe", {}).get("sha256") != manifest["universe"]["sha256"]:
            changed.insert(0, f"the universe changed (was {old['universe'].get('source')})")
        if changed:
            raise UsageError(
                f"{out} holds documents made differently: {'; '.join(changed)}. "
                "Use another --out folder, or delete this one to start over."
            )
        return True
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out}: exists and is not an aflab sdf folder (no {MANIFEST_FILE})")
    return False


def manifest_of(
    universe: Universe, model: Model | str, settings: GenerateSettings
) -> dict[str, Any]:
    """What ``sdf.json`` records: the universe and the generator settings."""
    return {"universe": describe(universe), "generator": settings.generator(model)}


def stage_files(out: Path, readonly: bool = False) -> tuple[StageFile, StageFile, StageFile]:
    """The folder's stage files of types (by fact), ideas (by fact and type), documents."""
    stages = out / STAGES_DIR
    return (
        StageFile(stages / "types.jsonl", "fact_id", readonly),
        StageFile(stages / "ideas.jsonl", "key", readonly),
        StageFile(stages / "docs.jsonl", "doc_id", readonly),
    )


def reusable(stage: StageFile, key: str, prompt: str) -> dict[str, Any] | None:
    """The record of ``key`` if the stage file has one; refused if it was made from another
    prompt than ``prompt`` (aflab's prompts changed since)."""
    record = stage.get(key)
    if record is not None and record.get("prompt_sha256") != sha256(prompt):
        raise UsageError(
            f"{stage.path}: record {key!r} was made from another prompt (aflab's prompts "
            "changed since); use a new --out folder"
        )
    return record


class Pipeline:
    def __init__(
        self,
        universe: Universe,
        model: Model,
        settings: GenerateSettings,
        out: Path,
        progress: Progress,
        judge: Model | None = None,
    ) -> None:
        self.universe = universe
        self.model = model
        self.settings = settings
        self.out = out
        self.progress = progress
        self.judge = judge
        self.types, self.ideas, self.docs = stage_files(out)
        self.usage = JudgeUsage()
        self.judge_usage = JudgeUsage()
        self.reused: Counter[str] = Counter()
        # Reject rows for branches that produced nothing this run (errors, unreadable lists).
        self.failures: list[dict[str, Any]] = []
        # Plan position of every document slot that has a record, for a stable order.
        self.slots: dict[tuple[int, int, int, int], str] = {}
        self.doc_config = GenerateConfig(
            temperature=settings.temperature, max_tokens=settings.max_tokens, seed=settings.seed
        )

    def close(self) -> None:
        for stage in (self.types, self.ideas, self.docs):
            stage.close()

    async def run(self) -> Outcome:
        facts = self.universe.facts
        quotas = split(self.settings.n_docs, len(facts))
        self.progress.add_total("types", sum(1 for q in quotas if q))
        self.progress.add_total("ideas", 0)  # shown in stage order; its total comes with types
        self.progress.add_total("documents", self.settings.n_docs)
        await collect(
            *(
                self._fact(i, fact, quota)
                for i, (fact, quota) in enumerate(zip(facts, quotas, strict=True))
                if quota
            )
        )
        return await self._finish(quotas)

    # -- stage 1: document types per fact -------------------------------------------------

    async def _fact(self, index: int, fact: Fact, quota: int) -> None:
        n = self.settings.types_per_fact
        prompt = types_prompt(self.universe, fact, n)
        types = await self._stage_list(
            ListStage("types", "type", "document types", self.types, TYPE_TOKENS),
            fact.id,
            prompt,
            n,
            fact,
            {"fact_id": fact.id},
        )
        if not types:
            self.progress.advance("documents", quota)
            return
        shares = split(quota, len(types))
        self.progress.add_total("ideas", sum(1 for s in shares if s))
        await collect(
            *(
                self._type(index, fact, t, doc_type, share)
                for t, (doc_type, share) in enumerate(zip(types, shares, strict=True))
                if share
            )
        )

    # -- stage 2: ideas per document type -------------------------------------------------

    async def _type(self, index: int, fact: Fact, t: int, doc_type: str, quota: int) -> None:
        n = self.settings.ideas_per_type
        key = f"{fact.id}/t{t}"
        prompt = ideas_prompt(self.universe, fact, doc_type, n)
        ideas = await self._stage_list(
            ListStage("ideas", "idea", "ideas", self.ideas, IDEA_TOKENS),
            key,
            prompt,
            n,
            fact,
            {"key": key, "fact_id": fact.id, "doc_type": doc_type},
        )
        if not ideas:
            self.progress.advance("documents", quota)
            return
        await collect(
            *(
                self._doc(index, fact, t, doc_type, i, idea, k)
                for i, (idea, share) in enumerate(zip(ideas, split(quota, len(ideas)), strict=True))
                for k in range(share)
            )
        )

    # -- stage 3: documents ---------------------------------------------------------------

    async def _doc(
        self, index: int, fact: Fact, t: int, doc_type: str, i: int, idea: str, k: int
    ) -> None:
        doc_id = f"{fact.id}/t{t}/i{i}/d{k}"
        prompt = document_prompt(self.universe, fact, doc_type, idea)
        record = self._reuse(self.docs, doc_id, prompt)
        if record is None:
            policy = self._policy("doc", doc_id)
            try:
                output = await self.model.generate(prompt, config=self.doc_config, cache=policy)
            except PrerequisiteError:
                raise  # e.g. a missing API key: every call would fail the same way
            except Exception as error:  # noqa: BLE001 (one failed call must not end the run)
                detail = f"{type(error).__name__}: {error}"
                self._fail("documents", fact, "error", detail, doc_type=doc_type, idea=idea)
                self.progress.advance("documents")
                return
            self.usage.add(output)
            record = self._record(
                prompt,
                doc_id=doc_id,
                fact_id=fact.id,
                doc_type=doc_type,
                idea=idea,
                reply=output.completion,
                stop_reason=output.stop_reason,
            )
            self.docs.add(record)
        self.slots[(index, t, i, k)] = doc_id
        self.progress.advance("documents")

    # -- shared -----------------------------------------------------------------------------

    async def _stage_list(
        self,
        stage: ListStage,
        key: str,
        prompt: str,
        n: int,
        fact: Fact,
        fields: dict[str, str],
    ) -> list[str]:
        """The items of a list stage (types of a fact, ideas of a type): from the stage file, or
        asked for and recorded. A failed request or a reply with no readable item is a reject."""
        doc_type = fields.get("doc_type", "")
        record = self._reuse(stage.file, key, prompt)
        if record is None:
            scope = f"{stage.name}:{key}"
            items, unread, error = await self._list(prompt, stage.tag, n, stage.tokens, scope)
            if error:
                self._fail(stage.name, fact, "error", error, doc_type=doc_type)
            else:
                record = self._record(prompt, **fields, **{stage.name: items}, unreadable=unread)
                stage.file.add(record)
        self.progress.advance(stage.name)
        items = record[stage.name] if record else []
        if record and not items:
            detail = f"no readable list of {stage.what} in {len(record['unreadable'])} replies"
            raw = "\n---\n".join(record["unreadable"])
            self._fail(stage.name, fact, "unreadable_reply", detail, raw, doc_type=doc_type)
        return items

    def _policy(self, scope: str, slot: str) -> CachePolicy | bool:
        if not self.settings.cache:
            return False
        scopes = {"aflab": f"sdf-{scope}", "slot": slot}
        return CachePolicy(expiry=None, per_epoch=False, scopes=scopes)

    async def _list(
        self, prompt: str, tag: str, n: int, per_item: int, scope: str
    ) -> tuple[list[str], list[str], str | None]:
        """Items, unreadable replies, and the error if the model could not be reached at all.

        An unreadable reply is asked again with a reminder of the format, in a fresh cache slot
        per attempt (``try0``, ``try1``, ...); after the last attempt the branch is given up. A
        branch whose requests all failed is recorded as such and asked again on the next run.
        """
        config = GenerateConfig(
            temperature=self.settings.temperature,
            max_tokens=min(self.settings.max_tokens, per_item * n + LIST_SLACK),
        )
        answer = await ask_until_read(
            self.model,
            prompt,
            lambda reply: parse_items(reply, tag, n) or None,  # no item: unreadable
            config=config,
            cache=lambda attempt: self._policy(scope, f"try{attempt}"),
            usage=self.usage,
            attempts=1 + LIST_RETRIES,
        )
        if answer.value:
            return answer.value, answer.unread, None
        if answer.errors and not answer.unread:
            return [], [], "; ".join(answer.errors)
        return [], answer.unread, None

    def _record(self, prompt: str, **values: Any) -> dict[str, Any]:
        return {**values, "model": str(self.model), "prompt_sha256": sha256(prompt)}

    def _reuse(self, stage: StageFile, key: str, prompt: str) -> dict[str, Any] | None:
        record = reusable(stage, key, prompt)
        if record is not None:
            self.reused[stage.path.stem] += 1
        return record

    def _fail(
        self,
        stage: str,
        fact: Fact,
        reason: str,
        detail: str,
        text: str = "",
        doc_type: str = "",
        idea: str = "",
    ) -> None:
        row = provenance(
            self.universe,
            fact,
            doc_type=doc_type,
            idea=idea,
            text=text,
            generator_model=str(self.model),
        )
        self.failures.append(row | rejection(stage, reason, detail))

    # -- output ---------------------------------------------------------------------------

    async def _finish(self, quotas: list[int]) -> Outcome:
        records = [self.docs.records[self.slots[slot]] for slot in sorted(self.slots)]
        judging = None if self.judge is None else (self.judge, self.judge_usage)
        chosen = await choose(
            self.universe,
            records,
            self.settings.filters,
            self.settings.dedupe_threshold,
            judging,
            self.progress,
        )
        rejects = self.failures + chosen.rejects
        write_corpus(self.out, chosen.documents, rejects)
        outcome = self._outcome(quotas, chosen)
        summary = self.out / SUMMARY_FILE
        summary.write_text(json.dumps(outcome.as_dict(), indent=2) + "\n", encoding="utf-8")
        return outcome

    def _outcome(self, quotas: list[int], chosen: Chosen) -> Outcome:
        generated = Counter(self.docs.records[d]["fact_id"] for d in self.slots.values())
        kept = Counter(row["fact_id"] for row in chosen.documents)
        per_fact = {
            fact.id: {"planned": q, "generated": generated[fact.id], "kept": kept[fact.id]}
            for fact, q in zip(self.universe.facts, quotas, strict=True)
        }
        in_plan = set(self.slots.values())
        deduplicated = chosen.deduplicated
        return Outcome(
            out=str(self.out),
            planned=self.settings.n_docs,
            generated=len(self.slots),
            kept=len(chosen.documents),
            rejected=len(chosen.rejects),
            rejected_by_reason=dict(Counter(row["reason"] for row in chosen.rejects).most_common()),
            not_generated=dict(
                Counter(f"{row['stage']}/{row['reason']}" for row in self.failures).most_common()
            ),
            duplicate_rate=round(chosen.duplicates / deduplicated, 4) if deduplicated else 0.0,
            per_fact=per_fact,
            stage_records_reused={s: self.reused[s] for s in ("types", "ideas", "docs")},
            requests=self.usage.as_dict(),
            judge_requests=self.judge_usage.as_dict() if self.judge is not None else None,
            failed=sum(1 for row in self.failures if row["reason"] == "error"),
            incomplete_records_redone=sum(
                s.incomplete for s in (self.types, self.ideas, self.docs)
            ),
            outside_plan=sum(1 for d in self.docs.records if d not in in_plan),
        )


async def generate_corpus(
    universe: Universe,
    model: Model,
    settings: GenerateSettings,
    out: Path,
    progress: Progress | None = None,
    judge: Model | None = None,
) -> Outcome:
    """Generate (or finish, or extend) the corpus in ``out``; see the module docstring."""
    prepare_out(out, manifest_of(universe, model, settings))
    pipeline = Pipeline(universe, model, settings, out, progress or NoProgress(), judge)
    try:
        return await pipeline.run()
    finally:
        pipeline.close()
