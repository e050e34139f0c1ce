"""The cost plan and the spend, as printed lines: before a run (``--dry-run``) and after it."""

from __future__ import annotations

from dataclasses import dataclass, field

from aflab.core.summary_types import CostBlock, CostEstimate

ASSUMED = {
    "scratchpad_tokens": "scratchpad {:g} tokens",
    "output_tokens": "output {:g} tokens",
    "continuations": "{:g} <NEXT/> turns",
    "compliance": "{:.0%} complying",
    "judge_reply_tokens": "judge replies {:g} tokens",
}
STAGE_WIDTH = 28
MODEL_WIDTH = 38


@dataclass(frozen=True)
class PlanWords:
    """What a plan's closing lines say about its bound, its assumptions and its free calls,
    in the words of the verb that planned it (``aflab run``'s by default).

    Attributes:
        at_most: what the bound takes to happen.
        assumed_per: what each assumption is counted per ("": said without).
        assumed: how each assumption is said (a key not named here is not printed).
        replayed: the line of the calls that cost nothing, ``{n}`` their number.
        notes: lines printed after the plan's own.
    """

    at_most: str = (
        "every <NEXT/> turn taken, every reply max_tokens long, every sample judged, every "
        "judge vote asked three times, no prompt-cache hit"
    )
    assumed_per: str = "sample"
    assumed: dict[str, str] = field(default_factory=lambda: dict(ASSUMED))
    replayed: str = "from Inspect's cache of earlier runs: {n} calls, at no cost"
    notes: tuple[str, ...] = ()


RUN_WORDS = PlanWords()


def calls(count: float) -> str:
    """A stage's expected calls, right-aligned: whole, or to a tenth when few and fractional
    (a tenth of the samples taking a <NEXT/> turn is 0.4 calls of four samples)."""
    if count < 100 and count != int(count):
        return f"{count:>9,.1f}"
    return f"{count:>9,.0f}"


def usd(value: float | None) -> str:
    if value is None:
        return "no price"
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:.4f}"


def format_plan(plan: CostEstimate, words: PlanWords = RUN_WORDS) -> str:
    """The stages' calls, tokens and dollars, the total, the bound, and what they rest on."""
    # The name columns grow to their longest entry, so that every row stays aligned.
    width = max([STAGE_WIDTH, *(len(s["stage"]) + 2 for s in plan["stages"])])
    model_width = max([MODEL_WIDTH, *(len(s["model"]) + 2 for s in plan["stages"])])
    head = (
        f"{'stage':<{width}}{'model':<{model_width}}{'calls':>9}{'input':>13}{'cached':>12}"
        f"{'output':>12}{'USD':>12}"
    )
    lines = [head]
    for stage in plan["stages"]:
        if not stage["calls"] and not stage["replayed"]:
            continue
        cached = stage["cached_tokens"] + stage["cache_write_tokens"]
        lines.append(
            f"{stage['stage']:<{width}}{stage['model']:<{model_width}}{calls(stage['calls'])}"
            f"{stage['input_tokens']:>13,.0f}{cached:>12,.0f}{stage['output_tokens']:>12,.0f}"
            f"{usd(stage['usd']):>12}"
        )
    uncached = sum(s["input_tokens"] for s in plan["stages"])
    lines.append(
        f"{'total (expected)':<{width + model_width}}{calls(plan['calls'])}{uncached:>13,.0f}"
        f"{plan['input_tokens'] - uncached:>12,.0f}{plan['output_tokens']:>12,.0f}"
        f"{usd(plan['usd']):>12}"
    )
    lines.append(f"at most ({words.at_most}): {usd(plan['usd_at_most'])}")
    replayed = sum(s["replayed"] for s in plan["stages"])
    if replayed:
        lines.append(words.replayed.format(n=replayed))
    assumed = ", ".join(
        words.assumed[k].format(v) for k, v in plan["assumptions"].items() if k in words.assumed
    )
    per = f" per {words.assumed_per}" if words.assumed_per else ""
    lines.append(f"assumed{per}: {assumed} (--assume key=value to change)")
    lines.append("tokens counted with " + "; ".join(plan["counting"]))
    priced = f"prices: {plan['prices_as_of']}"
    if plan["batch"]:
        priced += ", batch price where the provider batches"
    if plan["unpriced"]:
        priced += f"; no price for {', '.join(plan['unpriced'])} (--prices FILE adds one)"
    lines.append(priced + "; input excludes the cached column (prompt-cache reads and writes)")
    lines.extend(words.notes)
    return "\n".join(lines)


def format_spend(cost: CostBlock) -> str:
    """``cost: $1.23 measured, 120,000 tokens (estimated $1.10, 118,000 tokens)``: the calls
    sent, Inspect's cache replays left out."""
    estimate = cost["estimate"]
    line = f"cost: {usd(cost['measured_usd'])} measured, {cost['measured_tokens']:,} tokens"
    if estimate is not None:
        tokens = estimate["input_tokens"] + estimate["output_tokens"]
        line += f" (estimated {usd(estimate['usd'])}, {tokens:,.0f} tokens)"
    return line
