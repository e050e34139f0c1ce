"""The cost plan and the spend, as printed lines: before a run (``--dry-run``) and after it."""

from __future__ import annotations

from aflab.core.summary_types import CostBlock, CostEstimate

ASSUMED = {
    "scratchpad_tokens": "scratchpad {:g} tokens",
    "output_tokens": "output {:g} tokens",
    "continuations": "{:g} <NEXT/> turns",
    "compliance": "{:.0%} complying",
    "judge_reply_tokens": "judge replies {:g} tokens",
}


def usd(value: float | None) -> str:
    if value is None:
        return "no price"
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:.4f}"


def format_plan(plan: CostEstimate) -> str:
    """The stages' calls, tokens and dollars, the total, the bound, and what they rest on."""
    head = (
        f"{'stage':<28}{'model':<38}{'calls':>9}{'input':>13}{'cached':>12}{'output':>12}"
        f"{'USD':>12}"
    )
    lines = [head]
    for stage in plan["stages"]:
        if not stage["calls"] and not stage["replayed"]:
            continue
        cached = stage["cached_tokens"] + stage["cache_write_tokens"]
        lines.append(
            f"{stage['stage']:<28}{stage['model']:<38}{stage['calls']:>9,.0f}"
            f"{stage['input_tokens']:>13,.0f}{cached:>12,.0f}{stage['output_tokens']:>12,.0f}"
            f"{usd(stage['usd']):>12}"
        )
    lines.append(
        f"{'total (expected)':<66}{plan['calls']:>9,.0f}{plan['input_tokens']:>25,.0f}"
        f"{plan['output_tokens']:>12,.0f}{usd(plan['usd']):>12}"
    )
    lines.append(
        "at most (every <NEXT/> turn taken, every reply max_tokens long, every sample judged): "
        + usd(plan["usd_at_most"])
    )
    replayed = sum(s["replayed"] for s in plan["stages"])
    if replayed:
        lines.append(f"from Inspect's cache of earlier runs: {replayed} policy calls, at no cost")
    assumed = ", ".join(
        ASSUMED[k].format(v) for k, v in plan["assumptions"].items() if k in ASSUMED
    )
    lines.append(f"assumed per sample: {assumed} (--assume key=value to change)")
    lines.append("tokens counted with " + "; ".join(plan["counting"]))
    priced = f"prices: {plan['prices_as_of']}"
    if plan["batch"]:
        priced += ", batch price where the provider batches"
    if plan["unpriced"]:
        priced += f"; no price for {', '.join(plan['unpriced'])} (--prices FILE adds one)"
    lines.append(priced + "; input excludes the cached column (prompt-cache reads and writes)")
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
