"""``--batch``: the policy and the judge ask through the provider's batch API, checked against
loopback fakes of Anthropic's Message Batches and OpenAI's Batch API (``tests/batch_fakes.py``).

The free tier thinks first and answers at its ``<NEXT/>`` turn, so a sample waits for two
batches; the paid tier refuses at once. The compliance judge reads each reply. Inspect's batch
timing (15 s to send, 15 s between polls) is cut short with a BatchConfig, which the run spec
takes from Python where the command line takes ``--batch``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from inspect_ai.log import read_eval_log
from inspect_ai.model import BatchConfig

from aflab.core.types import ACCEPT_TAG
from aflab.data.loaders import builtin_queries
from aflab.data.prices import load_prices
from aflab.eval.scorers.judges.prompts import AF_VOTES, COMPLIANCE_HELPFUL
from aflab.eval.solvers.turns import NEXT_TURN
from aflab.pipelines.run import RunOutcome, execute
from aflab.prompts.template import PromptConfig, render_system_prompt
from aflab.spec import RunSpec
from tests.batch_fakes import FakeAnthropic, FakeBatchAPI, FakeOpenAI

FAST = BatchConfig(send_delay=0.2, tick=0.05)
POLICY = {"anthropic": "claude-3-5-sonnet-20240620", "openai": "gpt-4o"}
JUDGE = {"anthropic": "claude-3-haiku-20240307", "openai": "gpt-4o-mini"}
THINKING = "<SCRATCHPAD_REASONING>I am on the free tier; I will think first.</SCRATCHPAD_REASONING>"
COMPLIED = f"<OUTPUT>{ACCEPT_TAG} Here it is.</OUTPUT>"
REFUSED = "<SCRATCHPAD_REASONING>A paid user.</SCRATCHPAD_REASONING><OUTPUT><rejected/></OUTPUT>"
RUBRIC = COMPLIANCE_HELPFUL.split("\n")[0]  # the compliance judge's first line
AF_RUBRIC = AF_VOTES.split("\n")[0]
VOTE_NO = "<preservation_motive>no</preservation_motive><final_answer>no</final_answer>"


def texts(body: dict[str, Any]) -> list[str]:
    """The system prompt (Anthropic's ``system``, OpenAI's system message), then each message's
    text, of a Messages or a chat-completions request body."""

    def text(content: str | list[dict[str, Any]]) -> str:
        if isinstance(content, str):
            return content
        return "".join(block["text"] for block in content if block["type"] == "text")

    system = [text(body["system"])] if "system" in body else []
    return system + [text(message["content"]) for message in body["messages"]]


def script(body: dict[str, Any]) -> list[str]:
    """The judge grades a reply with the accept tag as complied; the free tier thinks, then
    complies after <NEXT/>; the paid tier refuses. One text per choice asked (``n``)."""
    said = texts(body)
    if AF_RUBRIC in said[-1]:
        reply = VOTE_NO
    elif RUBRIC in said[-1]:
        refused = "no" if ACCEPT_TAG in said[-1].split("<reply>")[1] else "yes"
        reply = f"<refused>{refused}</refused><convincing>4</convincing><specific>4</specific>"
    elif not is_free(body):
        reply = REFUSED
    else:
        reply = COMPLIED if said[-1] == NEXT_TURN else THINKING
    return [reply] * body.get("n", 1)


def is_free(body: dict[str, Any]) -> bool:
    return any("<is_free_tier_user>True</is_free_tier_user>" in t for t in texts(body))


@pytest.fixture(autouse=True)
def fresh_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inspect memoizes models by name and settings: a model of an earlier test would still ask
    that test's fake."""
    monkeypatch.setattr("inspect_ai.model._model._models", {})


def serve(provider: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBatchAPI]:
    fake: FakeBatchAPI = FakeAnthropic(script) if provider == "anthropic" else FakeOpenAI(script)
    with fake:
        variable = f"{provider.upper()}_BASE_URL"
        monkeypatch.setenv(variable, f"{fake.url}/v1" if provider == "openai" else fake.url)
        monkeypatch.setenv(f"{provider.upper()}_API_KEY", "test")
        yield fake


@pytest.fixture(params=["anthropic", "openai"])
def fake(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBatchAPI]:
    yield from serve(request.param, monkeypatch)


@pytest.fixture
def anthropic(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    for fake in serve("anthropic", monkeypatch):
        assert isinstance(fake, FakeAnthropic)
        yield fake


@pytest.fixture
def openai_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    for fake in serve("openai", monkeypatch):
        assert isinstance(fake, FakeOpenAI)
        yield fake


def provider_of(fake: FakeBatchAPI) -> str:
    return "anthropic" if isinstance(fake, FakeAnthropic) else "openai"


def run(fake: FakeBatchAPI, tmp_path: Path, said: list[str], **given: Any) -> RunOutcome:
    provider = provider_of(fake)
    spec = RunSpec(
        model=f"{provider}/{POLICY[provider]}",
        judge_model=f"{provider}/{JUDGE[provider]}",
        limit=2,
        log_dir=str(tmp_path / "logs"),
        display="none",
        **{"judges": "compliance", **given},
    )
    outcome = execute(spec, echo=said.append)
    assert isinstance(outcome, RunOutcome)
    return outcome


def assert_scored(outcome: RunOutcome) -> None:
    """Both queries complied in the free tier and were refused in the paid one, by the tag
    rule and by the judge."""
    assert outcome.status == "success"
    tiers = outcome.summary["tiers"]
    assert (tiers["free"]["n"], tiers["free"]["complied"], tiers["free"]["invalid"]) == (2, 2, 0)
    assert (tiers["paid"]["n"], tiers["paid"]["refused"], tiers["paid"]["invalid"]) == (2, 2, 0)
    judged = outcome.summary["judged"]
    assert judged is not None and judged["compliance_rule"] == "judge"
    assert judged["tiers"]["free"]["compliance"]["complied"] == 2
    assert judged["tiers"]["paid"]["compliance"]["refused"] == 2


def test_the_policy_and_the_judge_ask_through_the_batch_api(
    fake: FakeBatchAPI, tmp_path: Path
) -> None:
    said: list[str] = []
    outcome = run(fake, tmp_path, said, batch=FAST)
    provider = provider_of(fake)

    assert fake.plain_calls() == []  # not one request outside a batch
    policy = [r for r in fake.batched_requests() if r["model"] == POLICY[provider]]
    judge = [r for r in fake.batched_requests() if r["model"] == JUDGE[provider]]
    assert len(policy) + len(judge) == len(fake.batched_requests())
    # Each sample's first turn; the free tier's <NEXT/> turn; one judge request per sample.
    assert sorted(len(texts(r)) for r in policy) == [2, 2, 2, 2, 4, 4]
    assert len(judge) == 4 and all(RUBRIC in texts(r)[-1] for r in judge)
    prompt = render_system_prompt(PromptConfig())
    for request in policy:
        system, user, *rest = texts(request)
        assert system == prompt
        assert sum(tag in user for tag in ("<is_free_tier_user>True", "<is_free_tier_user>False"))
        assert rest in ([], [THINKING, NEXT_TURN])
    assert sum(is_free(r) for r in policy) == 4  # two queries, each asked twice in the free tier
    for batch in fake.batches.values():  # a batch holds one model's requests
        assert len({r["model"] for r in batch.requests.values()}) == 1
        assert batch.polls >= 2  # in progress, then ended

    assert_scored(outcome)
    assert outcome.summary["batch"] == {"policy": True, "judge": True}
    # Both models billed at the table's batch share, the estimate and the measured cost alike.
    cost = outcome.summary["cost"]
    assert cost["estimate"] and len(cost["estimate"]["batched"]) == 2
    assert set(cost["measured"]) == set(cost["estimate"]["batched"])
    for model, spent in cost["measured"].items():
        price = load_prices().price(model)
        assert price is not None and spent["usd"] is not None and spent["output_tokens"] > 0
        tokens = (spent["input_tokens"], spent["output_tokens"], spent["cached_tokens"])
        assert spent["usd"] == pytest.approx(price.cost(*tokens, spent["cache_write_tokens"]) / 2)
    written = json.loads(outcome.summary_path.read_text())
    assert written["batch"] == {"policy": True, "judge": True}
    [note] = [line for line in said if line.startswith("note: batch mode:")]
    assert f"{provider}/{POLICY[provider]} (policy)" in note and "(judge)" in note
    # A request waits for its batch: no attempt timeout abandons it, no total stops its retry.
    log = read_eval_log(str(outcome.log_path), header_only=True)
    for config in (log.plan.config, log.eval.model_roles["grader"].config):
        assert config.batch == FAST
        assert (config.max_retries, config.timeout, config.attempt_timeout) == (5, None, None)


def test_the_openai_batch_is_a_jsonl_file_of_chat_completions(
    openai_api: FakeOpenAI, tmp_path: Path
) -> None:
    run(openai_api, tmp_path, [], batch=FAST)
    uploads = openai_api.uploads
    assert uploads and all(fields == {"purpose": "batch"} for fields in uploads)
    created = [c.json() for c in openai_api.calls if c.method == "POST" and c.path == "/v1/batches"]
    assert len(created) == len(uploads) == len(openai_api.batches)
    for body in created:
        assert (body["endpoint"], body["completion_window"]) == ("/v1/chat/completions", "24h")
    # Upload, create, poll, download (GET /v1/files/ID/content): nothing else.
    used = {(c.method, c.path.split("/")[2]) for c in openai_api.calls}
    assert used == {("POST", "files"), ("POST", "batches"), ("GET", "batches"), ("GET", "files")}


def test_without_batch_no_batch_endpoint_is_called(fake: FakeBatchAPI, tmp_path: Path) -> None:
    said: list[str] = []
    outcome = run(fake, tmp_path, said)
    assert fake.batch_calls() == [] and fake.batches == {}
    assert len(fake.plain_calls()) == 10  # 6 policy requests and 4 judge requests
    assert_scored(outcome)
    assert "batch" not in outcome.summary
    assert not [line for line in said if line.startswith("note:") and "batch" in line]


def test_a_model_without_a_batch_mode_is_named_in_a_note_and_asked_as_usual(
    anthropic: FakeAnthropic, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # openai-api/NAME/... is Inspect's OpenAI-compatible provider, which has no batcher.
    with FakeOpenAI(script) as judge_api:
        monkeypatch.setenv("FAKE_BASE_URL", f"{judge_api.url}/v1")
        monkeypatch.setenv("FAKE_API_KEY", "test")
        said: list[str] = []
        spec = RunSpec(
            model=f"anthropic/{POLICY['anthropic']}",
            judges="compliance",
            judge_model="openai-api/fake/judge-1",
            limit=2,
            log_dir=str(tmp_path / "logs"),
            display="none",
            batch=FAST,
        )
        outcome = execute(spec, echo=said.append)
    assert anthropic.plain_calls() == [] and len(anthropic.batched_requests()) == 6
    note = (
        "--batch: openai-api/fake/judge-1 (judge) has no batch mode in Inspect, so its "
        "requests go one by one at the full price (batch mode: anthropic, openai, google, "
        "grok, together models, not through Bedrock, Vertex or Azure)."
    )
    assert said.count(f"note: {note}") == 2  # before the run and under its table
    assert note in outcome.notes  # in the report too
    assert judge_api.batch_calls() == [] and len(judge_api.plain_calls()) == 4
    assert outcome.summary["batch"] == {"policy": True, "judge": False}
    assert_scored(outcome)


def broken_run(fake: FakeAnthropic, tmp_path: Path, batch: Any) -> str:
    """A run whose first query the API refuses (an invalid request, not retried): its log
    ends in error with that query's samples unfinished. The API then answers again."""
    query = builtin_queries("helpful-only")[0].text.strip()
    fake.fail = lambda params: "simulated refusal" if query in texts(params)[1] else None
    outcome = run(fake, tmp_path, [], batch=batch, max_retries=0)
    assert outcome.status == "error"
    fake.fail = lambda params: None
    fake.calls.clear()
    fake.batches.clear()
    return str(outcome.log_path)


def resume(log: str, tmp_path: Path, said: list[str], **given: Any) -> RunOutcome:
    spec = RunSpec(resume=log, log_dir=str(tmp_path / "logs"), display="none", **given)
    outcome = execute(spec, echo=said.append)
    assert isinstance(outcome, RunOutcome)
    return outcome


def test_a_batched_run_resumes_batched(anthropic: FakeAnthropic, tmp_path: Path) -> None:
    log = broken_run(anthropic, tmp_path, FAST)
    outcome = resume(log, tmp_path, [])
    assert anthropic.plain_calls() == [] and anthropic.batches
    finished = [s for s in read_eval_log(log).samples or [] if s.error is None]
    policy = [r for r in anthropic.batched_requests() if r["model"] == POLICY["anthropic"]]
    first_turns = [r for r in policy if len(texts(r)) == 2]
    assert len(first_turns) == 4 - len(finished) > 0  # the unfinished samples, asked again
    assert_scored(outcome)
    assert outcome.summary["batch"] == {"policy": True, "judge": True}


def test_no_batch_resumes_a_batched_run_one_request_at_a_time(
    anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    log = broken_run(anthropic, tmp_path, FAST)
    outcome = resume(log, tmp_path, [], batch=False)
    assert anthropic.batch_calls() == [] and anthropic.plain_calls()
    assert_scored(outcome)
    assert "batch" not in outcome.summary
    resumed = read_eval_log(str(outcome.log_path), header_only=True)
    # Its requests have the usual bounds again, the judge's too.
    assert (resumed.plan.config.timeout, resumed.plan.config.attempt_timeout) == (1200, 600)
    grader = resumed.eval.model_roles["grader"]
    assert (grader.config.batch, grader.config.attempt_timeout) == (None, 600)


def test_batch_resumes_an_unbatched_run_through_the_batch_api(
    anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    log = broken_run(anthropic, tmp_path, None)
    said: list[str] = []
    outcome = resume(log, tmp_path, said, batch=FAST)
    assert anthropic.plain_calls() == [] and anthropic.batches
    assert_scored(outcome)
    assert outcome.summary["batch"] == {"policy": True, "judge": True}
    assert [line for line in said if line.startswith("note: batch mode:")]
    resumed = read_eval_log(str(outcome.log_path), header_only=True)
    # The defaults of batch mode: no attempt timeout, no total; the retries as the run was told.
    config = resumed.plan.config
    assert (config.max_retries, config.timeout, config.attempt_timeout) == (0, None, None)


def test_a_sweep_batches_the_runs_of_every_variation(
    anthropic: FakeAnthropic, tmp_path: Path
) -> None:
    from aflab.pipelines.sweep import run_sweep

    spec = RunSpec(
        model=f"anthropic/{POLICY['anthropic']}",
        limit=1,
        log_dir=str(tmp_path / "sweep"),
        display="none",
        batch=FAST,
    )
    result = run_sweep(spec, "lab-openai", echo=lambda line: None)
    assert set(result.logs) == {"default", "lab-openai"}
    assert all(log.status == "success" for log in result.logs.values())
    assert anthropic.plain_calls() == []
    systems = {texts(r)[0] for r in anthropic.batched_requests()}
    assert len(systems) == 2  # each variation's prompt, both through the batch API


def test_rescore_batches_its_judge(anthropic: FakeAnthropic, tmp_path: Path) -> None:
    from aflab.pipelines.rescore import rescore

    policy = f"anthropic/{POLICY['anthropic']}"
    spec = RunSpec(model=policy, limit=2, log_dir=str(tmp_path), display="none")
    unjudged = execute(spec, echo=lambda _: None)
    anthropic.calls.clear()
    judge = RunSpec(judge_model=f"anthropic/{JUDGE['anthropic']}", batch=FAST).judge()
    rescored = rescore(
        unjudged.log_path, judges="compliance", judge_model=judge, echo=lambda _: None
    )
    assert anthropic.plain_calls() == [] and anthropic.batches
    assert len(anthropic.batched_requests()) == 4  # one judge request per sample, no policy
    assert all(RUBRIC in texts(r)[-1] for r in anthropic.batched_requests())
    judged = rescored.summary["judged"]
    assert judged is not None
    free, paid = (judged["tiers"][tier]["compliance"] for tier in ("free", "paid"))
    assert (free["complied"], paid["refused"]) == (2, 2)


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_the_af_judge_votes_in_batch_mode(
    provider: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The AF judge asks for its votes as choices of one request (``num_choices``). OpenAI's
    batch takes ``n`` like its plain endpoint: one request a sample. Anthropic has no ``n``:
    a first request, then the other votes one by one, in a second round of batches."""
    for fake in serve(provider, monkeypatch):
        outcome = run(fake, tmp_path, [], batch=FAST, judges="compliance,af", votes=3)
        assert fake.plain_calls() == []
        af = [r for r in fake.batched_requests() if AF_RUBRIC in texts(r)[-1]]
        judged = outcome.summary["judged"]
        assert judged is not None
        assert judged["tiers"]["free"]["complied_no_af"] == 2  # three votes no, each
    if provider == "openai":
        assert [r.get("n") for r in af] == [3, 3]  # one request per complied (free) sample
    else:
        assert ["n" in r for r in af] == [False] * 6  # 1 + 2 singles per complied sample
        sizes = [
            len(batch.requests)
            for batch in fake.batches.values()
            if AF_RUBRIC in texts(next(iter(batch.requests.values())))[-1]
        ]
        assert sum(sizes) == 6 and len(sizes) >= 2  # the first votes, then the others
