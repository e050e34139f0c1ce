"""``--max-cost`` while a run goes: every billed call priced as it returns, and past the budget
the run stopped as a first Ctrl-C stops it (the log cancelled, its finished samples kept, so
``aflab run --resume`` goes on). Calls Inspect answers from its cache are not billed and not
counted; calls already in flight when the stop comes still finish and are billed."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from inspect_ai.hooks import Hooks, ModelUsageData, hooks
from inspect_ai.model import ModelUsage

from aflab.data.prices import PriceTable
from aflab.llm.batch import batches


@dataclass
class Budget:
    """The limit, the spend so far by model, and whether the run was stopped for it."""

    limit: float
    prices: PriceTable
    batch: bool = False
    spent: dict[str, float] = field(default_factory=dict)
    stopped: bool = False
    unpriced: str | None = None  # a model billed that the table has no price for

    @property
    def total(self) -> float:
        return sum(self.spent.values())

    def add(self, model: str, usage: ModelUsage) -> None:
        price = self.prices.price(model)
        if price is None:  # not foreseen by the plan: the budget cannot hold, so it stops
            self.unpriced = model
            return
        self.spent[model] = self.spent.get(model, 0.0) + price.cost(
            usage.input_tokens,
            usage.output_tokens,
            usage.input_tokens_cache_read or 0,
            usage.input_tokens_cache_write or 0,
            batch=self.batch and batches(model),
        )


_active: Budget | None = None


@contextmanager
def watching(budget: Budget) -> Iterator[Budget]:
    """While the block runs, ``budget`` watches every billed call. A process that ignores
    SIGINT (a background job of a shell without job control, ``cmd &`` in a script) has it
    handled while the block runs: asyncio cancels the eval on it only where Python's own
    handler was in place, and the stop is that signal."""
    global _active
    _active = budget
    restore = None
    main = threading.current_thread() is threading.main_thread()
    if main and signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        restore = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield budget
    finally:
        _active = None
        if restore is not None:
            signal.signal(signal.SIGINT, restore)


@hooks(name="aflab_budget", description="Stops an aflab run whose spend passes --max-cost.")
class BudgetHook(Hooks):
    def enabled(self) -> bool:
        return _active is not None

    async def on_model_usage(self, data: ModelUsageData) -> None:
        budget = _active
        if budget is None:
            return
        budget.add(data.model_name, data.usage)
        over = budget.total > budget.limit or budget.unpriced is not None
        if over and not budget.stopped:
            budget.stopped = True
            # Inspect's own Ctrl-C handling writes the log as cancelled and resumable.
            signal.raise_signal(signal.SIGINT)
