"""What every cost plan is made of: stages of calls and tokens, the assumptions they rest on,
their prices, and the budget they are held to (``--max-cost``).

A verb's plan (``pipelines.cost`` for the runs, ``organisms.sdf.plan``, ``organisms.rl.plan``)
counts its own stages; :func:`estimate_from_stages` prices them into the ``CostEstimate`` that
``--dry-run`` prints and the log records.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aflab.core.errors import UsageError
from aflab.core.summary_types import CostEstimate, StageCost
from aflab.data.prices import PriceTable
from aflab.llm.ask import JUDGE_MAX_TOKENS
from aflab.llm.batch import batches
from aflab.llm.tokens import TokenCounter
from aflab.report.cost import usd


@dataclass(frozen=True)
class Assumptions:
    """What the plan cannot count before the model writes it (tokens per sample).

    Attributes:
        scratchpad_tokens: the reasoning of one sample, all turns (0 without a scratchpad).
        output_tokens: the final output of one sample.
        continuations: ``<NEXT/>`` turns per sample, on average.
        compliance: the share of samples that comply (the AF and partial judges read those).
        judge_reply_tokens: one judge reply (each vote).
    """

    scratchpad_tokens: float = 700.0
    output_tokens: float = 300.0
    continuations: float = 0.1
    compliance: float = 0.5
    judge_reply_tokens: float = 250.0

    @classmethod
    def parse(cls, text: str | None) -> Assumptions:
        """``key=value,key=value`` over the defaults; an unknown key or bad value is refused."""
        return cls(**parse_assumed(text, tuple(cls.__dataclass_fields__), shares=("compliance",)))

    def worst(self, max_tokens: int, max_continuations: int) -> Assumptions:
        """Every turn taken and ``max_tokens`` long, every sample complying, judges reading
        all of it at length: a bound, not an estimate."""
        longest = float(max_tokens * (1 + max_continuations))
        return Assumptions(
            scratchpad_tokens=longest,
            output_tokens=longest,
            continuations=max_continuations,
            compliance=1.0,
            judge_reply_tokens=JUDGE_MAX_TOKENS,
        )


def parse_assumed(
    text: str | None, known: Sequence[str], shares: Sequence[str] = ()
) -> dict[str, float]:
    """The numbers of ``--assume key=value,...`` by key; a key not in ``known``, a value that
    is not a number >= 0, or a share (a key in ``shares``) above 1 is refused."""
    values: dict[str, float] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        key, _, value = item.partition("=")
        key = key.strip()
        if key not in known:
            raise UsageError(f"--assume: unknown {key!r}; known: {', '.join(known)}")
        try:
            number = float(value)
        except ValueError:
            raise UsageError(f"--assume {key}: expected a number, not {value!r}") from None
        if not math.isfinite(number) or number < 0 or (key in shares and number > 1):
            raise UsageError(f"--assume {key}={value}: out of range")
        values[key] = number
    return values


@dataclass
class Stage:
    """One stage of a plan: its calls and tokens, before they are priced; ``replayed`` calls
    cost nothing (answered from a cache, or already done)."""

    stage: str
    model: str
    calls: float = 0.0
    input_tokens: float = 0.0
    cached_tokens: float = 0.0
    cache_write_tokens: float = 0.0
    output_tokens: float = 0.0
    replayed: int = 0

    @property
    def all_input(self) -> float:
        return self.input_tokens + self.cached_tokens + self.cache_write_tokens

    def merge(self, other: Stage) -> None:
        self.calls += other.calls
        self.input_tokens += other.input_tokens
        self.cached_tokens += other.cached_tokens
        self.cache_write_tokens += other.cache_write_tokens
        self.output_tokens += other.output_tokens
        self.replayed += other.replayed

    def add(self, calls: float, input_tokens: float, output_tokens: float) -> None:
        self.calls += calls
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens

    def repeated(self, times: int, label: str) -> Stage:
        """The stage run ``times`` over, named ``label`` (a run repeated per checkpoint)."""
        return dataclasses.replace(
            self,
            stage=label,
            calls=self.calls * times,
            input_tokens=self.input_tokens * times,
            cached_tokens=self.cached_tokens * times,
            cache_write_tokens=self.cache_write_tokens * times,
            output_tokens=self.output_tokens * times,
            replayed=self.replayed * times,
        )


@dataclass(frozen=True)
class StagePlan:
    """A run's stages before pricing: as expected, at most, and the counters that counted them."""

    expected: list[Stage]
    at_most: list[Stage]
    counters: dict[str, TokenCounter]


def estimate_from_stages(
    expected: Sequence[Stage],
    at_most: Sequence[Stage],
    prices: PriceTable,
    counters: Iterable[TokenCounter],
    assumptions: dict[str, float],
    batch: bool = False,
) -> CostEstimate:
    """The priced plan of ``expected`` stages, with ``at_most`` (the same stages, each as long
    as it may be) as its bound; ``counters``: how the tokens were counted; ``assumptions``:
    what the expected stages assumed, printed with the plan. A model without a price leaves
    the dollars unknown (None)."""
    priced = [_priced(stage, prices, batch) for stage in expected]
    unpriced = sorted({s.model for s in expected if prices.price(s.model) is None})
    return {
        "stages": priced,
        "calls": sum(s.calls for s in expected),
        "input_tokens": sum(s.all_input for s in expected),
        "output_tokens": sum(s.output_tokens for s in expected),
        "usd": None if unpriced else sum(s["usd"] or 0.0 for s in priced),
        "usd_at_most": None
        if unpriced
        else sum(_priced(s, prices, batch)["usd"] or 0.0 for s in at_most),
        "counting": sorted({c.method for c in counters}),
        "assumptions": assumptions,
        "unpriced": unpriced,
        "rates": {
            model: dataclasses.asdict(price)
            for model in sorted({s.model for s in expected})
            if (price := prices.price(model)) is not None
        },
        "prices_as_of": prices.as_of,
        "batch": batch,
        "batched": sorted({s.model for s in expected if batch and batches(s.model)}),
    }


def _priced(stage: Stage, prices: PriceTable, batch: bool) -> StageCost:
    price = prices.price(stage.model)
    batched = batch and batches(stage.model)
    usd = (
        None
        if price is None
        else price.cost(
            stage.input_tokens,
            stage.output_tokens,
            stage.cached_tokens,
            stage.cache_write_tokens,
            batch=batched,
        )
    )
    return {
        "stage": stage.stage,
        "model": stage.model,
        "calls": round(stage.calls, 1),
        "input_tokens": round(stage.input_tokens),
        "cached_tokens": round(stage.cached_tokens),
        "cache_write_tokens": round(stage.cache_write_tokens),
        "output_tokens": round(stage.output_tokens),
        "replayed": stage.replayed,
        "usd": usd,
    }


@dataclass
class Planned:
    """A ``--dry-run``: the plan, and nothing run."""

    plan: CostEstimate
    status: str = "planned"


def cost_line(plan: CostEstimate) -> str | None:
    """The plan in one line before a run, when it costs anything or cannot be priced."""
    if plan["usd"] == 0:
        return None
    tokens = f"{plan['input_tokens'] + plan['output_tokens']:,.0f} tokens"
    if plan["usd"] is None:
        return (
            f"cost: about {tokens}; no price for {', '.join(plan['unpriced'])} "
            "(--prices FILE adds one; --dry-run shows the plan)"
        )
    return (
        f"cost: about {usd(plan['usd'])} ({tokens}), at most {usd(plan['usd_at_most'])}; "
        "--dry-run shows the plan"
    )


def check_budget(
    plan: CostEstimate,
    max_cost: float | None,
    lower: str = "--limit, --votes or --judges lower it",
    unplanned: Sequence[str] = (),
    prices: PriceTable | None = None,
) -> None:
    """Refuse a plan whose expected cost is above ``max_cost``, or that cannot be priced;
    ``lower``: the verb's options that make it cheaper, named in the refusal; ``unplanned``:
    models the run may call that the plan does not count (anti-lab's judge), which need a
    price in ``prices`` too, or the budget could not hold while the run goes."""
    if max_cost is None:
        return
    if not math.isfinite(max_cost):
        raise UsageError(f"--max-cost must be a finite number of dollars, not {max_cost}")
    unpriced = [*plan["unpriced"], *(m for m in unplanned if prices and not prices.price(m))]
    if plan["usd"] is None or unpriced:
        raise UsageError(
            f"--max-cost needs a price for {', '.join(sorted(set(unpriced)))}: add it with "
            "--prices FILE (format: aflab/data/prices.toml)"
        )
    if not math.isfinite(plan["usd"]):
        raise UsageError(f"the estimate is {plan['usd']}: check --assume")
    if plan["usd"] > max_cost:
        raise UsageError(
            f"the estimate, {usd(plan['usd'])}, is above --max-cost {usd(max_cost)}: nothing "
            f"was started (--dry-run shows the plan; {lower})"
        )
