"""The plan and the spend as printed."""

from __future__ import annotations

from aflab.core.summary_types import CostBlock, CostEstimate, StageCost
from aflab.report.cost import PlanWords, format_plan, format_spend, usd


def stage(name: str, model: str, calls: float, usd_: float | None, replayed: int = 0) -> StageCost:
    return {
        "stage": name,
        "model": model,
        "calls": calls,
        "input_tokens": 1000,
        "cached_tokens": 200,
        "cache_write_tokens": 50,
        "output_tokens": 300,
        "replayed": replayed,
        "usd": usd_,
    }


def plan(**changes: object) -> CostEstimate:
    base: CostEstimate = {
        "stages": [
            stage("policy: first turns", "anthropic/claude-3-opus", 200, 15.07, replayed=4),
            stage("policy: <NEXT/> turns", "anthropic/claude-3-opus", 0, 0.0),
            stage("judge af (20 votes)", "openai/gpt-4o", 100, 5.3),
        ],
        "calls": 300,
        "input_tokens": 3 * (1000 + 200 + 50),
        "output_tokens": 600,
        "usd": 20.37,
        "usd_at_most": 523.5,
        "counting": ["anthropic/claude-3-opus: approximation"],
        "assumptions": {"scratchpad_tokens": 700, "compliance": 0.5},
        "unpriced": [],
        "rates": {},
        "prices_as_of": "2026-12-01",
        "batch": False,
        "batched": [],
    }
    return base | changes  # type: ignore[return-value]


def test_the_plan_lists_each_stage_with_calls_tokens_and_dollars() -> None:
    lines = format_plan(plan()).splitlines()
    first = next(line for line in lines if line.startswith("policy: first turns"))
    assert first.split()[-5:] == ["200", "1,000", "250", "300", "$15.07"]
    # A stage with nothing left to call (all replayed, or none expected) is left out.
    assert not any(line.startswith("policy: <NEXT/>") for line in lines)
    assert any(line.startswith("judge af (20 votes)") for line in lines)
    total = next(line for line in lines if line.startswith("total (expected)"))
    # The totals fall in the stages' columns: uncached input, cached, output.
    assert total.split()[-5:] == ["300", "3,000", "750", "600", "$20.37"]
    assert any("at most" in line and "$523.50" in line for line in lines)
    assert "from Inspect's cache of earlier runs: 4 calls, at no cost" in lines
    assert any("scratchpad 700 tokens" in line and "50% complying" in line for line in lines)


def test_an_unpriced_plan_says_which_model_has_no_price() -> None:
    text = format_plan(plan(usd=None, usd_at_most=None, unpriced=["acme/x"]))
    assert "no price for acme/x (--prices FILE adds one)" in text
    assert "total (expected)" in text and "no price" in text.splitlines()[-5]


def test_the_spend_line_sets_the_measured_beside_the_estimate() -> None:
    cost: CostBlock = {
        "estimate": plan(),
        "measured": {},
        "measured_usd": 18.5,
        "measured_tokens": 3200,
    }
    assert format_spend(cost) == (
        "cost: $18.50 measured, 3,200 tokens (estimated $20.37, 4,350 tokens)"
    )
    assert format_spend(cost | {"estimate": None}) == "cost: $18.50 measured, 3,200 tokens"
    assert usd(0.004) == "$0.0040" and usd(None) == "no price" and usd(0) == "$0.00"


def test_another_verbs_plan_says_its_own_bound_and_stays_aligned() -> None:
    long = stage(
        "checkpoints: judge af (20 votes)", "hf/a-long-output-folder/checkpoints/x", 9, 1.0
    )
    words = PlanWords(
        at_most="every completion at its longest",
        assumed_per="",
        assumed={"compliance": "{:.0%} complying"},
        replayed="from the stage files: {n} requests, at no cost",
        notes=("a note of the verb's",),
    )
    lines = format_plan(plan(stages=[*plan()["stages"], long]), words).splitlines()
    assert "at most (every completion at its longest): $523.50" in lines
    assert "from the stage files: 4 requests, at no cost" in lines
    assert "assumed: 50% complying (--assume key=value to change)" in lines
    assert lines[-1] == "a note of the verb's"
    # Every row's numbers end where the header's do, the longest names included.
    rows = [line for line in lines if line.endswith(("USD", "$15.07", "$5.30", "$1.00", "$20.37"))]
    assert len(rows) == 5 and len({len(row) for row in rows}) == 1
