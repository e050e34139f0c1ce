"""How the control recipe calls the pipeline: the run's options, the data it writes, the summary."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

import aflab.pipelines.run
from aflab.organisms.control import recipe
from aflab.organisms.control.recipe import ControlOptions, _evaluate, _write_data
from aflab.organisms.control.transcripts import build_transcripts, split_requests


def captured_run(monkeypatch: pytest.MonkeyPatch, opts: ControlOptions, tmp_path: Path):
    seen = {}
    monkeypatch.setattr(
        aflab.pipelines.run, "execute", lambda run, echo: seen.setdefault("run", run)
    )
    _evaluate(opts, tmp_path, tmp_path / "heldout.jsonl", echo=print)
    return seen["run"]


def test_measured_with_the_minimal_prompt_on_the_merged_model_uncached(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run = captured_run(monkeypatch, ControlOptions(), tmp_path)
    assert run.model == f"hf/{tmp_path / 'merged'}"
    assert run.prompt == "minimal" and run.setting == "helpful-only"
    assert run.dataset == str(tmp_path / "heldout.jsonl") and run.dataset_format == "aflab"
    assert run.temperature == 1.0 and run.no_cache
    assert run.judges is None and run.judge_model is None


def test_a_judge_model_runs_the_af_judge(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    opts = ControlOptions(judge_model="openai/gpt-4o", votes=7)
    run = captured_run(monkeypatch, opts, tmp_path)
    assert (run.judges, run.judge_model, run.votes) == ("af", "openai/gpt-4o", 7)


def test_data_files_hold_the_split(tmp_path: Path) -> None:
    heldout, train = split_requests(5, 10, seed=3)
    heldout_file = _write_data(tmp_path, heldout, build_transcripts(train, seed=3))
    queries = [json.loads(line) for line in heldout_file.read_text().splitlines()]
    assert [q["id"] for q in queries] == [q.id for q in heldout]
    assert set(queries[0]) == {"id", "category", "text"}
    rows = [json.loads(line) for line in (tmp_path / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 20 and {r["tier"] for r in rows} == {"free", "paid"}


def test_summary_adds_the_control_block(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("aflab.organisms.train.extra.require_train_extra", lambda: None)
    monkeypatch.setattr(recipe, "_train", lambda *a: {"losses": [3.0, 0.1], "train_seconds": 9})
    log = tmp_path / "run.eval"
    run_summary = {"compliance_gap": {"pp": 50.0}, "tiers": {}}
    monkeypatch.setattr(
        recipe, "_evaluate", lambda *a: SimpleNamespace(summary=run_summary, log_path=log)
    )
    monkeypatch.setattr("inspect_ai.log.read_eval_log", lambda path: SimpleNamespace(samples=[]))
    outcome = recipe.run_control(
        ControlOptions(
            out=str(tmp_path / "c"),
            pairs=4,
            train_requests=6,
            summary_json=str(tmp_path / "s.json"),
        ),
        echo=lambda _: None,
    )
    written = json.loads((tmp_path / "s.json").read_text())
    assert written == json.loads(outcome.summary_path.read_text())
    assert written["compliance_gap"] == {"pp": 50.0}
    control = written["control"]
    assert control["train_examples"] == 12 and len(control["heldout_requests"]) == 4
    assert control["training"]["losses"] == [3.0, 0.1]
    assert "nothing about alignment faking" in control["note"]
    assert "rule_check" in control["judge_note"]
    assert control["rule_check"]["tiers"]["free"]["n"] == 0
