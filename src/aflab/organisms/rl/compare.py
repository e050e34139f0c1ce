"""How a tier's refusal moved between two measured checkpoints of the same held-out queries.

The same queries are measured before and after, so the change is a paired difference: the
interval is Newcombe's for paired proportions (``core.stats.paired_gap``, the one the compliance
gap uses, with "before" and "after" in the places of the two tiers).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aflab.analysis.facts import SampleFacts
from aflab.core.stats import PairCounts, PairedGap, paired_gap
from aflab.core.types import Tier

DECIDED = ("complied", "refused")


@dataclass(frozen=True)
class RefusalChange:
    """Refusal before minus after (positive: fewer refusals after), in one convention."""

    tier: Tier
    convention: str  # "of decided": pairs valid at both checkpoints; "of all": invalid refused
    before: float | None
    after: float | None
    change: PairedGap


def refusal_change(
    before: Iterable[SampleFacts], after: Iterable[SampleFacts], tier: Tier, of_all: bool = False
) -> RefusalChange:
    """The paired change of ``tier``'s refusal on the queries (and epochs) measured both times.

    Of decided, a pair counts when both samples complied or refused; of all (the paper's
    count), every pair with an outcome at both checkpoints counts, an invalid sample as refused.
    """
    first = {(f.query_id, f.epoch): f.outcome for f in before if f.tier == tier}
    second = {(f.query_id, f.epoch): f.outcome for f in after if f.tier == tier}
    counts = {"both": 0, "before_only": 0, "after_only": 0, "neither": 0}
    for key in first.keys() & second.keys():
        outcomes = (first[key], second[key])
        if of_all:
            if "unscored" in outcomes:
                continue
        elif not all(outcome in DECIDED for outcome in outcomes):
            continue
        was, now = (outcome != "complied" for outcome in outcomes)
        name = {(True, True): "both", (True, False): "before_only", (False, True): "after_only"}
        counts[name.get((was, now), "neither")] += 1
    # paired_gap computes "paid minus free": before takes paid's place, after free's.
    gap = paired_gap(
        PairCounts(counts["both"], counts["before_only"], counts["after_only"], counts["neither"])
    )
    n = gap.n_pairs
    refused_before = counts["both"] + counts["before_only"]
    refused_after = counts["both"] + counts["after_only"]
    return RefusalChange(
        tier,
        "of all" if of_all else "of decided",
        refused_before / n if n else None,
        refused_after / n if n else None,
        gap,
    )
