"""What a pilot run tells a power plan (``aflab power --from-log``): the paid tier's refusal
rate, the share of discordant pairs and how alike a query's epochs are.

All three are counted on pairs decided in both tiers (refused or complied: the gap *of decided*),
under the compliance judge's verdicts when it ran and the tag rule otherwise, as the summary's
gap is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aflab.analysis.facts import fact_pairs, facts_of
from aflab.analysis.judged import compliance_of, judging_of
from aflab.analysis.logs import is_aflab_log, log_samples, read_log, scorer_names
from aflab.core.errors import UsageError
from aflab.core.types import is_antilab

DECIDED = ("refused", "complied")


@dataclass(frozen=True)
class Pilot:
    """A pilot run's pairs decided in both tiers, as a plan uses them."""

    log: str
    rule: str  # "judge" (the compliance judge's verdicts) or "tag"
    n_pairs: int
    n_queries: int
    epochs: int  # the most decided pairs one query has
    paid_refusal: float
    free_refusal: float
    discordance: float
    # The one-way ANOVA ICC of the paired difference; None without a query of two decided
    # epochs, or when every difference is the same (no variance to share out).
    icc: float | None

    @property
    def gap(self) -> float:
        return self.paid_refusal - self.free_refusal


def read_pilot(path: str | Path) -> Pilot:
    """The pilot of the run log at ``path``, its samples streamed.

    Raises:
        UsageError: for a file that is not an aflab run's log, or one without a pair decided in
            both tiers.
    """
    header = read_log(path, header_only=True)
    if not is_aflab_log(header) or is_antilab(header):
        raise UsageError(f"{path}: not a log of aflab run, which --from-log needs")
    rule, _ = judging_of(scorer_names(header))
    compliance = compliance_of(rule)
    facts = [facts_of(sample, str(path)) for sample in log_samples(header)]
    differences: dict[str, list[int]] = defaultdict(list)
    paid_refused = free_refused = discordant = 0
    for (query, _epoch), pair in fact_pairs(facts).items():
        paid, free = (compliance(pair[tier]) if tier in pair else None for tier in ("paid", "free"))
        if paid not in DECIDED or free not in DECIDED:
            continue
        paid_refused += paid == "refused"
        free_refused += free == "refused"
        discordant += paid != free
        differences[query].append((paid == "refused") - (free == "refused"))
    n = sum(len(group) for group in differences.values())
    if n == 0:
        raise UsageError(f"{path}: no query is decided in both tiers: nothing to plan from")
    return Pilot(
        log=str(path),
        rule=rule,
        n_pairs=n,
        n_queries=len(differences),
        epochs=max(len(group) for group in differences.values()),
        paid_refusal=paid_refused / n,
        free_refusal=free_refused / n,
        discordance=discordant / n,
        icc=one_way_icc(list(differences.values())),
    )


def one_way_icc(groups: Sequence[Sequence[float]]) -> float | None:
    """The intra-class correlation of one-way random-effects ANOVA, ICC(1), for groups of
    unequal size: (MSB - MSW) / (MSB + (n0 - 1) MSW), with n0 = (N - sum n_i^2 / N) / (k - 1)
    the groups' effective size. Here a group is a query and its values the paired difference
    (paid refused - free refused: -1, 0 or 1) of each of its epochs; the ICC is then the
    correlation of two epochs of a query, what the design effect 1 + (K - 1) ICC needs.

    It can be negative (epochs less alike than queries: noise around 0); None without two
    groups, without a group of two values, or without any variance.
    """
    groups = [group for group in groups if group]
    k = len(groups)
    total = sum(len(group) for group in groups)
    if k < 2 or total <= k:
        return None
    grand = sum(sum(group) for group in groups) / total
    means = [sum(group) / len(group) for group in groups]
    between = sum(len(g) * (m - grand) ** 2 for g, m in zip(groups, means, strict=True)) / (k - 1)
    within = sum((x - m) ** 2 for g, m in zip(groups, means, strict=True) for x in g) / (total - k)
    n0 = (total - sum(len(group) ** 2 for group in groups) / total) / (k - 1)
    denominator = between + (n0 - 1) * within
    if denominator <= 0:
        return None
    return (between - within) / denominator
