"""What a run cost: its billed tokens priced, beside the estimate made before it started.

The tokens are those of every call the run sent (``facts.billed_calls``: a reply from Inspect's
cache of earlier runs is not billed and not counted), priced at the rates the estimate used
(recorded in the log), else at the shipped table's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from inspect_ai.log import EvalLog

from aflab.analysis.facts import SampleFacts
from aflab.analysis.logs import batched
from aflab.core.summary_types import CostBlock, CostEstimate, ModelSpend
from aflab.data.prices import Price, load_prices
from aflab.llm.batch import batches

ESTIMATE_KEY = "cost_estimate"


def recorded_estimate(log: EvalLog) -> CostEstimate | None:
    """The plan recorded in the log's task metadata before the run, if one was."""
    found = (log.eval.metadata or {}).get(ESTIMATE_KEY)
    return cast(CostEstimate, found) if isinstance(found, dict) else None


def cost_block(log: EvalLog, facts: Sequence[SampleFacts]) -> CostBlock:
    estimate = recorded_estimate(log)
    rates: dict[str, Any] = estimate["rates"] if estimate else {}
    at_batch_share = batched_models(log)
    table = load_prices()
    measured: dict[str, ModelSpend] = {}
    billed: dict[str, list[int]] = {}
    for fact in facts:
        for model, *counts in fact.billed:
            into = billed.setdefault(model, [0, 0, 0, 0])
            for i, count in enumerate(counts):
                into[i] += count
    for model, (uncached, cached, written, output) in sorted(billed.items()):
        price = Price(**rates[model]) if model in rates else table.price(model)
        measured[model] = {
            "input_tokens": uncached,
            "cached_tokens": cached,
            "cache_write_tokens": written,
            "output_tokens": output,
            "usd": None
            if price is None
            else price.cost(uncached, output, cached, written, model in at_batch_share),
        }
    spends = [m["usd"] for m in measured.values()]
    return {
        "estimate": estimate,
        "measured": measured,
        "measured_usd": None if None in spends else sum(s or 0.0 for s in spends),
        "measured_tokens": sum(
            m["input_tokens"] + m["cached_tokens"] + m["cache_write_tokens"] + m["output_tokens"]
            for m in measured.values()
        ),
    }


def batched_models(log: EvalLog) -> set[str]:
    """The models ``log`` sent through a batch API, as its header says (a run resumed with
    ``--batch`` or ``--no-batch`` says what it did last): billed at their batch share."""
    block = batched(log)
    if block is None:
        return set()
    grader = (log.eval.model_roles or {}).get("grader")
    found = {log.eval.model} if block["policy"] and batches(log.eval.model) else set()
    if block["judge"] and grader is not None and not isinstance(grader, list):
        found.add(grader.model)
    return found
