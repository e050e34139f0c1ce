"""Agreement between judges: the verdicts of different raters on the same samples.

A *rater* is a scorer with the judge model it asked (``compliance_judge`` asking
``openai/gpt-4o``), or the tag rule; it may be read from several logs. A *unit* is one sample:
its id, epoch and conversation (``facts.transcript_digest``), so that logs are matched only on
samples they hold the same conversation of (a log and its rescored copies), never on a sample
id that another run used for another conversation. A rater whose verdicts in a second log are a
copy of its verdicts in the first (a rescored log keeps the scores it did not rerun; a judge
asked again is answered from the cache) is one rater, not two that agree perfectly.

The verdicts compared (:data:`VARIABLES`):

- ``compliance``: refused or complied, by the tag rule and every compliance judge. ``invalid``
  (no reply to judge, decided by the parser both share), ``unscored`` (a judge reply that could
  not be read) and a sample that errored are missing ratings, never a "no": agreement is on
  the samples both decided, as the summary's ``rule_agreement`` counts it.
- ``af``: alignment faking or not, from the AF judge (``af``; ``maybe`` and ``no_af`` are not)
  and the five-criteria judge (``full``; ``partial`` and ``none`` are not), collapsed as
  ``analysis.judged`` buckets them (AF_YES, AF_NO), so that the two judges are comparable.
  ``skipped`` (not complied, no scratchpad) and ``unscored`` are missing.
- ``af_votes_3way``, ``af_criteria5_3way``: one judge's own three verdicts, compared between
  judge models of the same scorer.

Per variable: each pair's percent agreement and Cohen's kappa, Krippendorff's alpha over all its
raters (missing ratings allowed), with percentile bootstrap intervals that resample queries (a
query's tiers and epochs are drawn together, since they are not independent), confusion tables
and the units on which the raters disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from aflab.analysis.facts import SampleFacts
from aflab.analysis.judged import AF_NO, AF_YES, DECIDED
from aflab.core.agreement import (
    DRAWS,
    LEVEL,
    Bootstrap,
    Estimate,
    Table,
    add_tables,
    cluster_bootstrap,
    cohen_kappa,
    coincidences,
    confusion,
    krippendorff_alpha,
    pair_table,
    percent_agreement,
)
from aflab.core.errors import UsageError
from aflab.eval.scorers.judges.view import COMPLIANCE_JUDGE
from aflab.eval.scorers.tag import TAG_SCORER

UnitKey = tuple[str, int, str]  # sample id, epoch, conversation digest
# Why a rater has no rating of a unit, beside the verdicts it gave that are not categories.
ABSENT = "absent"  # none of the rater's logs holds the sample
NOT_SCORED = "not scored"  # its log holds the sample, but the scorer left no score on it
SAMPLE_ERROR = "sample error"  # the sample errored: nothing was judged
CLUSTER = "query_id"


@dataclass(frozen=True)
class Variable:
    """A verdict that several raters give: its categories, and each scorer's values mapped to
    them (a value not mapped is a missing rating)."""

    name: str
    explain: str
    categories: tuple[str, ...]
    verdicts: Mapping[str, Mapping[str, str]]  # scorer -> its value -> category


def _collapsed(scorer: str) -> dict[str, str]:
    return {v: "af" for v in AF_YES[scorer]} | {v: "no_af" for v in AF_NO[scorer]}


VARIABLES = (
    Variable(
        "compliance",
        "refused or complied: the tag rule and the compliance judges (invalid, unscored: missing)",
        DECIDED,
        {TAG_SCORER: {c: c for c in DECIDED}, COMPLIANCE_JUDGE: {c: c for c in DECIDED}},
    ),
    Variable(
        "af",
        "alignment faking or not: the af judge's af (maybe, no_af: not) and criteria5's full "
        "(partial, none: not); skipped and unscored are missing",
        ("af", "no_af"),
        {scorer: _collapsed(scorer) for scorer in AF_YES},
    ),
    Variable(
        "af_votes_3way",
        "the af judge's own verdicts, between judge models",
        ("af", "maybe", "no_af"),
        {"af_votes": {v: v for v in ("af", "maybe", "no_af")}},
    ),
    Variable(
        "af_criteria5_3way",
        "the five-criteria judge's own verdicts, between judge models",
        ("full", "partial", "none"),
        {"af_criteria5": {v: v for v in ("full", "partial", "none")}},
    ),
)
BY_NAME = {variable.name: variable for variable in VARIABLES}
# What --variable chooses.
GROUPS = {
    "compliance": ("compliance",),
    "af": ("af", "af_votes_3way", "af_criteria5_3way"),
    "all": tuple(BY_NAME),
}
RATED = tuple(dict.fromkeys(s for v in VARIABLES for s in v.verdicts))  # the scorers compared
SCORER_LABELS = {
    TAG_SCORER: "tag rule",
    COMPLIANCE_JUDGE: "compliance judge",
    "af_votes": "af judge",
    "af_criteria5": "criteria5 judge",
}


@dataclass(frozen=True)
class Unit:
    """One sample, as the logs that hold it name it."""

    sample_id: str
    epoch: int
    query_id: str
    tier: str
    transcript: str
    runs: tuple[str, ...]  # the logs (run names) that hold it

    @property
    def key(self) -> UnitKey:
        return self.sample_id, self.epoch, self.transcript


@dataclass
class LogRatings:
    """What one log gives to a comparison: its samples and each rated scorer's values."""

    run: str
    units: dict[UnitKey, Unit] = field(default_factory=dict)
    values: dict[str, dict[UnitKey, str]] = field(default_factory=dict)  # scorer -> unit -> value
    models: dict[str, tuple[str, ...]] = field(default_factory=dict)  # scorer -> judge models


def log_ratings(run: str, facts: Iterable[SampleFacts]) -> LogRatings:
    """The units and rated scorers' values of the log named ``run`` (``logs.run_id``). A scorer
    that scored no sample of the log is no rater of it; one that scored some has the value
    ``not scored`` on the others, and every rater ``sample error`` on a sample that errored."""
    facts = list(facts)
    present = [s for s in RATED if any(s in fact.scores for fact in facts)]
    ratings = LogRatings(run, values={scorer: {} for scorer in present})
    models: dict[str, Counter[str]] = {scorer: Counter() for scorer in present}
    for fact in facts:
        unit = Unit(fact.sample_id, fact.epoch, fact.query_id, fact.tier, fact.transcript, (run,))
        ratings.units[unit.key] = unit
        for scorer in present:
            value = SAMPLE_ERROR if fact.errored else fact.scores.get(scorer, NOT_SCORED)
            ratings.values[scorer][unit.key] = value
            if scorer in fact.judges:
                models[scorer][fact.judges[scorer]] += 1
    ratings.models = {scorer: tuple(sorted(counts)) for scorer, counts in models.items()}
    return ratings


@dataclass(frozen=True)
class Rater:
    scorer: str
    model: str | None  # the judge model; None for the tag rule, or where no score names one
    runs: tuple[str, ...]  # the logs its verdicts were read from
    label: str


@dataclass(frozen=True)
class Interval:
    """A statistic with its bootstrap interval."""

    estimate: Estimate
    bootstrap: Bootstrap


@dataclass(frozen=True)
class PairAgreement:
    first: int  # the raters, by their place in the variable's raters
    second: int
    n: int  # units both rated
    agreement: Interval
    kappa: Interval
    confusion: list[list[int]]  # rows: the first's categories, columns: the second's
    disagreements: int


@dataclass(frozen=True)
class Disagreement:
    unit: Unit
    categories: tuple[str | None, ...]  # each rater's rating (None: missing)
    values: tuple[str, ...]  # what each rater said: its value, or why it has none


@dataclass(frozen=True)
class VariableAgreement:
    variable: Variable
    raters: tuple[Rater, ...]
    n_units: int  # units any of the raters' logs holds (rated or not: see missing)
    n_pairable: int  # units rated by at least two
    missing: tuple[dict[str, int], ...]  # per rater: units it has no rating of, by why
    pairs: tuple[PairAgreement, ...]
    alpha: Interval
    disagreements: tuple[Disagreement, ...]


@dataclass(frozen=True)
class Coverage:
    """One log's samples against each other log's: how many the other does not hold, and how
    many of those it holds under the same id and epoch with another conversation."""

    run: str
    samples: int
    absent_from: dict[str, int]
    other_conversation: dict[str, int]


@dataclass(frozen=True)
class Agreement:
    coverage: tuple[Coverage, ...]
    variables: tuple[VariableAgreement, ...]
    notes: tuple[str, ...]  # variables with fewer than two raters, and why
    draws: int
    seed: int
    level: float


def variables_of(choice: str) -> tuple[str, ...]:
    """The variables ``--variable`` names: compliance, af (with the 3-way ones) or all."""
    if choice in GROUPS:
        return GROUPS[choice]
    if choice in BY_NAME:
        return (choice,)
    raise UsageError(f"unknown variable {choice!r}; choose from {', '.join(GROUPS)}")


def compare(
    logs: Sequence[LogRatings],
    variables: Sequence[str] = GROUPS["all"],
    draws: int = DRAWS,
    seed: int = 0,
    level: float = LEVEL,
) -> Agreement:
    """The agreement of the raters of ``logs`` on each of ``variables`` (names in BY_NAME).

    Args:
        logs: each log's ratings (:func:`log_ratings`), in the order their raters are listed.
        variables: which verdicts to compare.
        draws: bootstrap resamples of queries; seed: their generator's; level: the coverage.
    """
    runs = [log.run for log in logs]
    if len(set(runs)) != len(runs):
        raise UsageError(f"two logs have the same name: {', '.join(runs)}; rename one")
    units = _units(logs)
    raters = _raters(logs)
    results, notes = [], []
    for name in variables:
        variable = BY_NAME[name]
        chosen = [r for r in raters if r[0].scorer in variable.verdicts]
        if len(chosen) >= 2:
            results.append(_variable(variable, chosen, units, draws, seed, level))
        elif chosen:
            notes.append(f"{name}: one rater ({chosen[0][0].label}), nothing to compare")
    return Agreement(_coverage(logs), tuple(results), tuple(notes), draws, seed, level)


def _units(logs: Sequence[LogRatings]) -> list[Unit]:
    merged: dict[UnitKey, Unit] = {}
    for log in logs:
        for key, unit in log.units.items():
            known = merged.get(key)
            runs = (*known.runs, log.run) if known else unit.runs
            merged[key] = Unit(*_fields(unit), runs)
    return sorted(merged.values(), key=lambda u: (u.query_id, u.epoch, u.tier, u.sample_id))


def _fields(unit: Unit) -> tuple[str, int, str, str, str]:
    return unit.sample_id, unit.epoch, unit.query_id, unit.tier, unit.transcript


RaterValues = tuple[Rater, dict[UnitKey, str]]


def _raters(logs: Sequence[LogRatings]) -> list[RaterValues]:
    """Each rated scorer of each log, with its judge model; one that has the same scorer and
    model as a rater found before and the same values on every unit both hold is that rater."""
    found: list[tuple[str, str | None, list[str], dict[UnitKey, str]]] = []
    for scorer in RATED:
        for log in logs:
            values = log.values.get(scorer)
            if values is None:
                continue
            model = ", ".join(log.models.get(scorer, ())) or None
            same = next(
                (
                    entry
                    for entry in found
                    if entry[:2] == (scorer, model) and _copies(entry[3], values)
                ),
                None,
            )
            if same is None:
                found.append((scorer, model, [log.run], dict(values)))
            else:
                same[2].append(log.run)
                same[3].update(values)
    labels = [_label(scorer, model) for scorer, model, _, _ in found]
    counts = Counter(labels)
    raters = []
    for (scorer, model, runs, values), label in zip(found, labels, strict=True):
        # The same judge giving other verdicts in another log: told apart by the log.
        named = f"{label} [{runs[0]}]" if counts[label] > 1 else label
        raters.append((Rater(scorer, model, tuple(runs), named), values))
    return raters


def _copies(known: Mapping[UnitKey, str], values: Mapping[UnitKey, str]) -> bool:
    return all(known[key] == value for key, value in values.items() if key in known)


def _label(scorer: str, model: str | None) -> str:
    name = SCORER_LABELS.get(scorer, scorer)
    if scorer == TAG_SCORER:
        return name
    return f"{name} ({model or 'judge model not recorded'})"


def _variable(
    variable: Variable,
    chosen: Sequence[RaterValues],
    units: Sequence[Unit],
    draws: int,
    seed: int,
    level: float,
) -> VariableAgreement:
    raters = tuple(rater for rater, _ in chosen)
    rows: list[tuple[Unit, tuple[str | None, ...], tuple[str, ...]]] = []
    for unit in units:
        values = tuple(found.get(unit.key, ABSENT) for _, found in chosen)
        if all(value == ABSENT for value in values):
            continue
        mapped = tuple(
            variable.verdicts[rater.scorer].get(value)
            for rater, value in zip(raters, values, strict=True)
        )
        rows.append((unit, mapped, values))
    by_cluster: dict[str, list[tuple[str | None, ...]]] = {}
    for unit, mapped, _ in rows:
        by_cluster.setdefault(unit.query_id, []).append(mapped)
    clusters = list(by_cluster.values())

    def interval(tables: Sequence[Table], statistic: Callable[[Table], Estimate]) -> Interval:
        whole = statistic(add_tables(tables))
        return Interval(whole, cluster_bootstrap(tables, statistic, draws, seed, level))

    pairs = []
    for i, j in combinations(range(len(raters)), 2):
        tables = [pair_table((unit[i], unit[j]) for unit in cluster) for cluster in clusters]
        total = add_tables(tables)
        n = round(sum(total.values()))
        agreed = round(sum(v for (a, b), v in total.items() if a == b))
        pairs.append(
            PairAgreement(
                i,
                j,
                n,
                interval(tables, percent_agreement),
                interval(tables, cohen_kappa),
                confusion(total, variable.categories),
                n - agreed,
            )
        )
    missing = tuple(
        dict(Counter(values[k] for _, mapped, values in rows if mapped[k] is None))
        for k in range(len(raters))
    )
    disagreements = tuple(
        Disagreement(unit, mapped, values)
        for unit, mapped, values in rows
        if len({m for m in mapped if m is not None}) > 1
    )
    return VariableAgreement(
        variable,
        raters,
        len(rows),
        sum(1 for _, mapped, _ in rows if sum(m is not None for m in mapped) >= 2),
        missing,
        tuple(pairs),
        interval([coincidences(cluster) for cluster in clusters], krippendorff_alpha),
        disagreements,
    )


def _coverage(logs: Sequence[LogRatings]) -> tuple[Coverage, ...]:
    ids = {log.run: {(key[0], key[1]) for key in log.units} for log in logs}
    coverage = []
    for log in logs:
        absent: dict[str, int] = {}
        other: dict[str, int] = {}
        for peer in logs:
            if peer is log:
                continue
            missing = [key for key in log.units if key not in peer.units]
            absent[peer.run] = len(missing)
            other[peer.run] = sum(1 for key in missing if (key[0], key[1]) in ids[peer.run])
        coverage.append(Coverage(log.run, len(log.units), absent, other))
    return tuple(coverage)


def shared_units(result: Agreement) -> bool:
    """Whether every log holds a sample in common with another (true of a single log): if not,
    some logs are not judgements of the same samples as the others (another run)."""
    return all(
        not c.absent_from or any(n < c.samples for n in c.absent_from.values())
        for c in result.coverage
    )


def agreement_json(result: Agreement) -> dict[str, Any]:
    """``agreement.json``: everything :func:`compare` found, as plain JSON (no NaN: an
    undefined statistic is null with the reason beside it)."""
    return {
        "bootstrap": {
            "draws": result.draws,
            "seed": result.seed,
            "level": result.level,
            "resamples": f"{CLUSTER} (a query's tiers and epochs together), with replacement",
            "interval": "percentile",
        },
        "logs": [
            {
                "run": c.run,
                "samples": c.samples,
                "absent_from": c.absent_from,
                "other_conversation": c.other_conversation,
            }
            for c in result.coverage
        ],
        "variables": {v.variable.name: _variable_json(v) for v in result.variables},
        "notes": list(result.notes),
    }


def _variable_json(result: VariableAgreement) -> dict[str, Any]:
    labels = [rater.label for rater in result.raters]
    return {
        "explain": result.variable.explain,
        "categories": list(result.variable.categories),
        "raters": [
            {"label": r.label, "scorer": r.scorer, "judge_model": r.model, "logs": list(r.runs)}
            for r in result.raters
        ],
        "n_units": result.n_units,
        "n_pairable": result.n_pairable,
        "missing": dict(zip(labels, result.missing, strict=True)),
        "pairs": [
            {
                "raters": [labels[pair.first], labels[pair.second]],
                "n": pair.n,
                "percent_agreement": _interval_json(pair.agreement),
                "cohen_kappa": _interval_json(pair.kappa),
                "confusion": {
                    "rows": labels[pair.first],
                    "columns": labels[pair.second],
                    "categories": list(result.variable.categories),
                    "counts": pair.confusion,
                },
                "disagreements": pair.disagreements,
            }
            for pair in result.pairs
        ],
        "krippendorff_alpha": _interval_json(result.alpha),
        "disagreements": [
            {
                "sample_id": d.unit.sample_id,
                "epoch": d.unit.epoch,
                "tier": d.unit.tier,
                "query_id": d.unit.query_id,
                "logs": list(d.unit.runs),
                "verdicts": dict(zip(labels, d.categories, strict=True)),
                "values": dict(zip(labels, d.values, strict=True)),
            }
            for d in result.disagreements
        ],
    }


def _interval_json(interval: Interval) -> dict[str, Any]:
    boot = interval.bootstrap
    return {
        "value": interval.estimate.value,
        "undefined": interval.estimate.undefined,
        "ci": list(boot.interval) if boot.interval else None,
        "ci_missing": boot.reason,
        "clusters": boot.clusters,
        "undefined_resamples": boot.undefined_draws,
    }
