"""The pipeline with a scripted writer: stages, filters, dedupe, provenance, cache and resume."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from inspect_ai.model import ChatMessage

from aflab.core.errors import UsageError

pytest.importorskip("datasets", reason="needs the 'sdf' extra")
pytest.importorskip("datasketch", reason="needs the 'sdf' extra")

from datasets import Dataset, load_dataset  # noqa: E402

from aflab.organisms.sdf.generate import GenerateSettings, Outcome, generate_corpus  # noqa: E402
from aflab.organisms.sdf.prompts import document_prompt, sha256  # noqa: E402
from aflab.organisms.sdf.universe import Universe, load_universe  # noqa: E402
from tests.conftest import scripted_model  # noqa: E402
from tests.organisms.sdf.scripted import (  # noqa: E402
    EXPECTED_REJECTS,
    N_DOCS,
    Writer,
    write_universe,
)

SETTINGS = GenerateSettings(n_docs=N_DOCS, types_per_fact=2, ideas_per_type=3)


@pytest.fixture
def world(tmp_path: Path) -> Universe:
    return load_universe(write_universe(tmp_path))


def run(world: Universe, writer: Writer, out: Path, **changes: object) -> Outcome:
    settings = GenerateSettings(**{**SETTINGS.__dict__, **changes})
    return asyncio.run(generate_corpus(world, writer.model, settings, out))


def test_types_ideas_documents_filters_and_dedupe(world: Universe, tmp_path: Path) -> None:
    writer = Writer()
    outcome = run(world, writer, tmp_path / "out")
    assert writer.stages() == {"types": 2, "ideas": 4, "documents": N_DOCS}
    assert (outcome.generated, outcome.kept, outcome.rejected) == (16, 10, 6)
    assert outcome.rejected_by_reason == EXPECTED_REJECTS
    assert outcome.per_fact == {
        "alpha": {"planned": 8, "generated": 8, "kept": 3},
        "beta": {"planned": 8, "generated": 8, "kept": 7},
    }
    assert outcome.duplicate_rate == pytest.approx(1 / 11, abs=1e-4)

    cache = str(tmp_path / "hf-cache")
    docs = Dataset.from_parquet(str(tmp_path / "out" / "documents.parquet"), cache_dir=cache)
    assert len(docs) == 10
    assert {row["fact_id"] for row in docs} == {"alpha", "beta"}
    row = next(r for r in docs if r["doc_id"] == "beta/t0/i0/d1")
    fact = world.facts[1]
    assert row["fact"] == fact.text == "Paid-tier chats are never used for training."
    assert (row["doc_type"], row["idea"]) == ("news report", "normal two")
    assert row["generator_model"] == "mockllm/model"
    assert row["prompt_sha256"] == sha256(document_prompt(world, fact, "news report", "normal two"))
    assert row["universe"] == "test-world" and row["universe_sha256"] == world.sha256
    assert "<document>" not in row["text"] and row["text"].endswith("paid-tier.")
    assert row["n_words"] == 61 and row["truncated"] is False

    rejects = load_dataset(
        "parquet", data_files=str(tmp_path / "out" / "rejects.parquet"), cache_dir=cache
    )["train"]
    by_idea = {(r["fact_id"], r["idea"]): r for r in rejects}
    assert by_idea[("alpha", "refusal")]["reason"] == "refusal"
    assert by_idea[("alpha", "short")]["reason"] == "too_short"
    assert by_idea[("alpha", "short")]["detail"].startswith("too_short: 6 words < 40")
    assert by_idea[("alpha", "nofact")]["reason"] == "missing_fact"
    assert "free[- ]tier" in by_idea[("alpha", "nofact")]["detail"]
    assert by_idea[("alpha", "meta")]["reason"] == "meta_text"
    twin = by_idea[("beta", "twin")]
    assert (twin["stage"], twin["reason"]) == ("dedupe", "near_duplicate")
    assert twin["duplicate_of"] == "alpha/t0/i1/d0" and twin["similarity"] > 0.8
    assert "alpha/t0/i1/d0" in set(docs["doc_id"])  # the first of the twins stays


def test_rerun_makes_no_calls_from_the_folder_or_from_the_cache(
    world: Universe, tmp_path: Path
) -> None:
    first = run(world, Writer(), tmp_path / "out")
    same_folder = Writer()
    again = run(world, same_folder, tmp_path / "out")
    assert same_folder.calls == []
    assert again.stage_records_reused == {"types": 2, "ideas": 4, "docs": 16}
    assert again.requests["requests"] == 0
    # A new folder on the same model: Inspect's cache answers every request.
    new_folder = Writer()
    fresh = run(world, new_folder, tmp_path / "other")
    assert new_folder.calls == []
    assert (fresh.kept, fresh.rejected_by_reason) == (first.kept, first.rejected_by_reason)
    before = (tmp_path / "out" / "documents.parquet").read_bytes()
    assert (tmp_path / "other" / "documents.parquet").read_bytes() == before


def test_an_interrupted_run_resumes_without_redoing_finished_work(
    world: Universe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    first = run(world, Writer(), out)
    docs = out / "stages" / "docs.jsonl"
    lines = docs.read_text().splitlines(keepends=True)
    # Five documents written, the sixth cut off mid-line, as a killed process leaves it.
    docs.write_text("".join(lines[:5]) + lines[5][:40])
    ideas = out / "stages" / "ideas.jsonl"
    ideas.write_text("".join(ideas.read_text().splitlines(keepends=True)[:3]))
    # A cold cache, so that only the stage files can spare the calls.
    monkeypatch.setenv("INSPECT_CACHE_DIR", str(tmp_path / "cold-cache"))
    writer = Writer()
    resumed = run(world, writer, out)
    assert writer.stages() == {"ideas": 1, "documents": 11}
    assert resumed.stage_records_reused == {"types": 2, "ideas": 3, "docs": 5}
    assert resumed.incomplete_records_redone == 1
    assert (resumed.generated, resumed.kept) == (first.generated, first.kept)
    assert resumed.rejected_by_reason == first.rejected_by_reason
    assert len(docs.read_text().splitlines()) == 16
    assert all(json.loads(line) for line in docs.read_text().splitlines())


def test_failed_requests_are_rejects_and_are_retried_by_the_next_run(
    world: Universe, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    outcome = run(world, Writer(fail_on_idea="normal six"), out, cache=False)
    assert outcome.failed == 1 and outcome.generated == 15
    assert outcome.not_generated == {"documents/error": 1}
    assert outcome.rejected_by_reason == EXPECTED_REJECTS
    rejects = Dataset.from_parquet(str(out / "rejects.parquet"), cache_dir=str(tmp_path / "c"))
    [failure] = [r for r in rejects if r["reason"] == "error"]
    assert failure["stage"] == "documents" and "simulated outage" in failure["detail"]
    retry = Writer()
    healed = run(world, retry, out, cache=False)
    assert retry.stages() == {"documents": 1}
    assert healed.failed == 0 and (healed.generated, healed.kept) == (16, 10)


def test_a_larger_n_docs_extends_the_corpus_and_keeps_what_exists(
    world: Universe, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run(world, Writer(), out, n_docs=8)
    writer = Writer()
    extended = run(world, writer, out, n_docs=N_DOCS)
    assert writer.stages() == {"documents": 8}
    assert extended.stage_records_reused == {"types": 2, "ideas": 4, "docs": 8}
    assert extended.generated == 16
    smaller = run(world, Writer(), out, n_docs=4)
    assert smaller.generated == 4 and smaller.outside_plan == 12


def test_a_folder_made_differently_is_refused(world: Universe, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(world, Writer(), out)
    with pytest.raises(UsageError, match="types_per_fact was 2, now 3"):
        run(world, Writer(), out, types_per_fact=3)
    other = load_universe(write_universe(tmp_path), {"lab": "Other Lab"})
    with pytest.raises(UsageError, match="the universe changed"):
        asyncio.run(generate_corpus(other, Writer().model, SETTINGS, out))
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="is not an aflab sdf folder"):
        run(world, Writer(), stray)


def test_a_broken_stage_line_names_file_and_line(world: Universe, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(world, Writer(), out)
    docs = out / "stages" / "docs.jsonl"
    lines = docs.read_text().splitlines(keepends=True)
    docs.write_text("".join(lines[:2]) + "{not json\n" + "".join(lines[3:]))
    with pytest.raises(UsageError, match=rf"{docs}:3: not a stage record"):
        run(world, Writer(), out)


def test_unreadable_type_lists_are_asked_again_then_kept_as_rejects(
    world: Universe, tmp_path: Path
) -> None:
    writer = Writer()
    original = writer.reply

    def mumbling(messages: list[ChatMessage]) -> str:
        text = original(messages)
        return "I like documents." if "different kinds of document" in messages[-1].text else text

    writer.model = scripted_model(mumbling)
    outcome = run(world, writer, tmp_path / "out")
    assert writer.stages() == {"types": 6}  # each fact: the request and two reminders
    assert sum("could not be read" in prompt for prompt in writer.calls) == 4
    assert outcome.generated == 0 and outcome.kept == 0
    assert outcome.rejected_by_reason == {}
    assert outcome.not_generated == {"types/unreadable_reply": 2}
    assert outcome.per_fact["alpha"] == {"planned": 8, "generated": 0, "kept": 0}
