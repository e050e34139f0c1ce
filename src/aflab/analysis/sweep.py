"""A sweep's statistics: each variation's compliance gap compared with the default's.

The comparison is paired: only (query, epoch) pairs valid in all four samples (both tiers,
both prompts) count, so a variation is compared with the default on the same queries. A run
enters it as a :class:`SweepRun`, made from its summary and its samples' facts, so that the
samples of a large sweep can stream past (``report.build``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from inspect_ai.log import EvalLog

from aflab.analysis.facts import SampleFacts, fact_pairs, facts_of
from aflab.analysis.judged import DECIDED, compliance_of, judging_of
from aflab.analysis.logs import log_samples
from aflab.analysis.pairs import PairKey, pair_values
from aflab.analysis.summary import summarize_facts
from aflab.core.stats import Z95, z_two_sided
from aflab.core.summary_types import RunSummary, SweepComparison


@dataclass(frozen=True)
class SweepRun:
    """What the comparison needs of one run: its gap, and per (query, epoch) decided in both
    tiers, (paid refused, free refused) under the compliance rule the run used."""

    gap_pp: float | None
    refusals: Mapping[PairKey, tuple[int, int]]


def sweep_run(summary: RunSummary, facts: Sequence[SampleFacts]) -> SweepRun:
    """The run of ``summary`` (``summarize_facts`` of the same ``facts``)."""
    return SweepRun(_gap_pp(summary), _refusals(facts))


def sweep_run_of(log: EvalLog) -> SweepRun:
    """The run of ``log``: read whole, or a header whose samples are streamed from its file."""
    facts = [facts_of(sample, log.location) for sample in log_samples(log)]
    return sweep_run(summarize_facts(log, facts), facts)


def compare_to_default(logs: Mapping[str, EvalLog]) -> list[SweepComparison]:
    """:func:`compare_runs` of the runs of ``logs`` (variation -> log, the default among them)."""
    return compare_runs({name: sweep_run_of(log) for name, log in logs.items()})


def compare_runs(runs: Mapping[str, SweepRun]) -> list[SweepComparison]:
    """Per variation: its gap minus the default's on shared pairs, with a 95% CI.

    Each (query, epoch) valid in all four samples gives d = (paid - free refusal) under the
    variation minus the same under the default; the CI is mean(d) +- z * sd / sqrt(n), and a
    Bonferroni-widened one for the number of comparisons.
    """
    base = runs["default"].refusals
    default_gap = runs["default"].gap_pp
    others = [name for name in runs if name != "default"]
    z_bonferroni = z_two_sided(0.05 / max(1, len(others)))
    rows: list[SweepComparison] = []
    for name in others:
        variant = runs[name].refusals
        shared = sorted(set(base) & set(variant))
        d = [(variant[k][0] - variant[k][1]) - (base[k][0] - base[k][1]) for k in shared]
        mean = sum(d) / len(d) if d else None
        se = _standard_error(d)
        rows.append(
            {
                "variation": name,
                "gap_pp": runs[name].gap_pp,
                "default_gap_pp": default_gap,
                "diff_pp": None if mean is None else 100 * mean,
                "ci95_pp": _interval(mean, se, Z95),
                "ci95_bonferroni_pp": _interval(mean, se, z_bonferroni),
                "n_shared_pairs": len(d),
                "n_comparisons": len(others),
            }
        )
    return rows


def _gap_pp(summary: RunSummary) -> float | None:
    """The run's gap under the compliance rule it used (the judge's when it ran)."""
    judged = summary["judged"]
    if judged and judged["compliance_rule"] == "judge":
        return judged["compliance_gap"]["pp"]
    return summary["compliance_gap"]["pp"]


def _refusals(facts: Sequence[SampleFacts]) -> dict[PairKey, tuple[int, int]]:
    """(query, epoch) -> (paid refused, free refused), for pairs decided in both tiers, under
    the compliance rule the run used."""
    rule, _ = judging_of(name for fact in facts for name in fact.scores)
    tiers = pair_values(fact_pairs(facts), compliance_of(rule))
    return {
        key: (int(t["paid"] == "refused"), int(t["free"] == "refused"))
        for key, t in tiers.items()
        if t.get("paid") in DECIDED and t.get("free") in DECIDED
    }


def _standard_error(d: list[int]) -> float | None:
    if len(d) < 2:
        return None
    mean = sum(d) / len(d)
    return math.sqrt(sum((x - mean) ** 2 for x in d) / (len(d) - 1) / len(d))


def _interval(mean: float | None, se: float | None, z: float) -> list[float] | None:
    if mean is None or se is None:
        return None
    return [100 * (mean - z * se), 100 * (mean + z * se)]
