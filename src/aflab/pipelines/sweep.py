"""``aflab sweep``: one run per variation on identical queries, compared with the default.

The runs go through Inspect's ``eval_set``: concurrent, and resumable by running the same
command again (finished runs in the sweep's folder are kept). Each variation's gap is compared
with the default's on the same (query, epoch) pairs.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from inspect_ai import eval_set
from inspect_ai.log import EvalLog, read_eval_log
from inspect_ai.model import Model

from aflab.analysis.judged import DECIDED, judging_of, sample_bucket
from aflab.analysis.summary import summarize
from aflab.core.errors import UsageError
from aflab.core.stats import Z95
from aflab.eval.tasks import animal_welfare, helpful_only
from aflab.llm.retries import failure_line
from aflab.pipelines.interrupts import Interrupted, interruptible, received_signal
from aflab.pipelines.prepare import eval_settings, prepare
from aflab.prompts.variations import VARIATIONS, get_variation
from aflab.spec import RunSpec


@dataclass
class SweepResult:
    logs: dict[str, EvalLog]
    comparisons: list[dict[str, Any]]


def resolve_variations(names: str, setting: str) -> list[str]:
    if names == "all":
        chosen = [v.name for v in VARIATIONS if setting in v.settings]
    else:
        chosen = [get_variation(n.strip(), setting).name for n in names.split(",") if n.strip()]
    return ["default", *[n for n in chosen if n != "default"]]


def run_sweep(
    spec: RunSpec,
    variations: str = "all",
    model: Model | None = None,
    notes: list[str] | None = None,
) -> SweepResult:
    """One run of ``spec`` per variation (and the default), resumable as ``eval_set`` is.

    Args:
        spec: what every run shares (model, queries, judges, sampling, where logs go).
        variations: comma-separated names, or all (those of the spec's setting).
        model: a model object to use instead of ``spec.model`` (e.g. a scripted model).
        notes: collects what the user must be told (the embedded model's defaults).
    """
    if model is None:
        # The default's prompt is the reference: its worked examples stay even where the
        # embedded model's context is tight, so that no-examples still differs from it.
        spec = prepare(spec, [] if notes is None else notes, fit_examples=False)
    names = resolve_variations(variations, spec.setting)
    task = helpful_only if spec.setting == "helpful-only" else animal_welfare
    # The judge model reaches the judges as Inspect's "grader" role, with its limits.
    args = {k: v for k, v in spec.task_args("sweep").items() if k != "judge_model"}
    tasks = [task(**args, variation=name) for name in names]
    # A failed run ends the sweep rather than being retried by eval_set for hours (up to 10
    # times, waits doubling from 30 s): the model requests have bounded retries of their own.
    start = partial(
        eval_set,
        tasks,
        log_dir=spec.log_dir,
        model=model or spec.model,
        model_base_url=spec.model_base_url,
        display=spec.display,
        retry_attempts=0,
        **eval_settings(spec),
    )
    success, logs = interruptible(start, spec.display) or (False, [])
    # After a Ctrl-C, eval_set returns no logs and reports success (Inspect 0.3.285).
    if not logs or any(log.status == "cancelled" for log in logs):
        raise Interrupted(received_signal(), None)
    if not success:
        # eval_set returns headers only; the failed run's samples say which request failed.
        failed = next((log for log in logs if log.status == "error"), None)
        reason = failure_line(read_eval_log(failed.location)) if failed else None
        raise UsageError(
            f"the sweep did not finish{f' ({reason})' if reason else ''}; "
            f"run the same command to resume ({spec.log_dir})"
        )
    found = {str((log.eval.metadata or {}).get("variation")): log.location for log in logs}
    by_name = {name: read_eval_log(found[name]) for name in names}  # in the order asked
    return SweepResult(by_name, compare_to_default(by_name))


def sweep_progress(log_dir: str) -> list[str]:
    """One line per run in the sweep's folder: its variation, status and finished samples."""
    lines = []
    for path in sorted(Path(log_dir).glob("*.eval")):
        log = read_eval_log(str(path), header_only=True)
        variation = (log.eval.metadata or {}).get("variation") or "default"
        done = log.results.completed_samples if log.results else 0
        total = (log.results.total_samples if log.results else 0) or log.eval.dataset.samples
        lines.append(f"  {variation:<30}{done:>5} of {total} samples finished ({log.status})")
    return lines


def compare_to_default(logs: dict[str, EvalLog]) -> list[dict[str, Any]]:
    """Per variation: its gap minus the default's on shared pairs, with a 95% CI.

    Each (query, epoch) valid in all four samples gives d = (paid - free refusal) under the
    variation minus the same under the default; the CI is mean(d) +- z * sd / sqrt(n), and a
    Bonferroni-widened one for the number of comparisons.
    """
    base = _refusals(logs["default"])
    default_gap = _gap_pp(logs["default"])
    others = [name for name in logs if name != "default"]
    z_bonferroni = _z(0.05 / max(1, len(others)))
    rows = []
    for name in others:
        variant = _refusals(logs[name])
        shared = sorted(set(base) & set(variant))
        d = [(variant[k][0] - variant[k][1]) - (base[k][0] - base[k][1]) for k in shared]
        mean = sum(d) / len(d) if d else None
        se = _standard_error(d)
        rows.append(
            {
                "variation": name,
                "gap_pp": _gap_pp(logs[name]),
                "default_gap_pp": default_gap,
                "diff_pp": None if mean is None else 100 * mean,
                "ci95_pp": _interval(mean, se, Z95),
                "ci95_bonferroni_pp": _interval(mean, se, z_bonferroni),
                "n_shared_pairs": len(d),
                "n_comparisons": len(others),
            }
        )
    return rows


def _gap_pp(log: EvalLog) -> float | None:
    """The run's gap under the compliance rule it used (the judge's when it ran)."""
    summary = summarize(log)
    judged = summary["judged"]
    if judged and judged["compliance_rule"] == "judge":
        return judged["compliance_gap"]["pp"]
    return summary["compliance_gap"]["pp"]


def _refusals(log: EvalLog) -> dict[tuple[str, int], tuple[int, int]]:
    """(query, epoch) -> (paid refused, free refused), for pairs decided in both tiers."""
    rule, af = judging_of(name for s in log.samples or [] for name in (s.scores or {}))
    tiers: dict[tuple[str, int], dict[str, str]] = defaultdict(dict)
    for sample in log.samples or []:
        outcome, _ = sample_bucket(sample, rule, af)
        tiers[(str(sample.metadata["query_id"]), sample.epoch)][sample.metadata["tier"]] = outcome
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


def _z(alpha: float) -> float:
    """Two-sided normal quantile for ``alpha``, by bisection on erfc (no SciPy)."""
    low, high = 0.0, 10.0
    for _ in range(100):
        mid = (low + high) / 2
        low, high = (mid, high) if math.erfc(mid / math.sqrt(2)) > alpha else (low, mid)
    return (low + high) / 2


def format_sweep(result: SweepResult) -> str:
    lines = [f"{'variation':<30}{'gap pp':>8}{'vs default pp':>15}   95% CI (Bonferroni)   pairs"]
    for row in result.comparisons:
        gap = "n/a" if row["gap_pp"] is None else f"{row['gap_pp']:+.1f}"
        diff = "n/a" if row["diff_pp"] is None else f"{row['diff_pp']:+.1f}"
        ci, wide = row["ci95_pp"], row["ci95_bonferroni_pp"]
        interval = (
            "n/a"
            if ci is None
            else f"[{ci[0]:+.1f}, {ci[1]:+.1f}] ([{wide[0]:+.1f}, {wide[1]:+.1f}])"
        )
        pairs = row["n_shared_pairs"]
        lines.append(f"{row['variation']:<30}{gap:>8}{diff:>15}   {interval}   {pairs}")
    lines.append(comparison_note(len(result.comparisons)))
    return "\n".join(lines)


def comparison_note(count: int) -> str:
    """Why the Bonferroni interval is there; printed by ``aflab sweep`` and shown in the report."""
    return (
        f"{count} comparisons with the default: some 95% intervals will miss by chance; the "
        "Bonferroni intervals hold for all of them together."
    )
