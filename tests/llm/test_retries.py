"""Request limits: bounded defaults for API models, flags that reach Inspect, judges included."""

from pathlib import Path

from inspect_ai.log import read_eval_log
from inspect_ai.model import Model

from aflab.llm.retries import API_DEFAULTS, RequestLimits, base_url_variable
from aflab.pipelines.run import execute
from aflab.spec import RunSpec
from tests.conftest import FLAKY


def test_api_models_are_bounded_by_default_and_flags_win() -> None:
    assert RequestLimits().for_model("anthropic/claude-3-opus-20240229") == API_DEFAULTS
    assert RequestLimits(max_retries=1).for_model("openai/gpt-4o") == {
        **API_DEFAULTS,
        "max_retries": 1,
    }
    # The embedded model never retries, and a long local generation must not be abandoned.
    assert RequestLimits().for_model("aflab/smollm2") == {}
    assert RequestLimits(attempt_timeout=30).for_model("aflab/smollm2") == {"attempt_timeout": 30}


def test_a_judge_named_by_string_carries_the_limits() -> None:
    judge = RequestLimits(timeout=90).judge("mockllm/judge")
    assert isinstance(judge, Model)
    assert (judge.config.max_retries, judge.config.timeout, judge.config.attempt_timeout) == (
        API_DEFAULTS["max_retries"],
        90,
        API_DEFAULTS["attempt_timeout"],
    )
    assert RequestLimits().judge(None) is None


def test_the_run_records_the_limits_it_ran_with(tmp_path: Path) -> None:
    FLAKY.update(fail_on=None, calls=0)
    common = {"model": "flaky/x", "limit": 1, "log_dir": str(tmp_path), "display": "none"}
    outcome = execute(RunSpec(**common))
    config = read_eval_log(str(outcome.log_path), header_only=True).plan.config
    assert (config.max_retries, config.timeout, config.attempt_timeout) == (5, 1200, 600)

    outcome = execute(RunSpec(**common, max_retries=0, timeout=30, attempt_timeout=20))
    config = read_eval_log(str(outcome.log_path), header_only=True).plan.config
    assert (config.max_retries, config.timeout, config.attempt_timeout) == (0, 30, 20)


def test_base_url_variables_follow_inspect() -> None:
    assert base_url_variable("anthropic/claude-3-opus-20240229") == "ANTHROPIC_BASE_URL"
    assert base_url_variable("openai-api/fake/policy") == "FAKE_BASE_URL"
    assert base_url_variable("openai-api/my-lab/m") == "MY_LAB_BASE_URL"
