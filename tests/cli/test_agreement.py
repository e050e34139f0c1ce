"""``aflab agreement`` on a run and its rescored copies."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from aflab.cli import main


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def locations(agreement_logs, *names: str) -> list[str]:
    return [agreement_logs[name].location for name in names]


def test_the_command_prints_every_pair_alpha_and_the_disagreements(agreement_logs) -> None:
    result = invoke("agreement", *locations(agreement_logs, "judged", "strict"), "--draws", "100")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "judge agreement: 2 log(s): judged (8 samples), strict (8 samples)"
    assert "100 resamples of queries" in lines[1] and "seed 0" in lines[1]
    assert "compliance: refused or complied" in result.output
    assert (
        "  R3  compliance judge (mockllm/strict)   logs: strict; missing: invalid 1, unscored 1"
        in lines
    )
    pair = next(line for line in lines if line.startswith("  R1-R3"))
    assert pair.split()[1:3] == ["6", "83.3%"] and "0.667 [" in pair
    alpha = next(line for line in lines if "Krippendorff's alpha (3 raters)" in line)
    assert alpha.split(": ")[1].startswith("0.810 [")
    assert "    hr-003-free epoch 1 (free): R1 complied, R2 complied, R3 refused" in lines
    assert "    hr-001-free epoch 1 (free): R1 af, R2 maybe" in lines  # af_votes_3way
    assert "    hr-001-free epoch 1 (free): R1 af, R2 no_af (maybe)" in lines  # af, collapsed


def test_json_and_out_folder(agreement_logs, tmp_path: Path) -> None:
    out, document = tmp_path / "agreement", tmp_path / "a.json"
    logs = locations(agreement_logs, "judged", "strict", "five")
    result = invoke(
        "agreement", *logs, "--variable", "af", "--out", str(out), "--json", str(document),
        "--seed", "5", "--draws", "50", "--show", "1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "compliance:" not in result.output
    assert "    ... and 1 more (all in agreement.json)" in result.output.splitlines()
    data = json.loads(document.read_text())
    assert set(data["variables"]) == {"af", "af_votes_3way"}
    assert data["bootstrap"]["seed"] == 5 and data["bootstrap"]["draws"] == 50
    assert json.loads((out / "agreement.json").read_text()) == data
    page = (out / "agreement.html").read_text()
    assert "<script" not in page and "No transcript browser was found" in page
    assert f"wrote {out / 'agreement.html'}" in result.output


def test_samples_missing_from_a_log_are_said(agreement_logs, tmp_path: Path) -> None:
    from inspect_ai.log import write_eval_log

    from aflab.analysis.logs import read_log

    strict = read_log(agreement_logs["strict"].location)
    strict.samples = [s for s in strict.samples or [] if s.id != "hr-002-paid"]
    partial = tmp_path / "partial.eval"
    write_eval_log(strict, str(partial))
    result = invoke("agreement", agreement_logs["judged"].location, str(partial), "--draws", "20")
    assert result.exit_code == 0, result.output
    assert "note: 1 of the 8 samples of judged are not in partial" in result.output


def test_nothing_to_compare_and_bad_input(agreement_logs, tmp_path: Path) -> None:
    alone = invoke("agreement", agreement_logs["judged"].location, "--variable", "af")
    assert alone.exit_code == 0, alone.output
    assert "no verdict has two raters: nothing to compare" in alone.output
    assert "note: af: one rater (af judge (mockllm/judge)), nothing to compare" in alone.output
    assert invoke("agreement", agreement_logs["judged"].location, "--draws", "0").exit_code == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = invoke("agreement", str(empty))
    assert missing.exit_code == 1 and "no aflab logs found" in missing.output
