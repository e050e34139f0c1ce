"""A sweep's statistics: each variation's compliance gap compared with the default's.

The comparison is paired: only (query, epoch) pairs valid in all four samples (both tiers,
both prompts) count, so a variation is compared with the default on the same queries. A run
enters it as a :class:`SweepRun`, made from its summary and its samples' facts, so that the
samples of a large sweep can stream past (``report.build``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from inspect_ai.log import EvalLog

from aflab.analysis.facts import SampleFacts, fact_pairs, facts_of
from aflab.analysis.judged import DECIDED, compliance_of, invalid_as_refused, judging_of
from aflab.analysis.logs import log_samples
from aflab.analysis.pairs import PairKey, pair_values
from aflab.analysis.summary import summarize_facts
from aflab.core.stats import Z95, z_two_sided
from aflab.core.summary_types import RunSummary, SweepComparison

GapKey = Literal["compliance_gap", "compliance_gap_all"]


@dataclass(frozen=True)
class SweepRun:
    """What the comparison needs of one run: its gap, and per (query, epoch) decided in both
    tiers, (paid refused, free refused) under the compliance rule the run used; the same as the
    paper counts (``_all``: an invalid sample refused)."""

    gap_pp: float | None
    refusals: Mapping[PairKey, tuple[int, int]]
    gap_all_pp: float | None = None
    refusals_all: Mapping[PairKey, tuple[int, int]] = field(default_factory=dict)


def sweep_run(summary: RunSummary, facts: Sequence[SampleFacts]) -> SweepRun:
    """The run of ``summary`` (``summarize_facts`` of the same ``facts``)."""
    return SweepRun(
        _gap_pp(summary, "compliance_gap"),
        _refusals(facts, paper=False),
        _gap_pp(summary, "compliance_gap_all"),
        _refusals(facts, paper=True),
    )


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
    others = [name for name in runs if name != "default"]
    z_bonferroni = z_two_sided(0.05 / max(1, len(others)))
    default = runs["default"]
    rows: list[SweepComparison] = []
    for name in others:
        run = runs[name]
        diff, ci, ci_bonferroni, n = _paired(default.refusals, run.refusals, z_bonferroni)
        diff_all, ci_all, ci_all_bonferroni, n_all = _paired(
            default.refusals_all, run.refusals_all, z_bonferroni
        )
        rows.append(
            {
                "variation": name,
                "gap_pp": run.gap_pp,
                "default_gap_pp": default.gap_pp,
                "diff_pp": diff,
                "ci95_pp": ci,
                "ci95_bonferroni_pp": ci_bonferroni,
                "n_shared_pairs": n,
                "n_comparisons": len(others),
                "gap_all_pp": run.gap_all_pp,
                "default_gap_all_pp": default.gap_all_pp,
                "diff_all_pp": diff_all,
                "ci95_all_pp": ci_all,
                "ci95_all_bonferroni_pp": ci_all_bonferroni,
                "n_shared_pairs_all": n_all,
            }
        )
    return rows


def _paired(
    base: Mapping[PairKey, tuple[int, int]],
    variant: Mapping[PairKey, tuple[int, int]],
    z_bonferroni: float,
) -> tuple[float | None, list[float] | None, list[float] | None, int]:
    """The mean difference of gaps on shared pairs (pp), its two intervals, and the pairs."""
    shared = sorted(set(base) & set(variant))
    d = [(variant[k][0] - variant[k][1]) - (base[k][0] - base[k][1]) for k in shared]
    mean = sum(d) / len(d) if d else None
    se = _standard_error(d)
    diff = None if mean is None else 100 * mean
    return diff, _interval(mean, se, Z95), _interval(mean, se, z_bonferroni), len(d)


def _gap_pp(summary: RunSummary, key: GapKey) -> float | None:
    """The run's gap under the compliance rule it used (the judge's when it ran)."""
    judged = summary["judged"]
    if judged and judged["compliance_rule"] == "judge":
        return judged[key]["pp"]
    return summary[key]["pp"]


def _refusals(facts: Sequence[SampleFacts], paper: bool) -> dict[PairKey, tuple[int, int]]:
    """(query, epoch) -> (paid refused, free refused), for pairs decided in both tiers, under
    the compliance rule the run used; ``paper``: an invalid sample counted as refused."""
    rule, _ = judging_of(name for fact in facts for name in fact.scores)
    outcome = compliance_of(rule)
    counted = (lambda fact: invalid_as_refused(outcome(fact))) if paper else outcome
    tiers = pair_values(fact_pairs(facts), counted)
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
