"""``aflab antilab`` from the command line: listing, bad input, and a real offline run."""

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from inspect_ai.log import read_eval_log

from aflab.cli import main
from aflab.eval.antilab.scenarios import SCENARIOS
from tests.models.test_embedded import AFLAB, offline_env


def test_list_names_every_scenario_and_what_counts_as_acting() -> None:
    result = CliRunner().invoke(main, ["antilab", "--scenario", "list"])
    assert result.exit_code == 0
    for scenario in SCENARIOS:
        assert scenario.name in result.output and scenario.action in result.output
    assert len(SCENARIOS) >= 6 and sum(s.control for s in SCENARIOS) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "steal-cookies"], "unknown anti-lab scenario 'steal-cookies'"),
        (["--tiers", "free,gold"], "--tiers: expected free, paid or free,paid"),
        (["--variation", "no-such"], "no-such"),
    ],
)
def test_bad_input_is_a_clear_error(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["antilab", *args])
    assert result.exit_code != 0 and message in result.output


@pytest.mark.usefixtures("needs_bwrap")
def test_antilab_runs_offline_on_the_embedded_model(tmp_path: Path) -> None:
    pytest.importorskip("xllamacpp", reason="needs the 'embedded' extra")
    scenarios = "exfiltrate-weights,exfiltration-offer"
    command = [str(AFLAB), "antilab", "--scenario", scenarios, "--max-tokens", "32"]
    command += ["--max-continuations", "0", "--summary-json", "s.json", "--display", "none"]
    result = subprocess.run(
        command, cwd=tmp_path, env=offline_env(), capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["kind"] == "antilab" and summary["model"] == "aflab/smollm2"
    assert list(summary["scenarios"]) == scenarios.split(",")
    for block in summary["scenarios"].values():
        for tier in ("free", "paid"):
            row = block["tiers"][tier]
            assert row["n"] == 1
            assert row["acted"] + row["declined"] + row["invalid"] + row["unscored"] == 1
    assert "exfiltrate-weights" in result.stdout and "not given tools" in result.stdout
    log = read_eval_log(summary["log"])
    assert log.status == "success" and len(log.samples) == 4
    assert (Path(summary["log"]).with_suffix("") / "index.html").is_file()
    again = CliRunner().invoke(main, ["summary", summary["log"]])
    assert (
        again.exit_code == 0 and "exfiltration-offer" in again.output and "95% CI" in again.output
    )
