"""The plan of ``aflab sdf generate`` against what the scripted generator asks; records in the
output folder replayed; ``--dry-run`` and ``--max-cost`` from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from aflab.cli import main
from aflab.core.errors import UsageError
from aflab.data.prices import load_prices
from aflab.llm.tokens import token_counter
from aflab.organisms.sdf.generate import TYPE_TOKENS, GenerateSettings, generate_corpus
from aflab.organisms.sdf.plan import (
    DOCUMENTS,
    IDEAS,
    ITEM_FORMAT_TOKENS,
    JUDGE,
    TYPES,
    SdfAssumptions,
    plan_generate,
)
from aflab.organisms.sdf.prompts import types_prompt
from aflab.organisms.sdf.universe import Universe, load_universe
from tests.conftest import scripted_judge
from tests.organisms.sdf.scripted import N_DOCS, Writer, write_universe

pytest.importorskip("datasets", reason="needs the 'sdf' extra")
pytest.importorskip("datasketch", reason="needs the 'sdf' extra")

SETTINGS = GenerateSettings(n_docs=N_DOCS, types_per_fact=2, ideas_per_type=3)
MODEL = "mockllm/model"  # the scripted writer's name, as the folder's sdf.json records it
COUNT = token_counter(MODEL)  # four characters a token


@pytest.fixture
def world(tmp_path: Path) -> Universe:
    return load_universe(write_universe(tmp_path))


def plan(
    world: Universe,
    out: Path,
    judge: str | None = None,
    assume: SdfAssumptions | None = None,
    **changes: object,
) -> dict:
    settings = GenerateSettings(**{**SETTINGS.__dict__, **changes})
    estimate = plan_generate(world, MODEL, settings, out, load_prices(), assume, judge)
    return {s["stage"]: s for s in estimate["stages"]} | {"total": estimate}


def generate(world: Universe, out: Path, **changes: object) -> Writer:
    writer = Writer()
    settings = GenerateSettings(**{**SETTINGS.__dict__, **changes})
    asyncio.run(generate_corpus(world, writer.model, settings, out))
    return writer


def test_the_plan_asks_what_the_generator_asks(world: Universe, tmp_path: Path) -> None:
    # The scripted writer's types and ideas are a word or two ("memo", "normal one").
    scripted = SdfAssumptions(type_tokens=2, idea_tokens=3)
    planned = plan(world, tmp_path / "out", judge="x/judge", assume=scripted)
    writer = generate(world, tmp_path / "out")
    asked = writer.stages()
    assert asked == {"types": 2, "ideas": 4, "documents": N_DOCS}
    assert planned[TYPES]["calls"] == asked["types"]
    assert planned[IDEAS]["calls"] == asked["ideas"]
    assert planned[DOCUMENTS]["calls"] == asked["documents"]
    assert planned[JUDGE]["calls"] == N_DOCS  # a new document is taken to reach the judge
    # The types' prompts are known before anything is written: counted exactly.
    prompts = [types_prompt(world, fact, 2) for fact in world.facts]
    assert planned[TYPES]["input_tokens"] == sum(COUNT.conversation([p]) for p in prompts)
    # A list as long as asked, each item its assumed length and its numbering and tags.
    assert planned[TYPES]["output_tokens"] == 2 * 2 * (2 + ITEM_FORMAT_TOKENS)
    assert planned[DOCUMENTS]["output_tokens"] == round(N_DOCS * 0.4 * SETTINGS.max_tokens)
    # The generated type and idea stand in by their assumed lengths: the documents' prompts
    # are counted within a few percent of the scripted writer's real ones (ideas' too).
    real = sum(COUNT.conversation([p]) for p in writer.calls if "Write one complete" in p)
    assert planned[DOCUMENTS]["input_tokens"] == pytest.approx(real, rel=0.03)
    real = sum(COUNT.conversation([p]) for p in writer.calls if "different ideas" in p)
    assert planned[IDEAS]["input_tokens"] == pytest.approx(real, rel=0.03)
    total = planned["total"]
    assert total["calls"] == 2 + 4 + N_DOCS + N_DOCS
    assert total["unpriced"] == ["x/judge"] and total["usd"] is None


def test_at_most_takes_every_reply_at_its_max_tokens(world: Universe, tmp_path: Path) -> None:
    prices = tmp_path / "prices.toml"
    # Output alone is billed, $1 a million tokens: dollars are output tokens in millions.
    prices.write_text('[[price]]\nmatch = "mockllm/*"\ninput = 0.0\noutput = 1.0\n')
    estimate = plan_generate(world, MODEL, SETTINGS, tmp_path / "out", load_prices(prices))
    lists = 2 * min(2048, 2 * TYPE_TOKENS + 50) + 4 * min(2048, 3 * 100 + 50)
    assert estimate["usd_at_most"] == pytest.approx((lists + N_DOCS * 2048) / 1e6)
    assert estimate["usd"] == pytest.approx(estimate["output_tokens"] / 1e6)


def test_records_in_the_folder_are_replayed_at_no_cost(world: Universe, tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate(world, out)
    again = plan(world, out, judge="x/judge")
    assert [again[s]["replayed"] for s in (TYPES, IDEAS, DOCUMENTS)] == [2, 4, N_DOCS]
    assert all(again[s]["calls"] == 0 for s in (TYPES, IDEAS, DOCUMENTS))
    # The written documents are judged on their text, those the rules reject excepted
    # (refusal, meta text twice, too short, missing fact: 5 of 16). The run's judge gets one
    # fewer: dedupe, which the plan does not foresee, sets a near-duplicate aside too.
    judged: list[tuple[str, int]] = []
    judge = scripted_judge(lambda prompt, n: ["<conveys>yes</conveys>"], judged)
    settings = GenerateSettings(**{**SETTINGS.__dict__, "cache": False})
    asyncio.run(generate_corpus(world, Writer().model, settings, out, judge=judge))
    real = [COUNT.conversation([prompt]) for prompt, _ in judged]
    assert again[JUDGE]["calls"] == N_DOCS - 5 == len(real) + 1
    assert sum(real) < again[JUDGE]["input_tokens"] <= sum(real) + max(real)


def test_documents_under_replayed_lists_are_counted_on_their_real_prompts(
    world: Universe, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    generate(world, out)
    docs = out / "stages" / "docs.jsonl"
    lines = docs.read_text().splitlines(keepends=True)
    # Four documents lost, and a fifth cut off mid-write (the generator redoes it).
    docs.write_text("".join(lines[:11]) + lines[11][:30])
    planned = plan(world, out)
    assert planned[DOCUMENTS]["replayed"] == 11 and planned[DOCUMENTS]["calls"] == 5
    assert planned[TYPES]["calls"] == planned[IDEAS]["calls"] == 0
    assert docs.read_text().endswith(lines[11][:30])  # read only: the cut line is left as it was
    redone = generate(world, out, cache=False)  # asked anew, not answered from the cache
    real = [COUNT.conversation([p]) for p in redone.calls]
    assert len(real) == 5 and planned[DOCUMENTS]["input_tokens"] == sum(real)


def test_a_larger_n_docs_plans_the_new_slots_only(world: Universe, tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate(world, out)
    planned = plan(world, out, n_docs=24)
    assert planned[DOCUMENTS]["replayed"] == N_DOCS and planned[DOCUMENTS]["calls"] == 8
    extended = generate(world, out, n_docs=24)
    assert extended.stages() == {"documents": 8}


def test_a_folder_made_differently_is_refused(world: Universe, tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate(world, out)
    with pytest.raises(UsageError, match="holds documents made differently"):
        plan_generate(world, "openai/gpt-4o", SETTINGS, out, load_prices())


def test_assumptions_are_parsed_and_checked() -> None:
    assumed = SdfAssumptions.parse("document_share=0.3,idea_tokens=60")
    assert (assumed.document_share, assumed.idea_tokens, assumed.type_tokens) == (0.3, 60, 12)
    with pytest.raises(UsageError, match="unknown 'scratchpad_tokens'"):
        SdfAssumptions.parse("scratchpad_tokens=1")
    with pytest.raises(UsageError, match="out of range"):
        SdfAssumptions.parse("document_share=1.5")


def cli(tmp_path: Path, *extra: str):
    args = ["sdf", "generate", "--universe", str(write_universe(tmp_path)), "--n-docs", "16"]
    args += ["--types-per-fact", "2", "--ideas-per-type", "3", "--out", str(tmp_path / "out")]
    return CliRunner().invoke(main, [*args, *extra])


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every model the command builds is recorded, and refused: a plan builds none."""
    import inspect_ai.model

    built: list[str] = []

    def refuse(name: str, **_: object) -> None:
        built.append(name)
        raise AssertionError(f"a model was built: {name}")

    monkeypatch.setattr(inspect_ai.model, "get_model", refuse)
    return built


def test_dry_run_prints_the_plan_and_calls_and_writes_nothing(
    tmp_path: Path, no_model: list[str]
) -> None:
    result = cli(tmp_path, "--model", "openai/gpt-4o-mini", "--fact-judge", "x/judge", "--dry-run")
    assert result.exit_code == 0, result.output
    assert no_model == [] and not (tmp_path / "out").exists()
    rows = {line[:28].strip(): line.split() for line in result.output.splitlines()}
    assert rows["sdf: document types"][4] == "2" and rows["sdf: ideas"][3] == "4"
    assert rows["sdf: documents"][3] == "16" and rows["sdf: fact judge"][4] == "16"
    assert "at most (every reply max_tokens long" in result.output
    assert "a document 40% of --max-tokens" in result.output
    assert "no price for x/judge" in result.output


def test_dry_run_of_a_finished_folder_replays_every_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import inspect_ai.model

    monkeypatch.setattr(inspect_ai.model, "get_model", lambda name, **_: Writer().model)
    assert cli(tmp_path, "--model", MODEL).exit_code == 0
    before = sorted((p, p.stat().st_mtime_ns) for p in (tmp_path / "out").rglob("*"))
    result = cli(tmp_path, "--model", MODEL, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "from the output folder's stage files: 22 requests, at no cost" in result.output
    assert "total (expected)" in result.output and " 0 " in result.output
    assert sorted((p, p.stat().st_mtime_ns) for p in (tmp_path / "out").rglob("*")) == before


def test_max_cost_refuses_to_start_above_the_estimate(tmp_path: Path, no_model: list[str]) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text('[[price]]\nmatch = "x/*"\ninput = 1000.0\noutput = 1000.0\n')
    dear = cli(tmp_path, "--model", "x/writer", "--prices", str(prices), "--max-cost", "1")
    assert dear.exit_code != 0
    assert "is above --max-cost $1.00: nothing was started" in dear.output
    assert "--n-docs, --max-tokens or no --fact-judge lower it" in dear.output
    unpriced = cli(tmp_path, "--model", "x/writer", "--max-cost", "1")
    assert unpriced.exit_code != 0 and "--max-cost needs a price for x/writer" in unpriced.output
    assert no_model == [] and not (tmp_path / "out").exists()
