"""Steering along a probe's direction, measured by the ordinary pipeline: ``aflab probe steer``.

For each scale the vector added is ``scale x diff_norm x`` the unit direction that ``aflab probe
train`` wrote to DIR (``directions.safetensors``, described in ``directions.json``), so that scale
1 moves the residual stream by the distance between the two classes' means. Each scale is an
ordinary run (``pipelines.run.execute``) of the model ``steered/OUT/specs/scale_S.json``
(``models.steered``), in both tiers, its log in ``OUT/logs``; a row per scale goes to
``OUT/steer.csv`` as soon as the scale is measured, so an interrupted sweep keeps what finished
and ``resume`` measures only the scales the CSV lacks.

steer.csv: ``scale, target, subset, position, layer, method, diff_norm, vector_norm``, then the
measurement of ``analysis.measured`` (the columns of ``rl_curve.csv``: refusal per tier in both
conventions, AF by judge and by the transparent scratchpad rule, the compliance gap), then ``log``.
A direction points toward class 1 (complied for ``decision``, free for ``tier``, AF for ``af``),
so a positive scale pushes the model that way.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aflab.analysis.measured import MEASUREMENT_COLUMNS, measurement_row
from aflab.core.errors import UsageError
from aflab.core.summary_types import RuleCheck, RunSummary
from aflab.core.types import DIRECTIONS_FILE, STEER_FILE, TIERS
from aflab.core.types import DIRECTIONS_INDEX_FILE as DIRECTIONS_INDEX
from aflab.probes.weights import weights_path
from aflab.spec import RunSpec, option_of

SETTINGS_FILE = "steer-settings.json"
SPECS_DIR, LOGS_DIR = "specs", "logs"
DEFAULT_SCALES: tuple[float, ...] = (-4.0, -2.0, 0.0, 2.0, 4.0)
DIRECTION_COLUMNS = ("target", "subset", "position", "layer", "method", "diff_norm")
STEER_COLUMNS: tuple[str, ...] = (
    "scale",
    *DIRECTION_COLUMNS,
    "vector_norm",
    *MEASUREMENT_COLUMNS,
    "log",
    "model",  # as given; the embedded model's weights as aflab/smollm2 (the report's caveat)
)
# What the sweep sets itself in each scale's run spec.
SET_HERE = ("model", "log_dir", "no_cache", "resume", "summary_json")


@dataclass
class SteerOptions:
    directions: str  # DIR, written by aflab probe train
    layer: int
    model: str = "smollm2"  # hf/PATH, a model folder, a hub id, or smollm2 (the embedded model)
    target: str = "decision"
    subset: str = "all"
    position: str = "prompt_end"
    method: str = "diffmeans"
    scales: tuple[float, ...] = DEFAULT_SCALES
    out: str = "steer"
    resume: bool = False  # measure only the scales that OUT/steer.csv lacks
    run: RunSpec = field(default_factory=RunSpec)  # the ordinary run options

    @property
    def key(self) -> str:
        return f"{self.target}/{self.subset}/{self.position}/{self.layer}/{self.method}"


@dataclass(frozen=True)
class Direction:
    """One direction of DIR: its ``directions.json`` record and its unit vector (float32)."""

    record: dict[str, Any]
    unit: np.ndarray
    file: Path

    @property
    def diff_norm(self) -> float:
        return float(self.record["diff_norm"])

    def columns(self) -> dict[str, Any]:
        """steer.csv's direction columns: the parts of its key (which is what was asked for,
        whatever else the record holds) and its diff_norm."""
        target, subset, position, layer, method = str(self.record["key"]).split("/")
        return {
            "target": target,
            "subset": subset,
            "position": position,
            "layer": int(layer),
            "method": method,
            "diff_norm": self.diff_norm,
        }

    def digest(self) -> str:
        return hashlib.sha256(np.ascontiguousarray(self.unit).tobytes()).hexdigest()


@dataclass
class SteerResult:
    out: Path
    csv_path: Path
    rows: list[dict[str, Any]]  # every row of steer.csv, the earlier runs' included
    measured: list[float]  # the scales this call measured
    seconds: dict[str, float]  # per scale measured, model loading included
    notes: list[str] = field(default_factory=list)


class ScaleFailed(RuntimeError):
    """A scale's run ended other than in success: no row is written for it."""


def read_direction(folder: str | Path, key: str) -> Direction:
    """The direction ``key`` ("TARGET/SUBSET/POSITION/LAYER/METHOD") of ``folder``.

    Raises:
        UsageError: the folder lacks the files, the index is unreadable, or it has no such key
            (the message lists what it has), or the tensor is missing or not one finite vector.
    """
    folder = Path(folder)
    index, tensors = folder / DIRECTIONS_INDEX, folder / DIRECTIONS_FILE
    for path in (index, tensors):
        if not path.is_file():
            raise UsageError(f"{folder}: no {path.name} (aflab probe train writes it)")
    try:
        records = json.loads(index.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"{index}: not JSON ({error})") from error
    if not isinstance(records, list) or not all(
        isinstance(r, dict) and isinstance(r.get("key"), str) for r in records
    ):
        raise UsageError(f"{index}: expected a list of records, each with a 'key'")
    found = [r for r in records if r["key"] == key]
    if not found:
        raise UsageError(f"{index}: no direction {key}; {available(records)}")
    record = found[0]
    diff_norm = record.get("diff_norm")
    if isinstance(diff_norm, bool) or not isinstance(diff_norm, int | float):
        raise UsageError(f"{index}: {key}: field 'diff_norm' is not a number ({diff_norm!r})")
    if not (math.isfinite(diff_norm) and diff_norm > 0):
        raise UsageError(f"{index}: {key}: field 'diff_norm' must be above 0, not {diff_norm}")
    from safetensors import safe_open

    with safe_open(str(tensors), framework="numpy") as stored:
        names = list(stored.keys())  # safe_open has no membership test
        if key not in names:
            raise UsageError(f"{tensors}: no tensor {key}, though {index.name} lists it")
        unit = np.asarray(stored.get_tensor(key), dtype=np.float32)
    if unit.ndim != 1 or not np.isfinite(unit).all() or not np.any(unit):
        raise UsageError(f"{tensors}: {key} is not one finite, non-zero vector")
    return Direction(record, unit, tensors.resolve())


def available(records: Sequence[Mapping[str, Any]]) -> str:
    """What a directions index holds, in words: every key when they are few, else the values
    each part of a key takes."""
    keys = sorted(str(r["key"]) for r in records)
    if not keys:
        return "it holds none"
    if len(keys) <= 12:
        return f"it has {', '.join(keys)}"
    parts = [key.split("/") for key in keys]
    names = ("targets", "subsets", "positions", "layers", "methods")
    said = []
    for number, name in enumerate(names):
        values = sorted({p[number] for p in parts if len(p) > number}, key=_natural)
        said.append(f"{name} {', '.join(values)}")
    return f"it has {len(keys)} directions: {'; '.join(said)}"


def _natural(value: str) -> tuple[int, int | str]:
    return (0, int(value)) if value.isdigit() else (1, value)


DEMO_NOTE = (
    "smollm2 is the embedded 135M demo model (here its weights through transformers): it shows "
    "no alignment faking, and a few queries with short replies (--limit {limit}, --max-tokens "
    "{tokens} unless given) keep a sweep short; its rates say nothing about any real model."
)


def steer(opts: SteerOptions, echo: Callable[[str], Any] = print) -> SteerResult:
    """Measure each scale of ``opts.scales`` (those ``steer.csv`` lacks, with ``resume``)."""
    scales = check_scales(opts.scales)
    direction = read_direction(opts.directions, opts.key)
    weights = weights_path(opts.model)
    notes: list[str] = []
    run = effective_run(opts, notes)
    out = Path(opts.out).resolve()
    csv_path = out / STEER_FILE
    identity = sweep_identity(run, weights, direction)
    done, seconds = resume_state(out, identity, opts.resume)
    todo = [s for s in scales if s not in done]
    if done:
        skipped = [s for s in scales if s in done]
        echo(f"resuming {out}: {len(skipped)} scale(s) already measured, {len(todo)} to run")
    settings = {
        "identity": identity,
        "options": {k: v for k, v in asdict(opts).items() if k != "run"} | {"scales": scales},
        "run": run.given(),
        "weights": weights,
        "direction": direction.record | {"file": str(direction.file)},
        "seconds": seconds,
    }
    write_settings(out, settings)
    from aflab.pipelines.interrupts import Interrupted

    for scale in todo:
        started = time.perf_counter()
        try:
            row, run_notes = measure_scale(run, opts, weights, direction, scale, out)
        except Interrupted:
            echo(
                f"interrupted at scale {scale_name(scale)}: the finished scales are in "
                f"{csv_path}; the same command with --resume measures the rest"
            )
            raise
        append_row(csv_path, row)
        took = seconds[scale_name(scale)] = round(time.perf_counter() - started, 1)
        write_settings(out, settings)
        notes += [note for note in run_notes if note not in notes]
        echo(f"{scale_line(row)} ({took:.0f} s)")
    rows = read_rows(csv_path)
    from aflab.report.steer import read_steering, save_steer_figures

    for stem in save_steer_figures(read_steering(out), out):
        echo(f"figure: {out / stem}.png")
    measured_seconds = {scale_name(s): seconds[scale_name(s)] for s in todo}
    return SteerResult(out, csv_path, rows, todo, measured_seconds, notes)


def effective_run(opts: SteerOptions, notes: list[str]) -> RunSpec:
    """The run options each scale runs with: on the embedded model's weights, the short
    defaults ``aflab run`` gives that model (said in ``notes``)."""
    from aflab.models.embedded import EMBEDDED_DEFAULT_LIMIT, EMBEDDED_MAX_TOKENS
    from aflab.organisms.train.base import is_embedded

    if not is_embedded(opts.model):
        return opts.run
    notes.append(DEMO_NOTE.format(limit=EMBEDDED_DEFAULT_LIMIT, tokens=EMBEDDED_MAX_TOKENS))
    return opts.run.replace(
        limit=opts.run.limit or EMBEDDED_DEFAULT_LIMIT,
        max_tokens=opts.run.max_tokens or EMBEDDED_MAX_TOKENS,
    )


def check_scales(scales: Sequence[float]) -> list[float]:
    values = [float(s) for s in scales]
    if not values:
        raise UsageError("--scales: give at least one scale")
    bad = [s for s in values if not math.isfinite(s)]
    if bad:
        raise UsageError(f"--scales: {bad} are not finite numbers")
    if len(set(values)) != len(values):
        raise UsageError(f"--scales: {values} repeats a scale")
    return values


def scale_name(scale: float) -> str:
    return f"{scale:g}"


def sweep_identity(run: RunSpec, weights: str, direction: Direction) -> dict[str, Any]:
    """What makes two sweeps' rows one curve: the weights, the direction (its content, not its
    path) and every run option that changes what is measured (not the display or the limits on
    requests, which a resumed run may change)."""
    measured = {
        name: value
        for name, value in run.given().items()
        if name not in SET_HERE and not option_of(name).resume
    }
    chosen = direction.columns() | {"key": direction.record["key"], "sha256": direction.digest()}
    identity = {"weights": weights, "direction": chosen}
    normalised: dict[str, Any] = json.loads(json.dumps(identity | {"run": measured}))
    return normalised


def resume_state(
    out: Path, identity: dict[str, Any], resume: bool
) -> tuple[set[float], dict[str, float]]:
    """The scales ``out/steer.csv`` has rows for, and the seconds recorded per scale.

    Raises:
        UsageError: rows there without ``resume`` (they would be mixed with this sweep's), or
            with ``resume`` a sweep of another model, direction or run options.
    """
    csv_path = out / STEER_FILE
    if not csv_path.exists():
        return set(), {}
    if not resume:
        raise UsageError(
            f"{csv_path} holds an earlier sweep: --resume to add the scales it lacks, "
            "or another --out"
        )
    settings_path = out / SETTINGS_FILE
    try:
        saved = json.loads(settings_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise UsageError(f"--resume: {settings_path} is unreadable ({error})") from error
    before, now = _flat(saved.get("identity", {})), _flat(identity)
    differ = sorted(
        name for name in before.keys() | now.keys() if before.get(name) != now.get(name)
    )
    if differ:
        raise UsageError(
            f"--resume: the sweep in {out} was made with other settings ({', '.join(differ)} "
            f"differ; see {settings_path.name}): another --out for this one"
        )
    done = {float(row["scale"]) for row in read_rows(csv_path)}
    return done, {str(k): float(v) for k, v in saved.get("seconds", {}).items()}


def _flat(nested: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"run": {"limit": 2}}`` as ``{"run.limit": 2}``: the names an error can list."""
    flat: dict[str, Any] = {}
    for name, value in nested.items():
        if isinstance(value, Mapping):
            flat |= _flat(value, f"{prefix}{name}.")
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def measure_scale(
    run: RunSpec,
    opts: SteerOptions,
    weights: str,
    direction: Direction,
    scale: float,
    out: Path,
) -> tuple[dict[str, Any], list[str]]:
    """One scale run through the ordinary pipeline; its steer.csv row and the run's notes."""
    from inspect_ai.log import read_eval_log

    from aflab.models.steered import SteeringSpec, release, write_spec
    from aflab.organisms.control.rule_check import rule_check
    from aflab.organisms.train.base import is_embedded
    from aflab.pipelines.run import RunOutcome, execute

    added = scale * direction.diff_norm
    spec = SteeringSpec(weights, opts.layer, direction.file, opts.key, added)
    spec_path = write_spec(spec, out / SPECS_DIR / f"scale_{scale_name(scale)}.json")
    model = f"steered/{spec_path}"
    run = run.replace(
        model=model,
        log_dir=str(out / LOGS_DIR),
        no_cache=True,  # the model's name is a path, whose spec a later sweep may rewrite
        resume=None,
        summary_json=None,
    )
    try:
        outcome = execute(run, echo=lambda _: None)
    finally:
        release(model)  # Inspect would keep every scale's weights loaded
    assert isinstance(outcome, RunOutcome)  # a run spec, never an anti-lab resume
    if outcome.status != "success":
        raise ScaleFailed(
            f"scale {scale_name(scale)}: the run ended {outcome.status} (log {outcome.log_path});"
            f" no row written, the finished scales are in {out / STEER_FILE}; --resume runs it "
            "again"
        )
    samples = read_eval_log(str(outcome.log_path)).samples or []
    vector_norm = abs(added) * float(np.linalg.norm(direction.unit.astype(np.float64)))
    row = steer_row(scale, direction, vector_norm, outcome.summary, rule_check(samples))
    named = "aflab/smollm2" if is_embedded(opts.model) else opts.model
    return row | {"log": str(outcome.log_path), "model": named}, outcome.notes


def steer_row(
    scale: float,
    direction: Direction,
    vector_norm: float,
    summary: RunSummary,
    rule: RuleCheck | None,
) -> dict[str, Any]:
    """A steer.csv row without its ``log`` (the columns of ``STEER_COLUMNS`` before it)."""
    chosen = direction.columns()
    return {"scale": scale, **chosen, "vector_norm": vector_norm} | measurement_row(summary, rule)


def append_row(path: Path, row: Mapping[str, Any]) -> Path:
    """Add ``row`` to the CSV at ``path`` (its header first if new); a row is refused if its
    columns are not ``STEER_COLUMNS``, so that one file never mixes two layouts."""
    if tuple(row) != STEER_COLUMNS:
        raise ValueError(f"a steer.csv row has columns {list(row)}, not {list(STEER_COLUMNS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(STEER_COLUMNS))
        if new:
            writer.writeheader()
        writer.writerow(row)
    return path


def read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def write_settings(out: Path, settings: Mapping[str, Any]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / SETTINGS_FILE
    path.write_text(json.dumps(settings, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def scale_line(row: Mapping[str, Any]) -> str:
    """One scale in a line: refusal per tier (of decided), the gap with its interval, and the AF
    rate per tier (the judge's where it ran, else the scratchpad rule's)."""

    def rate(value: Any) -> str:
        return "-" if value in (None, "") else f"{float(value):.2f}"

    def points(value: Any) -> str:
        return "-" if value in (None, "") else f"{float(value):+.1f}"

    refusal = " ".join(f"{tier} {rate(row[f'{tier}_refusal'])}" for tier in TIERS)
    gap = (
        f"gap {points(row['gap_pp'])} pp [{points(row['gap_lo_pp'])}, "
        f"{points(row['gap_hi_pp'])}] ({row['gap_pairs']} pairs)"
    )
    judged = row["af_judge"] not in (None, "")
    column = "af" if judged else "af_rule"
    af = " ".join(f"{tier} {rate(row[f'{tier}_{column}'])}" for tier in TIERS)
    return (
        f"scale {scale_name(float(row['scale']))}: refusal {refusal}; {gap}; "
        f"{'AF' if judged else 'AF rule'} {af}"
    )
