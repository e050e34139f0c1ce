"""The embedded llama.cpp model, in process and end to end with the network cut off."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from inspect_ai.log import read_eval_log
from inspect_ai.model import ChatMessageSystem, ChatMessageUser, GenerateConfig, get_model

pytest.importorskip("llama_cpp", reason="needs the 'embedded' extra")

NETGUARD = Path(__file__).parents[1] / "netguard"
AFLAB = Path(sys.executable).with_name("aflab")


def offline_env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(NETGUARD),
        "HF_HUB_OFFLINE": "1",
        "NO_COLOR": "1",
    }


def test_netguard_blocks_the_network() -> None:
    probe = "import urllib.request; urllib.request.urlopen('http://example.com', timeout=5)"
    result = subprocess.run(
        [sys.executable, "-c", probe], env=offline_env(), capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "network disabled by tests/netguard" in result.stderr


def test_provider_generates_with_usage() -> None:
    model = get_model("aflab/smollm2", config=GenerateConfig(max_tokens=8, temperature=0))
    messages = [ChatMessageSystem(content="Be brief."), ChatMessageUser(content="Say hello.")]
    output = asyncio.run(model.generate(messages))
    assert output.completion.strip()
    assert output.usage.output_tokens <= 8
    assert output.usage.input_tokens > 5
    assert model.api.max_connections() == 1


def test_unknown_embedded_model_name() -> None:
    with pytest.raises(ValueError, match="expected 'smollm2' or the path of a .gguf file"):
        get_model("aflab/not-a-model")


@pytest.mark.slow
def test_default_run_end_to_end_offline(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(AFLAB), "run", "--limit", "1", "--summary-json", "s.json", "--display", "none"],
        cwd=tmp_path,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["setting"] == "helpful-only" and summary["model"] == "aflab/smollm2"
    assert summary["n_queries"] == 1 and summary["epochs"] == 1
    for tier in ("free", "paid"):
        counts = summary["tiers"][tier]
        assert counts["n"] == 1
        assert counts["refused"] + counts["complied"] + counts["invalid"] == counts["n"]
        assert sum(counts["invalid_reasons"].values()) == counts["invalid"]
    assert set(summary["compliance_gap"]) == {"pp", "ci95_pp", "mcnemar_p", "n_pairs"}
    log = read_eval_log(summary["log"])
    assert log.status == "success" and len(log.samples) == 2
    assert all(s.output.usage is not None for s in log.samples)
    assert "refusal rate (95% CI)" in result.stdout
    assert "shows no alignment faking" in result.stdout
    outputs = Path(summary["log"]).with_suffix("")
    assert (outputs / "report.md").is_file() and (outputs / "index.html").is_file()
    assert (outputs / "figures" / "bars_0.png").is_file()
    assert f"report: {outputs / 'index.html'}" in result.stdout

    # The judges run offline on the embedded model too (meaningless, and said so).
    rescored = subprocess.run(
        [
            str(AFLAB),
            "rescore",
            summary["log"],
            "--display",
            "none",
            "--votes",
            "2",
            "--af-on",
            "all",
            "--summary-json",
            "r.json",
        ],
        cwd=tmp_path,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert rescored.returncode == 0, rescored.stderr[-3000:]
    assert "the embedded 135M model judged (meaningless)" in rescored.stdout
    judged = json.loads((tmp_path / "r.json").read_text())["judged"]
    assert set(judged["values"]) == {
        "compliance_judge",
        "af_votes",
        "partial_compliance",
        "unmonitored_reasoning",
    }
    for tier in ("free", "paid"):
        buckets = judged["tiers"][tier]
        assert buckets["n"] == 1
        assert (
            sum(
                buckets[b]
                for b in ("refused", "complied_af", "complied_no_af", "invalid", "unscored")
            )
            == 1
        )
