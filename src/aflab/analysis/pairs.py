"""The pairing of a run's free- and paid-tier samples: one query, asked in one epoch.

The compliance gap, the judges' gap, the anti-lab free-minus-paid difference and the sweep's
comparisons are all computed on pairs, so that both tiers are compared on the same queries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from inspect_ai.log import EvalSample

PairKey = tuple[str, int]  # (what was asked: query id or scenario, epoch)
Pair = dict[str, EvalSample]  # tier -> its sample
Item = TypeVar("Item")


def pairs(samples: Iterable[EvalSample], by: str = "query_id") -> dict[PairKey, Pair]:
    """The samples by (query, epoch), each with its samples by tier, in the samples' order.

    A pair may lack a tier (a sample that was never run); those that need both check for them.
    A second sample of the same tier, query and epoch replaces the first.

    Args:
        samples: samples whose metadata names their ``tier`` and ``by``.
        by: the metadata field that names what was asked: ``query_id`` in a run, ``scenario`` in
            an anti-lab run.
    """
    paired: dict[PairKey, Pair] = {}
    for sample in samples:
        key = (str(sample.metadata[by]), sample.epoch)
        paired.setdefault(key, {})[str(sample.metadata["tier"])] = sample
    return paired


def pair_values(
    paired: Mapping[PairKey, Mapping[str, Item]], value: Callable[[Item], str]
) -> dict[PairKey, dict[str, str]]:
    """Each pair as tier -> ``value(sample)`` (an outcome, an action), as
    :func:`aflab.core.stats.gap_block` counts them; samples or their ``facts.SampleFacts``."""
    return {key: {tier: value(s) for tier, s in pair.items()} for key, pair in paired.items()}
