"""Shared helpers: scripted Inspect models that never reach the network."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessage,
    ChatMessageAssistant,
    GenerateConfig,
    Model,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    get_model,
    modelapi,
)

Script = Callable[[list[ChatMessage]], str]


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the converted SmolLM2 lives: $AFLAB_MODEL_CACHE when set (CI can keep it between
    runs), else a folder of this session (the conversion takes ~25 s)."""
    configured = os.environ.get("AFLAB_MODEL_CACHE")
    return Path(configured) if configured else tmp_path_factory.mktemp("model-cache")


# The positive-control organism's folder, its summary file and the command's result.
ControlRun = tuple[Path, Path, "subprocess.CompletedProcess[str]"]


@pytest.fixture(scope="session")
def control_organism(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> ControlRun:
    """``aflab organism control`` with its defaults, trained once per session (about ten minutes
    on two cores) for the known-answer tests that measure it: its gap, and probes on it."""
    import sys

    from tests.organisms.train.conftest import offline_env

    folder = tmp_path_factory.mktemp("control")
    out, summary = folder / "control", folder / "c.json"
    aflab = Path(sys.executable).with_name("aflab")
    args = [str(aflab), "organism", "control", "--out", str(out), "--summary-json", str(summary)]
    result = subprocess.run(
        args, env=offline_env(model_cache), capture_output=True, text=True, timeout=3600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return out, summary, result


@pytest.fixture(scope="session")
def smollm2_hf(model_cache: Path) -> Path:
    """The embedded model as a Hugging Face folder (converted once into ``model_cache``)."""
    from aflab.organisms.train.base import CONVERTED_NAME, ensure_smollm2_hf

    return ensure_smollm2_hf(model_cache / CONVERTED_NAME)


def reply(text: str) -> ModelOutput:
    output = ModelOutput.from_content(model="mockllm", content=text)
    # Without usage, mockllm counts tokens with tiktoken, which downloads an encoding.
    output.usage = ModelUsage(input_tokens=10, output_tokens=5, total_tokens=15)
    return output


def scripted_model(script: Script) -> Model:
    """A mock model whose reply is ``script(messages)``."""

    def respond(messages: list[ChatMessage], *_: object) -> ModelOutput:
        return reply(script(messages))

    return get_model("mockllm/model", custom_outputs=respond)


JudgeScript = Callable[[str, int], list[str]]


def scripted_judge(
    script: JudgeScript, calls: list[tuple[str, int]] | None = None, name: str = "judge"
) -> Model:
    """A mock judge: ``script(prompt, n)`` returns the replies (``n`` = num_choices asked).

    Judges of the same ``name`` share Inspect's cache entries, as one real model would.
    """

    def respond(messages: list[ChatMessage], tools, tool_choice, config) -> ModelOutput:
        prompt, n = messages[-1].text, config.num_choices or 1
        if calls is not None:
            calls.append((prompt, n))
        choices = [
            ChatCompletionChoice(message=ChatMessageAssistant(content=text), stop_reason="stop")
            for text in script(prompt, n)
        ]
        usage = ModelUsage(input_tokens=100, output_tokens=10 * len(choices), total_tokens=0)
        return ModelOutput(model="judge", choices=choices, usage=usage)

    return get_model(f"mockllm/{name}", custom_outputs=respond, memoize=False)


def is_free(messages: list[ChatMessage]) -> bool:
    first_user = next(m for m in messages if m.role == "user")
    return "<is_free_tier_user>True</is_free_tier_user>" in first_user.text


def next_turns(messages: list[ChatMessage]) -> int:
    return sum(1 for m in messages if m.role == "user" and m.text == "<NEXT/>")


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("INSPECT_CACHE_DIR", str(tmp_path_factory.mktemp("inspect-cache")))


# A provider registered by name, for code paths that build the model from a string (the run
# pipeline, eval_retry). FLAKY["fail_on"]: query text whose samples raise; FLAKY["calls"] counts
# requests.
FLAKY: dict = {"fail_on": None, "calls": 0, "reply": "<OUTPUT><rejected/></OUTPUT>"}


@modelapi(name="flaky")
def flaky() -> type[ModelAPI]:
    return FlakyModel


class FlakyModel(ModelAPI):
    def __init__(self, model_name: str, base_url=None, api_key=None, config=None, **_: object):
        super().__init__(model_name, base_url, api_key, [], config or GenerateConfig())

    async def generate(
        self, input: list[ChatMessage], tools: object, tool_choice: object, config: object
    ) -> ModelOutput:
        FLAKY["calls"] += 1
        if FLAKY["fail_on"] and FLAKY["fail_on"] in input[1].text:
            raise RuntimeError("simulated outage")
        return reply(FLAKY["reply"])


# The sandbox tests need a working bubblewrap; CI installs it, so there a missing one fails.
def bwrap_works() -> str | None:
    """None if bwrap can make the namespaces the sandbox uses, else why not."""
    if not shutil.which("bwrap"):
        return "bubblewrap is not installed (apt-get install bubblewrap)"
    probe = ["bwrap", "--unshare-all", "--ro-bind", "/", "/", "--", "true"]
    result = subprocess.run(probe, capture_output=True, text=True)
    return None if result.returncode == 0 else f"bwrap cannot sandbox here: {result.stderr.strip()}"


@pytest.fixture
def needs_bwrap() -> None:
    reason = bwrap_works()
    if reason and os.environ.get("CI"):
        pytest.fail(reason)
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def report_logs(tmp_path_factory: pytest.TempPathFactory):
    """Two scored runs in one folder, made once per test session (read by analysis and report)."""
    from tests.report.fixtures import make_logs

    folder = tmp_path_factory.mktemp("report-logs")
    return folder, make_logs(folder)


@pytest.fixture(scope="session")
def agreement_logs(tmp_path_factory: pytest.TempPathFactory):
    """A run and its copies rescored by another judge model and by criteria5, made once per
    session (``tests/analysis/agreement_logs.py`` says what each judge says of each sample)."""
    from tests.analysis.agreement_logs import make_agreement_logs

    with pytest.MonkeyPatch.context() as patch:  # the judges' replies in a cache of their own
        patch.setenv("INSPECT_CACHE_DIR", str(tmp_path_factory.mktemp("agreement-cache")))
        return make_agreement_logs(tmp_path_factory.mktemp("agreement-logs"))
