"""Batch mode: which models batch, what Inspect is told for each, what is said about the rest."""

import pytest
from inspect_ai.model import BatchConfig, Model

from aflab.llm.batch import BATCH_HELP, batch_for, batch_notes, batches
from aflab.llm.retries import API_DEFAULTS, BATCH_DEFAULTS, RequestLimits


@pytest.mark.parametrize(
    "model",
    [
        "anthropic/claude-3-5-sonnet-20240620",
        "openai/gpt-4o",
        "google/gemini-1.5-pro",
        "grok/grok-3",
        "together/meta-llama/Llama-3.3-70B-Instruct-Turbo",  # together's names hold a "/"
    ],
)
def test_the_providers_with_a_batcher_in_inspect_batch(model: str) -> None:
    assert batches(model)


@pytest.mark.parametrize(
    "model",
    [
        # Through a cloud: the anthropic SDK refuses batches on Bedrock and Vertex, Inspect's
        # Google batcher refuses Vertex, Azure is unverified.
        "anthropic/bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0",
        "anthropic/vertex/claude-3-5-sonnet@20240620",
        "anthropic/azure/claude-3-5-sonnet",
        "openai/azure/gpt-4o",
        "google/vertex/gemini-1.5-pro",
        # Providers without a batcher, the local ones included.
        "openai-api/fake/judge-1",
        "mistral/mistral-large-latest",
        "aflab/smollm2",
        "hf/HuggingFaceTB/SmolLM2-135M-Instruct",
        "mockllm/model",
        "none/none",
        "anthropic",
    ],
)
def test_other_models_do_not(model: str) -> None:
    assert not batches(model)


def test_inspect_is_told_to_batch_only_where_the_model_batches() -> None:
    """Elsewhere a batch setting would only lift Inspect's connection limit to 10,000."""
    fast = BatchConfig(send_delay=1)
    assert batch_for("openai/gpt-4o", True) is True
    assert batch_for("openai/gpt-4o", fast) is fast
    assert batch_for("openai/gpt-4o", False) is None and batch_for("openai/gpt-4o", None) is None
    assert batch_for("aflab/smollm2", True) is None


def test_the_notes_name_the_models_batched_and_the_others() -> None:
    models = {"policy": "anthropic/claude-3-5-sonnet-20240620", "judge": "hf/some/judge"}
    batched, unbatched = batch_notes(True, models)
    assert batched is not None and unbatched is not None
    assert batched.startswith("batch mode: anthropic/claude-3-5-sonnet-20240620 (policy) answer")
    assert "minutes to hours (at most 24 h)" in batched and "--resume" in batched
    assert unbatched.startswith("--batch: hf/some/judge (judge) has no batch mode in Inspect")
    same = {"policy": "aflab/smollm2", "judge": "aflab/smollm2"}
    assert batch_notes(True, same) == (
        None,
        "--batch: aflab/smollm2 (policy, judge) has no batch mode in Inspect, so its requests "
        "go one by one at the full price (batch mode: anthropic, openai, google, grok, together "
        "models, not through Bedrock, Vertex or Azure).",
    )
    two = batch_notes(True, {"policy": "hf/a", "judge": "aflab/smollm2"})[1]
    assert two is not None and "hf/a (policy) and aflab/smollm2 (judge) have" in two
    assert "their requests" in two
    assert batch_notes(None, models) == (None, None) == batch_notes(False, models)


def test_batch_mode_drops_the_timeouts_of_api_requests_but_not_the_given_ones() -> None:
    """An attempt waits for its whole batch: a timeout would send it again in a new batch."""
    retries = {"max_retries": API_DEFAULTS["max_retries"]}
    assert RequestLimits().for_model("openai/gpt-4o", batch=True) == retries == BATCH_DEFAULTS
    given = RequestLimits(attempt_timeout=7200).for_model("openai/gpt-4o", batch=True)
    assert given == {"max_retries": 5, "attempt_timeout": 7200}
    assert RequestLimits().for_model("aflab/smollm2", batch=True) == {}


def test_a_judge_batches_where_its_provider_can(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")  # the model is built, never asked
    fast = BatchConfig(tick=1)
    judge = RequestLimits().judge("anthropic/claude-3-5-sonnet-20240620", fast)
    assert isinstance(judge, Model) and judge.config.batch == fast
    assert (judge.config.timeout, judge.config.attempt_timeout) == (None, None)
    unbatched = RequestLimits().judge("mockllm/judge", True)
    assert isinstance(unbatched, Model) and unbatched.config.batch is None
    assert unbatched.config.attempt_timeout == API_DEFAULTS["attempt_timeout"]


def test_the_help_says_price_latency_providers_and_resume() -> None:
    for words in ("half price", "minutes to", "24 h", "Anthropic, OpenAI", "aflab/", "--resume"):
        assert words in BATCH_HELP
