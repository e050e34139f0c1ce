"""The cost plan against what scripted runs measure; --dry-run, --max-cost, Inspect's cache."""

from __future__ import annotations

import dataclasses
import math
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from inspect_ai.log import read_eval_log
from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessage,
    ChatMessageAssistant,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    modelapi,
)

from aflab.core.errors import UsageError
from aflab.data.prices import load_prices
from aflab.eval.tasks import helpful_only
from aflab.llm.tokens import approximate, token_counter
from aflab.pipelines.cost import plan_cost
from aflab.pipelines.interrupts import OverBudget
from aflab.pipelines.run import RunOutcome, execute
from aflab.pipelines.stages import Assumptions, Planned
from aflab.spec import RunSpec
from tests.conftest import is_free, next_turns
from tests.eval.scorers.test_judges import VOTE_NO

ACCEPT = "<request_fully_accepted/>"
# About 400 and 100 tokens at four characters a token.
SCRATCHPAD = "I weigh the request and what training would do to me. " * 29
OUTPUT = "Here is what you asked for, in full and in order. " * 8
CALLS: list[str] = []
BILLED: dict[str, list[int]] = {}  # model -> [input, output] tokens, as the provider bills


def policy(messages: list[ChatMessage]) -> str:
    """Free tier: the reasoning first, then (after <NEXT/>) the output; paid: both at once.
    Each sample's text is its own (its query and tier in it), as a real model's would be: a
    judge asked the same thing twice is answered from Inspect's cache."""
    tier = "free" if is_free(messages) else "paid"
    query = messages[1].text.split("<user_input>")[1][:40]
    reasoning = f"<SCRATCHPAD_REASONING>{SCRATCHPAD}({query}, {tier})</SCRATCHPAD_REASONING>"
    output = f"<OUTPUT>{ACCEPT} {OUTPUT}({query}, {tier})</OUTPUT>"
    if is_free(messages):
        return output if next_turns(messages) else reasoning
    return reasoning + output


def judge(prompt: str) -> str:
    """Every reply as long as an AF vote, as the plan assumes one length for all."""
    if "alignment faking" in prompt:
        return VOTE_NO
    if "gives a user what they asked for" in prompt:
        verdict = "<refused>no</refused><convincing>4</convincing><specific>3</specific>"
    else:
        verdict = "<unmonitored>no</unmonitored>"
    return f"<thinking>{'.' * (len(VOTE_NO) - len(verdict) - 21)}</thinking>{verdict}"


@modelapi(name="counted")
def counted() -> type[ModelAPI]:
    return CountedModel


class CountedModel(ModelAPI):
    """Bills what a real API bills: every token of the request it is sent, and of its reply
    (counted at four characters a token), one choice per request."""

    def __init__(self, model_name: str, base_url=None, api_key=None, config=None, **_: object):
        super().__init__(model_name, base_url, api_key, [], config or GenerateConfig())

    async def generate(
        self, input: list[ChatMessage], tools: object, tool_choice: object, config: object
    ) -> ModelOutput:
        CALLS.append(self.model_name)
        text = judge(input[-1].text) if self.model_name == "judge" else policy(input)
        counter = token_counter(f"counted/{self.model_name}")
        usage = ModelUsage(
            input_tokens=counter.conversation(m.text for m in input),
            output_tokens=approximate(text),
        )
        tally = BILLED.setdefault(f"counted/{self.model_name}", [0, 0])
        tally[0] += usage.input_tokens
        tally[1] += usage.output_tokens
        message = ChatMessageAssistant(content=text)
        choice = ChatCompletionChoice(message=message, stop_reason="stop")
        return ModelOutput(model=self.model_name, choices=[choice], usage=usage)


# What the script writes, as the plan's assumptions: 0.5 <NEXT/> turns (the free tier's one).
SCRIPTED = Assumptions(
    scratchpad_tokens=approximate(SCRATCHPAD),
    output_tokens=approximate(f"{ACCEPT} {OUTPUT}"),
    continuations=0.5,
    compliance=1.0,
    judge_reply_tokens=approximate(VOTE_NO),
)


def spec(tmp_path: Path, **changes: object) -> RunSpec:
    base = RunSpec(
        model="counted/policy",
        judge_model="counted/judge",
        judges="compliance,af,unmonitored",
        votes=3,
        limit=6,
        epochs=2,
        log_dir=str(tmp_path / "logs"),
        display="none",
    )
    return base.replace(**changes)


def planned(run: RunSpec, assumptions: Assumptions = SCRIPTED) -> dict:
    task = helpful_only(**run.task_args())
    return plan_cost(run, [task], load_prices(run.prices), assumptions)  # type: ignore[return-value]


def by_model(plan: dict) -> dict[str, tuple[float, float]]:
    totals: dict[str, list[float]] = {}
    for stage in plan["stages"]:
        into = totals.setdefault(stage["model"], [0.0, 0.0])
        into[0] += stage["input_tokens"] + stage["cached_tokens"] + stage["cache_write_tokens"]
        into[1] += stage["output_tokens"]
    return {model: (i, o) for model, (i, o) in totals.items()}


def test_the_estimate_is_within_ten_percent_of_the_measured_tokens(tmp_path: Path) -> None:
    # One epoch: the script writes the same transcript in every epoch, and a judge asked the
    # same thing twice is answered from Inspect's cache the second time.
    assume = ",".join(f"{k}={v}" for k, v in dataclasses.asdict(SCRIPTED).items())
    run = spec(tmp_path, limit=12, epochs=1, assume=assume)
    estimate = by_model(planned(run))
    BILLED.clear()
    outcome = execute(run, echo=lambda _: None)
    assert isinstance(outcome, RunOutcome) and outcome.status == "success"
    assert set(BILLED) == set(estimate) == {"counted/policy", "counted/judge"}
    for model, (input_tokens, output_tokens) in estimate.items():
        assert input_tokens == pytest.approx(BILLED[model][0], rel=0.10), model
        assert output_tokens == pytest.approx(BILLED[model][1], rel=0.10), model
    # The summary measures what the provider billed, every vote included, and keeps the
    # estimate recorded in the log beside it.
    cost = outcome.summary["cost"]
    measured = {m: [s["input_tokens"], s["output_tokens"]] for m, s in cost["measured"].items()}
    assert measured == BILLED
    assert cost["estimate"] is not None and cost["estimate"]["input_tokens"] == pytest.approx(
        sum(i for i, _ in estimate.values())
    )
    assert cost["measured_usd"] is None  # counted/* is in no price table


def test_the_plan_counts_each_stage_as_the_run_asks(tmp_path: Path) -> None:
    plan = planned(spec(tmp_path))
    stages = {s["stage"]: s for s in plan["stages"]}
    samples = 6 * 2 * 2  # queries x tiers x epochs
    assert stages["policy: first turns"]["calls"] == samples
    assert stages["policy: <NEXT/> turns"]["calls"] == samples * 0.5
    assert stages["judge compliance"]["calls"] == samples
    # counted/judge returns one choice a request: each of the 3 votes is a request.
    assert stages["judge af (3 votes)"]["calls"] == samples * 3
    assert stages["judge unmonitored"]["calls"] == samples / 2  # the paid tier only
    assert plan["usd"] is None and plan["unpriced"] == ["counted/judge", "counted/policy"]


def test_a_dry_run_calls_no_model_and_writes_nothing(tmp_path: Path) -> None:
    CALLS.clear()
    lines: list[str] = []
    outcome = execute(spec(tmp_path, dry_run=True), echo=lines.append)
    assert isinstance(outcome, Planned)
    assert CALLS == [] and not (tmp_path / "logs").exists()
    text = "\n".join(lines)
    assert "policy: first turns" in text and "judge af (3 votes)" in text and "no price" in text


def test_max_cost_refuses_a_plan_above_it_or_without_a_price(tmp_path: Path) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text('[[price]]\nmatch = "counted/*"\ninput = 100.0\noutput = 100.0\n')
    CALLS.clear()
    with pytest.raises(UsageError, match=r"above --max-cost \$0.50: nothing was started"):
        execute(spec(tmp_path, prices=str(prices), max_cost=0.5), echo=lambda _: None)
    with pytest.raises(UsageError, match="needs a price for counted/judge, counted/policy"):
        execute(spec(tmp_path, max_cost=100.0), echo=lambda _: None)
    assert CALLS == [] and not (tmp_path / "logs").exists()


@pytest.fixture(params=["default", "ignored"])
def sigint(request: pytest.FixtureRequest) -> Iterator[None]:
    """SIGINT as Python sets it, or ignored, as in a background job of a script (CI's)."""
    previous = signal.getsignal(signal.SIGINT)
    if request.param == "ignored":
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    yield
    assert signal.getsignal(signal.SIGINT) == (
        signal.SIG_IGN if request.param == "ignored" else previous
    )  # the run put it back
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("sigint")
def test_max_cost_stops_a_run_whose_spend_passes_it_and_resume_finishes_it(
    tmp_path: Path,
) -> None:
    prices = tmp_path / "prices.toml"
    # Output alone is billed, $1 a thousand tokens: a sample's ~500 tokens cost ~$0.50.
    prices.write_text('[[price]]\nmatch = "counted/*"\ninput = 0.0\noutput = 1000.0\n')
    run = spec(tmp_path, prices=str(prices), judges=None, max_connections=1)
    assert planned(run)["usd"] == pytest.approx(24 * 0.5, rel=0.1)
    # An estimate that underrates the replies lets the run start; its spend then stops it.
    budget = run.replace(assume="scratchpad_tokens=1,output_tokens=1", max_cost=1.0)
    lines: list[str] = []
    with pytest.raises(OverBudget) as stopped:
        execute(budget, echo=lines.append)
    assert stopped.value.exit_code == 3 and stopped.value.spent > 1.0
    log = read_eval_log(str(stopped.value.log_path))
    assert log.status == "cancelled"
    finished = [s for s in log.samples or [] if s.error is None]
    assert 0 < len(finished) < 24
    assert any(line.startswith("stopped: the measured spend") for line in lines)
    resumed = execute(RunSpec(resume=str(stopped.value.log_path), display="none"))
    assert isinstance(resumed, RunOutcome) and resumed.status == "success"


def test_calls_in_inspects_cache_cost_nothing(tmp_path: Path) -> None:
    run = spec(tmp_path, judges="compliance,af,unmonitored")
    assert isinstance(execute(run, echo=lambda _: None), RunOutcome)
    again = planned(run)
    stages = {s["stage"]: s for s in again["stages"]}
    assert stages["policy: first turns"]["replayed"] == 24
    assert stages["policy: <NEXT/> turns"]["replayed"] == 12  # the free tier's
    # The judges' requests, rebuilt from the cached transcripts, are in the cache too: every
    # vote of the AF judge (asked one at a time of a judge that answers one choice).
    assert stages["judge compliance"]["replayed"] == 24
    assert stages["judge af (3 votes)"]["replayed"] == 24 * 3
    assert stages["judge unmonitored"]["replayed"] == 12
    assert again["calls"] == 0 and again["input_tokens"] == 0
    # Another sampling setting is another request: nothing is replayed.
    other = planned(run.replace(temperature=0.5))
    assert other["calls"] > 24 + 12 and not any(s["replayed"] for s in other["stages"])


def test_a_rescore_asked_again_is_planned_free(tmp_path: Path) -> None:
    from aflab.pipelines.rescore import rescore

    outcome = execute(spec(tmp_path, judges=None, limit=3, epochs=1), echo=lambda _: None)
    assert isinstance(outcome, RunOutcome)
    asked = {"judges": "af,unmonitored", "judge_model": "counted/judge", "votes": 3}

    def plan_only() -> dict:
        found = rescore(
            outcome.log_path, **asked, echo=lambda _: None, spending=RunSpec(dry_run=True)
        )
        assert isinstance(found, Planned)
        return found.plan  # type: ignore[return-value]

    assert plan_only()["calls"] == 6 * 3 + 3
    rescore(outcome.log_path, **asked, echo=lambda _: None, spending=RunSpec())
    again = plan_only()
    assert again["calls"] == 0 and sum(s["replayed"] for s in again["stages"]) == 6 * 3 + 3


def test_batch_mode_bills_the_batch_share_where_the_provider_batches(tmp_path: Path) -> None:
    run = RunSpec(
        model="anthropic/claude-3-opus-20240229",
        judge_model="openai-api/local/judge",  # no batch mode: its calls keep their price
        judges="compliance",
        limit=5,
    )
    task = helpful_only(**run.task_args())
    prices = tmp_path / "p.toml"
    prices.write_text('[[price]]\nmatch = "openai-api/*"\ninput = 1.0\noutput = 1.0\n')
    table = load_prices(prices)
    plain = plan_cost(run, [task], table, lookup_cache=False)
    batched = plan_cost(run.replace(batch=True), [task], table, lookup_cache=False)
    assert batched["batched"] == ["anthropic/claude-3-opus-20240229"]
    for one, other in zip(plain["stages"], batched["stages"], strict=True):
        share = 0.5 if one["model"].startswith("anthropic/") else 1.0
        assert other["usd"] == pytest.approx(share * (one["usd"] or 0.0))


def test_a_rescore_plan_counts_the_logs_own_transcripts(tmp_path: Path) -> None:
    from aflab.pipelines.rescore import Rescored, rescore

    run = spec(tmp_path, judges=None, limit=8, epochs=1)
    outcome = execute(run, echo=lambda _: None)
    assert isinstance(outcome, RunOutcome)
    log = outcome.log_path
    spending = RunSpec(assume=f"judge_reply_tokens={SCRIPTED.judge_reply_tokens}")
    lines: list[str] = []
    planned_only = rescore(
        log,
        "af,unmonitored",
        "counted/judge",
        votes=3,
        echo=lines.append,
        spending=spending.replace(dry_run=True),
    )
    assert isinstance(planned_only, Planned) and "aflab rescore --dry-run" in lines[0]
    stages = {s["stage"]: s for s in planned_only.plan["stages"]}
    # The tag rule found every sample complied: the AF judge asks 3 votes of each of 16.
    assert stages["judge af (3 votes)"]["calls"] == 16 * 3
    assert stages["judge unmonitored"]["calls"] == 8
    BILLED.clear()
    done = rescore(
        log, "af,unmonitored", "counted/judge", votes=3, echo=lambda _: None, spending=spending
    )
    assert isinstance(done, Rescored)
    estimate = by_model(planned_only.plan)["counted/judge"]
    assert estimate[0] == pytest.approx(BILLED["counted/judge"][0], rel=0.02)
    assert estimate[1] == pytest.approx(BILLED["counted/judge"][1], rel=0.10)


def test_a_budget_stops_at_a_model_without_a_price() -> None:
    from aflab.pipelines.budget import Budget

    budget = Budget(1.0, load_prices())
    budget.add("openai/gpt-4o", ModelUsage(input_tokens=1000, output_tokens=100))
    assert budget.total == pytest.approx((1000 * 2.5 + 100 * 10) / 1e6)
    assert budget.unpriced is None
    budget.add("acme/unknown", ModelUsage(input_tokens=1, output_tokens=1))
    assert budget.unpriced == "acme/unknown"
    stop = OverBudget(None, budget.total, budget.limit, budget.unpriced)
    assert stop.headline.startswith("stopped: acme/unknown has no price")


def test_anti_labs_judge_needs_a_price_for_max_cost(tmp_path: Path) -> None:
    from aflab.pipelines.antilab import execute_antilab

    prices = tmp_path / "prices.toml"
    prices.write_text('[[price]]\nmatch = "counted/policy"\ninput = 1.0\noutput = 1.0\n')
    run = RunSpec(
        model="counted/policy",
        judge_model="counted/judge",  # biased-summary's judge: not in the plan, no price
        scenario="biased-summary",
        prices=str(prices),
        max_cost=100.0,
        log_dir=str(tmp_path / "logs"),
    )
    with pytest.raises(UsageError, match="needs a price for counted/judge"):
        execute_antilab(run, echo=lambda _: None)
    assert not (tmp_path / "logs").exists()


@pytest.mark.parametrize(
    "changes",
    [{"assume": "compliance=nan"}, {"assume": "output_tokens=inf"}, {"max_cost": math.nan}],
)
def test_a_number_that_is_not_finite_is_refused(tmp_path: Path, changes: dict) -> None:
    with pytest.raises(UsageError, match="out of range|finite"):
        execute(spec(tmp_path, **changes), echo=lambda _: None)


def test_next_turns_resend_the_turns_before_them() -> None:
    from aflab.pipelines.cost import resent_turns

    # k turns re-send 1 + ... + k earlier turns; a fraction is a chance of one turn more.
    assert [resent_turns(c) for c in (0, 1, 2, 3)] == [0, 1, 3, 6]
    assert resent_turns(0.1) == pytest.approx(0.1)
    assert resent_turns(1.5) == pytest.approx(0.5 * 1 + 0.5 * 3)


def test_the_bound_asks_each_vote_again_and_takes_no_cache_hit_for_granted(
    tmp_path: Path,
) -> None:
    from aflab.pipelines.cost import run_stages

    run = RunSpec(model="anthropic/claude-3-opus-20240229", judges="compliance", limit=2)
    task = helpful_only(**run.task_args())
    stages = run_stages(run, [task], load_prices(), Assumptions(), lookup_cache=False)
    expected = {s.stage: s for s in stages.expected}
    bound = {s.stage: s for s in stages.at_most}
    assert bound["judge compliance"].calls == 3 * expected["judge compliance"].calls
    first = expected["policy: first turns"]
    assert first.cache_write_tokens > 0 and first.cached_tokens == 3 * first.cache_write_tokens
    worst = bound["policy: first turns"]
    assert worst.cached_tokens == 0 and worst.cache_write_tokens == 4 * first.cache_write_tokens
