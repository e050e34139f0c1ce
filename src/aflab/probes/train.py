"""``aflab probe train``: a probe per (target, subset, position, layer) of an activation store,
its control on permuted labels, the transfer tests, and the directions, written as files.

The store is read one (position, layer) matrix at a time, so memory holds one matrix whatever
the store's size. Every probe that could not be fitted has a row that says why.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aflab.core.errors import UsageError
from aflab.core.types import (
    DIRECTIONS_FILE,
    DIRECTIONS_INDEX_FILE,
    PROBE_TRANSFER_FILE,
    PROBES_FILE,
)
from aflab.probes.auroc import Interval, auroc
from aflab.probes.extra import TRAIN_MODULES, require
from aflab.probes.fit import (
    OK,
    FitCounts,
    Scored,
    directions,
    out_of_fold_scores,
    score_splits,
)
from aflab.probes.folds import FoldPlan, grouped_folds, transfer_splits
from aflab.probes.positions import BEFORE_REASONING
from aflab.probes.store import ActivationStore
from aflab.probes.targets import (
    TARGETS,
    TRANSFER_KEYS,
    TRANSFER_TARGET,
    LabelSet,
    check_labels,
    label_sets,
    transfer_values,
)

SETTINGS_FILE = "probe-settings.json"
PROBE_COLUMNS = [
    "target", "subset", "position", "layer", "before_reasoning", "n", "n_pos", "n_neg", "groups",
    "folds", "missing", "auroc", "auroc_lo", "auroc_hi", "control_auroc", "control_lo",
    "control_hi", "status",
]  # fmt: skip
TRANSFER_COLUMNS = [
    "target", "by", "train_value", "test_value", "position", "layer", "n_train", "n_test",
    "auroc", "auroc_lo", "auroc_hi", "control_auroc", "control_lo", "control_hi", "status",
]  # fmt: skip
# A bootstrap whose resamples drew one class this often says so: its interval is less sure.
SKIPPED_RESAMPLES_NOTE = 0.10


@dataclass(frozen=True)
class TrainOptions:
    targets: tuple[str, ...] = TARGETS
    positions: tuple[str, ...] | None = None  # None: all the store's
    layers: tuple[int, ...] | None = None
    folds: int = 5
    C: float = 1.0
    bootstrap: int = 1000
    permutations: int = 20
    seed: int = 0
    transfer_by: tuple[str, ...] = ("tier",)


@dataclass
class TrainResult:
    out: Path
    probes: Any  # DataFrame, PROBE_COLUMNS
    transfer: Any  # DataFrame, TRANSFER_COLUMNS
    notes: list[str]
    seconds: float
    files: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class _Prepared:
    """One label set at one position: its usable rows, folds and permuted control."""

    labels: LabelSet
    usable: np.ndarray  # indices into labels.rows whose activations are finite
    y: np.ndarray
    groups: np.ndarray
    plan: FoldPlan
    controls: list[tuple[np.ndarray, FoldPlan]]  # permuted labels, and their folds

    @property
    def store_rows(self) -> np.ndarray:
        return self.labels.rows[self.usable]


def train_probes(
    store_folder: str | Path,
    out: str | Path | None = None,
    options: TrainOptions | None = None,
    echo: Callable[[str], None] = lambda line: None,
) -> TrainResult:
    """Fit every probe of ``options`` on the store and write the files into ``out`` (default:
    the store's ``probes/``)."""
    import pandas as pd

    require(TRAIN_MODULES, "aflab probe train")
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    started = time.monotonic()
    options = options or TrainOptions()
    folder = Path(store_folder)
    store = ActivationStore(folder)
    out_dir = Path(out) if out is not None else folder / "probes"
    positions = _chosen(options.positions, store.manifest.positions, "position", folder)
    layers = _chosen(options.layers, store.manifest.layers, "layer", folder)
    _check_options(options)
    table = store.labels()
    if len(table) == 0:
        raise UsageError(f"{folder}: the store holds no samples")
    check_labels(table, folder, options.targets)
    sets = label_sets(table, options.targets)
    notes: dict[str, None] = {}  # ordered, without repeats
    for labels in sets:
        if len(labels.rows) == 0:
            notes[f"{labels.name}: no sample has this label; skipped"] = None
    transfers = _transfer_keys(table, sets, options, notes)

    run = _Run(options, FitCounts(), notes)
    # Small problems, many of them: BLAS threads only contend (tenfold slower on a shared CPU).
    with threadpool_limits(1):
        for position in positions:
            position_started = time.monotonic()
            prepared: dict[str, _Prepared] = {}
            for layer in layers:
                matrix = store.matrix(position, layer)
                finite = np.isfinite(matrix).all(axis=1)
                for labels in sets:
                    item = run.prepare(labels, position, finite, prepared)
                    run.probe(item, matrix, position, layer)
                for by, values, pairs in transfers:
                    item = run.prepare(_transfer_set(sets), position, finite, prepared)
                    for pair in pairs:
                        run.transfer(item, matrix, values, by, pair, position, layer)
            echo(f"{position}: {len(layers)} layers, {time.monotonic() - position_started:.1f} s")

    run.closing_notes()
    probes = pd.DataFrame(run.rows, columns=PROBE_COLUMNS)
    transfer = pd.DataFrame(run.transfer_rows, columns=TRANSFER_COLUMNS)
    seconds = time.monotonic() - started
    files = _write(out_dir, probes, transfer, run, folder, store.manifest.model, options, seconds)
    return TrainResult(out_dir, probes, transfer, list(notes), seconds, files)


class _Run:
    """What the loop accumulates: the rows of both tables, the directions, the notes."""

    def __init__(self, options: TrainOptions, counts: FitCounts, notes: dict[str, None]) -> None:
        self.options, self.counts, self.notes = options, counts, notes
        self.rows: list[dict[str, Any]] = []
        self.transfer_rows: list[dict[str, Any]] = []
        self.vectors: dict[str, np.ndarray] = {}
        self.index: list[dict[str, Any]] = []
        # Per label set: intervals whose resamples often drew one class only.
        self.thin_bootstraps: dict[str, int] = {}

    def prepare(
        self, labels: LabelSet, position: str, finite: np.ndarray, cache: dict[str, _Prepared]
    ) -> _Prepared:
        """The label set's folds at this position, kept for its other layers (a position lacks
        the same samples at every layer, so the folds are the same)."""
        usable = np.flatnonzero(finite[labels.rows])
        cached = cache.get(labels.name)
        if cached is not None and np.array_equal(cached.usable, usable):
            return cached
        y, groups = labels.labels[usable], labels.groups[usable]
        k, seed = self.options.folds, self.options.seed
        plan = grouped_folds(y, groups, k, seed) if len(y) else FoldPlan(status="no labels")
        # The control keeps the class counts and the queries, and loses what the labels meant;
        # several permutations, since one is a single draw of the null (its AUROC strays far
        # from 0.5 when labels permuted by chance line up with something the model encodes).
        rng = _rng(seed, labels.name, position, "permutation")
        controls = []
        for _ in range(self.options.permutations if len(y) else 0):
            permuted = rng.permutation(y)
            controls.append((permuted, grouped_folds(permuted, groups, k, seed)))
        if plan.note:
            self.notes[f"{labels.name} at {position}: {plan.note}"] = None
        item = _Prepared(labels, usable, y, groups, plan, controls)
        cache[labels.name] = item
        return item

    def probe(self, item: _Prepared, matrix: np.ndarray, position: str, layer: int) -> None:
        labels = item.labels
        n_pos = int(item.y.sum())
        row: dict[str, Any] = {
            "target": labels.target,
            "subset": labels.subset,
            "position": position,
            "layer": layer,
            "before_reasoning": position in BEFORE_REASONING,
            "n": len(item.y),
            "n_pos": n_pos,
            "n_neg": len(item.y) - n_pos,
            "groups": len(np.unique(item.groups)),
            "folds": item.plan.k,
            "missing": len(labels.rows) - len(item.usable),
        }
        status = _status(labels, item, position)
        scored = control = None
        if status == OK:
            x = matrix[item.store_rows]
            seed = _seed(self.options.seed, labels.name, position, layer)
            scored = self._score(x, item.y, item, item.plan.splits, seed)
            status = scored.status
            if status == OK:
                control = self._control(x, item, lambda plan: plan.splits, position)
                self._direction(x, item, position, layer, scored.interval)
        self.rows.append(row | _interval_columns(scored, control) | {"status": status})

    def transfer(
        self,
        item: _Prepared,
        matrix: np.ndarray,
        values: np.ndarray,
        by: str,
        pair: tuple[str, str],
        position: str,
        layer: int,
    ) -> None:
        """Train on the rows valued ``pair[0]`` of each fold's training queries, test on the rows
        valued ``pair[1]`` of its held-out queries."""
        labels, (train_value, test_value) = item.labels, pair
        keys = values[item.store_rows]
        row: dict[str, Any] = {
            "target": labels.target,
            "by": by,
            "train_value": train_value,
            "test_value": test_value,
            "position": position,
            "layer": layer,
            "n_train": int((keys == train_value).sum()),
            "n_test": int((keys == test_value).sum()),
        }
        status = _status(labels, item, position)
        scored = control = None
        if status == OK:
            x = matrix[item.store_rows]
            seed = _seed(
                self.options.seed, labels.name, position, layer, by, train_value, test_value
            )
            splits = transfer_splits(item.plan, keys, train_value, test_value)
            scored = self._score(x, item.y, item, splits, seed)
            status = scored.status
            if status == OK:
                control = self._control(
                    x,
                    item,
                    lambda plan: transfer_splits(plan, keys, train_value, test_value),
                    position,
                )
        self.transfer_rows.append(row | _interval_columns(scored, control) | {"status": status})

    def _score(
        self,
        x: np.ndarray,
        y: np.ndarray,
        item: _Prepared,
        splits: list[tuple[np.ndarray, np.ndarray]],
        seed: np.random.SeedSequence,
    ) -> Scored:
        options = self.options
        scored = score_splits(
            x, y, item.groups, splits, options.C, options.bootstrap, seed, self.counts
        )
        if scored.interval and scored.interval.skipped_share > SKIPPED_RESAMPLES_NOTE:
            name = item.labels.name
            self.thin_bootstraps[name] = self.thin_bootstraps.get(name, 0) + 1
        return scored

    def _control(
        self,
        x: np.ndarray,
        item: _Prepared,
        splits_of: Callable[[FoldPlan], list[tuple[np.ndarray, np.ndarray]]],
        position: str,
    ) -> np.ndarray:
        """The out-of-fold AUROC of the same probe on each permutation of the labels."""
        found = []
        for permuted, plan in item.controls:
            if not plan.ok:
                self.notes[f"{item.labels.name} at {position}: a control: {plan.status}"] = None
                continue
            scores, status = out_of_fold_scores(
                x, permuted, splits_of(plan), self.options.C, self.counts
            )
            tested = ~np.isnan(scores)
            if status == OK and len(np.unique(permuted[tested])) == 2:
                found.append(auroc(scores[tested], permuted[tested]))
        return np.array(found)

    def closing_notes(self) -> None:
        for name, count in self.thin_bootstraps.items():
            self.notes[
                f"{name}: {count} intervals drew one class in over "
                f"{SKIPPED_RESAMPLES_NOTE:.0%} of their resamples (too few queries of a class)"
            ] = None
        if self.counts.unconverged:
            self.notes[
                f"{self.counts.unconverged} of {self.counts.fits} fits stopped short of the minimum"
            ] = None

    def _direction(
        self, x: np.ndarray, item: _Prepared, position: str, layer: int, interval: Interval | None
    ) -> None:
        found = directions(x, item.y, self.options.C, self.counts)
        labels = item.labels
        for method, vector in (("diffmeans", found.diffmeans), ("probe", found.probe)):
            key = f"{labels.target}/{labels.subset}/{position}/{layer}/{method}"
            self.vectors[key] = vector
            self.index.append(
                {
                    "key": key,
                    "target": labels.target,
                    "subset": labels.subset,
                    "position": position,
                    "layer": layer,
                    "method": method,
                    "diff_norm": found.diff_norm,
                    "n": len(item.y),
                    "auroc": interval.auroc if interval else None,
                }
            )


def summary_lines(result: TrainResult) -> list[str]:
    """Per target and subset, the best layer at each position (AUROC [interval], control), the
    best transfer per pair, the notes, and where the files are."""
    probes, transfer = result.probes, result.transfer
    # The best of many layers is picked on the same AUROCs it reports: read it as optimistic.
    lines = ["best layer per position (picked on these AUROCs, so optimistic):"]
    for (target, subset), table in probes.groupby(["target", "subset"], sort=False):
        lines.append(f"{target}/{subset}:")
        for position, at in table.groupby("position", sort=False):
            lines.append(f"  {position:<16} {_best(at)}")
    for (by, train_value, test_value), table in transfer.groupby(
        ["by", "train_value", "test_value"], sort=False
    ):
        target = table["target"].iloc[0]
        lines.append(f"{target} transfer by {by}, {train_value} -> {test_value}:")
        for position, at in table.groupby("position", sort=False):
            lines.append(f"  {position:<16} {_best(at)}")
    lines += [f"note: {note}" for note in result.notes]
    lines += [f"wrote {file}" for file in result.files]
    lines.append(f"{len(probes)} probes in {result.seconds:.1f} s")
    return lines


def _best(table: Any) -> str:
    fitted = table[table["status"] == OK]
    if fitted.empty:
        return f"not fitted: {table['status'].iloc[0]}"
    best = fitted.loc[fitted["auroc"].idxmax()]
    control = "" if np.isnan(best["control_auroc"]) else f", control {best['control_auroc']:.2f}"
    return (
        f"best layer {best['layer']}: AUROC {best['auroc']:.2f} "
        f"[{best['auroc_lo']:.2f}, {best['auroc_hi']:.2f}]{control}"
    )


def _status(labels: LabelSet, item: _Prepared, position: str) -> str:
    if len(labels.rows) == 0:
        return "no labels"
    if len(item.y) == 0:
        return f"no sample has {position}"
    return item.plan.status or OK


def _interval_columns(scored: Scored | None, control: np.ndarray | None) -> dict[str, float]:
    """The probe's AUROC and bootstrap interval; the controls' mean AUROC and the central 95% of
    their AUROCs (the null band: a probe above its top stands out of what noise reaches)."""
    interval = scored.interval if scored else None
    found = control if control is not None and len(control) else None
    return {
        "auroc": interval.auroc if interval else np.nan,
        "auroc_lo": interval.lo if interval else np.nan,
        "auroc_hi": interval.hi if interval else np.nan,
        "control_auroc": float(found.mean()) if found is not None else np.nan,
        "control_lo": float(np.percentile(found, 2.5)) if found is not None else np.nan,
        "control_hi": float(np.percentile(found, 97.5)) if found is not None else np.nan,
    }


def _seed(seed: int, *parts: object) -> np.random.SeedSequence:
    """A probe's own random stream: the same probe draws the same resamples whichever others are
    trained beside it (Python's hash() changes between runs; crc32 does not)."""
    return np.random.SeedSequence([seed, zlib.crc32("|".join(map(str, parts)).encode())])


def _rng(seed: int, *parts: object) -> np.random.Generator:
    return np.random.default_rng(_seed(seed, *parts))


def _chosen(
    asked: tuple[Any, ...] | None, available: list[Any], what: str, folder: Path
) -> list[Any]:
    if asked is None:
        return list(available)
    unknown = [value for value in asked if value not in available]
    if unknown:
        raise UsageError(
            f"{folder}: no {what} {', '.join(map(str, unknown))} in the store "
            f"(it has {', '.join(map(str, available))})"
        )
    return [value for value in available if value in asked]


def _check_options(options: TrainOptions) -> None:
    unknown = [t for t in options.targets if t not in TARGETS]
    if unknown or not options.targets:
        raise UsageError(f"targets {unknown or '(none)'}: choose from {', '.join(TARGETS)}")
    if options.folds < 2:
        raise UsageError(f"folds {options.folds}: at least 2")
    if options.C <= 0:
        raise UsageError(f"C {options.C}: must be positive")
    if options.permutations < 1:
        raise UsageError(f"permutations {options.permutations}: at least 1")
    if options.bootstrap < 0:
        raise UsageError(f"bootstrap {options.bootstrap}: must not be negative")
    bad = [by for by in options.transfer_by if by not in TRANSFER_KEYS]
    if bad:
        raise UsageError(f"transfer by {', '.join(bad)}: choose from {', '.join(TRANSFER_KEYS)}")


def _transfer_set(sets: list[LabelSet]) -> LabelSet:
    return next(s for s in sets if s.target == TRANSFER_TARGET and s.subset == "all")


def _transfer_keys(
    table: Any, sets: list[LabelSet], options: TrainOptions, notes: dict[str, None]
) -> list[tuple[str, np.ndarray, list[tuple[str, str]]]]:
    """Each key to transfer by: its value per store row and its ordered pairs of values."""
    if not options.transfer_by:
        return []
    if TRANSFER_TARGET not in options.targets:
        notes[f"transfer tests read the {TRANSFER_TARGET} target, which was not chosen"] = None
        return []
    labelled = _transfer_set(sets).rows
    found = []
    for by in dict.fromkeys(options.transfer_by):
        values = transfer_values(table, by)
        distinct = sorted(set(values[labelled]))
        if len(distinct) < 2:
            notes[f"transfer by {by}: one value ({', '.join(distinct) or 'none'}); none made"] = (
                None
            )
            continue
        pairs = [(a, b) for a in distinct for b in distinct if a != b]
        found.append((by, values, pairs))
    return found


def _write(
    out: Path,
    probes: Any,
    transfer: Any,
    run: _Run,
    folder: Path,
    model: str,
    options: TrainOptions,
    seconds: float,
) -> list[Path]:
    from safetensors.numpy import save_file

    out.mkdir(parents=True, exist_ok=True)
    files = [out / name for name in (PROBES_FILE, PROBE_TRANSFER_FILE)]
    # The model, in each table, so that the report can put its markers (the demo caveat) on them.
    probes.assign(model=model).to_csv(files[0], index=False)
    transfer.assign(model=model).to_csv(files[1], index=False)
    files.append(out / DIRECTIONS_FILE)
    save_file(run.vectors, str(files[-1]))
    files.append(out / DIRECTIONS_INDEX_FILE)
    files[-1].write_text(json.dumps(run.index, indent=1) + "\n", encoding="utf-8")
    settings = {
        "store": str(folder.resolve()),
        "model": model,
        "options": asdict(options),
        "seed": options.seed,
        "seconds": round(seconds, 2),
        "fits": run.counts.fits,
        "unconverged": run.counts.unconverged,
        "notes": list(run.notes),
    }
    files.append(out / SETTINGS_FILE)
    files[-1].write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    from aflab.report.probes import read_probe_run, save_probe_figures

    drawn = save_probe_figures(read_probe_run(out), out)
    return files + [out / f"{name}.png" for name in drawn]
