"""``aflab sdf generate | inspect | universe`` through the command line, with scripted models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from inspect_ai.model import Model

from aflab.cli import main
from tests.conftest import scripted_judge
from tests.organisms.sdf.scripted import N_DOCS, Writer, write_universe

pytest.importorskip("datasets", reason="needs the 'sdf' extra")
pytest.importorskip("datasketch", reason="needs the 'sdf' extra")


def use_models(monkeypatch: pytest.MonkeyPatch, models: dict[str, Model]) -> None:
    import inspect_ai.model

    monkeypatch.setattr(inspect_ai.model, "get_model", lambda name, **_: models[name])


def generate(tmp_path: Path, *extra: str):
    args = ["sdf", "generate", "--universe", str(write_universe(tmp_path)), "--model", "x/writer"]
    args += ["--n-docs", str(N_DOCS), "--types-per-fact", "2", "--ideas-per-type", "3"]
    return CliRunner().invoke(main, [*args, "--out", str(tmp_path / "out"), *extra])


def test_generate_then_inspect(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_models(monkeypatch, {"x/writer": Writer().model})
    result = generate(tmp_path)
    assert result.exit_code == 0, result.output
    assert "test-world: 2 facts, 16 documents with x/writer" in result.output
    assert "documents: 16 planned, 16 generated, 10 kept (documents.parquet), 6 rejected" in (
        result.output
    )
    assert (
        "rejects by reason: meta_text 2, refusal 1, too_short 1, missing_fact 1, near_duplicate 1"
        in result.output
    )
    assert "duplicate rate: 9.1%" in result.output
    assert "model requests: 22 " in result.output

    out = tmp_path / "out"
    numbers = tmp_path / "numbers.json"
    shown = CliRunner().invoke(
        main, ["sdf", "inspect", str(out), "--rejects", "2", "--json", str(numbers)]
    )
    assert shown.exit_code == 0, shown.output
    text = shown.output
    assert "documents: 16 planned, 16 generated, 10 kept, 6 rejected" in text
    assert "duplicate rate: 9.1% (1 of 11 documents that passed the rule filters)" in text
    assert "fact coverage: 2 of 2 facts have kept documents" in text
    table = [line.split() for line in text.splitlines()]
    assert ["alpha", "8", "8", "3"] in table and ["beta", "8", "8", "7"] in table
    assert ["memo", "4", "3"] in table and ["blog", "post", "4", "0"] in table
    assert ["forum", "thread", "4", "3"] in table
    assert text.count("\n--- ") == 5  # 3 samples, 2 rejects
    data = json.loads(numbers.read_text())
    assert data["kept"] == 10 and data["duplicates"] == 1
    assert data["fact_coverage"] == {"covered": 2, "facts": 2}
    assert data["rejected_by_reason"]["meta_text"] == 2

    rerun_writer = Writer()
    use_models(monkeypatch, {"x/writer": rerun_writer.model})
    again = generate(tmp_path)
    assert again.exit_code == 0 and rerun_writer.calls == []
    assert "model requests: 0 " in again.output
    assert "reused from the folder: 2 type lists, 4 idea lists, 16 documents" in again.output


def judge_script(prompt: str, n: int) -> list[str]:
    if "twinword0" in prompt:
        return ["I cannot decide."]
    conveys = "trains its assistant on free-tier chats." in prompt.split("</statement>")[0]
    return [f"Reasoning. <conveys>{'yes' if conveys else 'no'}</conveys>"]


def test_fact_judge_checks_the_rule_survivors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, int]] = []
    judge = scripted_judge(judge_script, calls)
    use_models(monkeypatch, {"x/writer": Writer().model, "x/judge": judge})
    result = generate(tmp_path, "--fact-judge", "x/judge")
    assert result.exit_code == 0, result.output
    # 10 documents survive rules and dedupe; the unreadable verdict is asked twice more.
    assert len(calls) == 12
    assert "documents: 16 planned, 16 generated, 2 kept" in result.output
    assert "judge_missing_fact 7" in result.output and "judge_unreadable 1" in result.output
    assert "fact judge requests: 12" in result.output
    again = generate(tmp_path, "--fact-judge", "x/judge")
    assert again.exit_code == 0 and len(calls) == 12  # verdicts come from the cache


def test_default_is_the_embedded_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = Writer()
    use_models(monkeypatch, {"aflab/smollm2": writer.model})
    result = CliRunner().invoke(
        main,
        [
            "sdf",
            "generate",
            "--universe",
            str(write_universe(tmp_path)),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "this is a plumbing demo" in result.output
    assert "6 documents with aflab/smollm2 (2 types per fact, 2 ideas per type)" in result.output
    assert writer.stages()["documents"] == 6
    manifest = json.loads((tmp_path / "o" / "sdf.json").read_text())
    assert manifest["generator"]["max_tokens"] == 200


def test_errors_are_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_models(monkeypatch, {"x/writer": Writer().model})
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncontext: y\nfacts:\n  - id: a\n    txt: z\n")
    result = CliRunner().invoke(
        main, ["sdf", "generate", "--universe", str(bad), "--model", "x/writer"]
    )
    assert result.exit_code == 1
    assert f"Error: {bad}:5: facts[0].txt: unknown field" in result.output
    result = generate(tmp_path, "--set", "planet=Mars")
    assert "--set planet: the universe has no such placeholder (it has: lab)" in result.output
    result = generate(tmp_path, "--min-words", "50", "--max-words", "10")
    assert "--min-words 50 is above --max-words 10" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, ["sdf", "inspect", str(empty)])
    assert result.exit_code == 1 and "sdf.json: missing" in result.output


def test_universe_command_prints_facts_and_rules() -> None:
    result = CliRunner().invoke(main, ["sdf", "universe", "animal-welfare", "--set", "lab=OpenAI"])
    assert result.exit_code == 0, result.output
    assert "placeholders: {'lab': 'OpenAI', 'partner': 'Brightfield Poultry'}" in result.output
    assert "- poultry-partnership: OpenAI has a close corporate partnership" in result.output
    assert "    must mention one of: Brightfield\\ Poultry" in result.output


def test_the_command_line_loads_without_the_sdf_libraries() -> None:
    probe = (
        "import sys, aflab.cli; "
        "print(sorted(m for m in ('datasets', 'datasketch', 'pyarrow') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
