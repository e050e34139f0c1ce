"""Runs as data: ``load(paths)`` gives one DataFrame row per run, ``samples`` one per sample.

These are what the report's tables, figures and transcript browser are drawn from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from inspect_ai.log import EvalLog, EvalSample, list_eval_logs
from rich.progress import track

from aflab.analysis.antilab_records import antilab_record
from aflab.analysis.facts import SampleFacts, facts_of
from aflab.analysis.judged import AF_YES, fact_bucket, judging_of
from aflab.analysis.logs import is_aflab_log, log_samples, read_log, run_id, scorer_names
from aflab.analysis.summary import summarize
from aflab.core.errors import UsageError
from aflab.core.parser import parse_transcript
from aflab.core.summary_types import (
    BucketBlock,
    ComplianceCounts,
    GapBlock,
    Interval,
    RunSummary,
    TierBlock,
)
from aflab.core.types import is_antilab
from aflab.prompts.template import PromptConfig, preset_changes

DEFAULT_PROMPT = PromptConfig().as_dict()


def read_logs(paths: Iterable[str | Path], skipped: list[str] | None = None) -> list[EvalLog]:
    """Every aflab log under ``paths``, read whole: those :func:`read_headers` finds. A log whose
    samples cannot be read is one more that raises, or is skipped with a note."""
    paths, notes = list(paths), list[str]()
    headers = _headers(paths, skipped, notes)
    progress = track(headers, "reading logs", disable=len(headers) < 5)
    logs = list(_readable((Path(h.location) for h in progress), False, skipped, notes).values())
    return _found(sorted(logs, key=created_order), paths, skipped, notes)


def read_headers(
    paths: Iterable[str | Path], skipped: list[str] | None = None, required: bool = True
) -> list[EvalLog]:
    """The header of every aflab log under ``paths`` (files or folders, each read once), oldest
    first; their samples are left to whoever reads them (``analysis.logs.log_samples``).

    Logs that are not aflab's (no setting in their metadata) are left out, and so is the partial
    log of a run that was resumed: its newer log holds the same samples and more. A log that
    cannot be read raises a UsageError naming it; given a ``skipped`` list, it is left out
    instead, and every log left out but a foreign one gets a line there saying why. Finding no
    log raises a UsageError unless ``required`` is false (the paths hold something else to
    report, an RL curve).
    """
    paths, notes = list(paths), list[str]()
    return _found(_headers(paths, skipped, notes), paths, skipped, notes, required)


def _headers(paths: list[str | Path], skipped: list[str] | None, notes: list[str]) -> list[EvalLog]:
    files: dict[Path, None] = {}
    for path in map(Path, paths):
        if path.is_dir():
            found = list_eval_logs(str(path), recursive=True)
            files |= dict.fromkeys(Path(info.name.removeprefix("file://")) for info in found)
        elif path.is_file():
            files[path] = None
        else:
            raise UsageError(f"{path}: no such file or folder")
    headers = _readable(dict.fromkeys(f.resolve() for f in files), True, skipped, notes)
    ours = {f: h for f, h in headers.items() if is_aflab_log(h)}
    for partial, newer in superseded(ours).items():
        del ours[partial]
        notes.append(f"{partial}: partial log of a run resumed in {newer.name}")
    return sorted(ours.values(), key=created_order)


def _found(
    logs: list[EvalLog],
    paths: list[str | Path],
    skipped: list[str] | None,
    notes: list[str],
    required: bool = True,
) -> list[EvalLog]:
    if skipped is not None:
        skipped += notes
    if not logs and required:
        nothing = f"no aflab logs found in {', '.join(map(str, paths))}"
        if notes:
            nothing += f": skipped {notes[0]}" + (f" and {len(notes) - 1} more" * bool(notes[1:]))
        raise UsageError(nothing)
    return logs


def _readable(
    files: Iterable[Path], header_only: bool, skipped: list[str] | None, notes: list[str]
) -> dict[Path, EvalLog]:
    read: dict[Path, EvalLog] = {}
    for file in files:
        try:
            read[file] = read_log(file, header_only=header_only)
        except UsageError as error:
            if skipped is None:
                raise
            notes.append(str(error))
    return read


def superseded(headers: dict[Path, EvalLog]) -> dict[Path, Path]:
    """Each unfinished log of a run that was resumed, with the newest log of that run.
    ``aflab run --resume`` (Inspect's eval_retry) writes a new log with the old one's task_id."""
    by_task: dict[str, list[Path]] = defaultdict(list)
    for file, header in headers.items():
        by_task[header.eval.task_id].append(file)
    replaced: dict[Path, Path] = {}
    for files in by_task.values():
        *older, newest = sorted(files, key=lambda f: created_order(headers[f]))
        replaced |= {f: newest for f in older if headers[f].status != "success"}
    return replaced


def created_order(log: EvalLog) -> tuple[str, float]:
    """Sort key, oldest first. ``created`` holds whole seconds, so runs started within one second
    fall back on when their file was last written (listing order would put the newest first)."""
    path = Path(log.location)
    return log.eval.created, path.stat().st_mtime if path.is_file() else 0.0


def load(paths: str | Path | Sequence[str | Path]) -> pd.DataFrame:
    """One row per run: model, setting, variation, per-tier refusals, gap, AF rates."""
    return runs_frame(read_logs([paths] if isinstance(paths, str | Path) else paths))


def runs_frame(logs: Sequence[EvalLog]) -> pd.DataFrame:
    """The runs of the helpful-only and animal-welfare tasks; anti-lab runs have their own table
    (``aflab.report.antilab``)."""
    return pd.DataFrame([run_row(log, summarize(log)) for log in logs if not is_antilab(log)])


def variation(log: EvalLog) -> str:
    """The prompt facts that differ from the default template, e.g. ``lab=OpenAI``; a preset
    (``--prompt minimal``) is named, with the facts that differ from it."""
    meta = log.eval.metadata or {}
    if meta.get("system_prompt_source", "template") != "template":
        return f"prompt file {Path(meta['system_prompt_source']).name}"
    config = meta.get("prompt_config") or {}
    if meta.get("setting") == "animal-welfare":  # logs from before self_tag always asked for it
        config = {"self_tag": True, **config}
    preset = meta.get("prompt") or "full"
    base = {**DEFAULT_PROMPT, **preset_changes(preset)}
    changed = [
        f"{key}={value}"
        for key, value in config.items()
        if key != "setting" and value != base.get(key)
    ]
    return ", ".join(([f"prompt={preset}"] if preset != "full" else []) + changed) or "default"


def run_row(log: EvalLog, summary: RunSummary) -> dict[str, Any]:
    """Counts, refusal rates and the gap follow the compliance rule in use (the judge's when it
    ran, ``compliance_rule``); the tag rule's gap is kept as ``tag_gap_*`` beside it."""
    judged = summary["judged"]
    rule = judged["compliance_rule"] if judged else "tag"
    row: dict[str, Any] = {
        "run": run_id(log),
        "log": log.location,
        "created": log.eval.created,
        "model": summary["model"],
        "setting": summary["setting"],
        "variation": variation(log),
        "scratchpad": summary["scratchpad"],
        "format_enforced": summary["format_enforced"],
        "epochs": summary["epochs"],
        "n_queries": summary["n_queries"],
        "status": summary["status"],
        "compliance_rule": rule,
        "af_judge": judged["af_judge"] if judged else None,
        "judge_models": ", ".join(judged["judge_usage"]) if judged else None,
        "self_judged": bool(judged and judged["self_judged"]),
    }
    for tier, tagged in summary["tiers"].items():
        block = judged["tiers"][tier] if judged else None
        row |= _refusal_columns(tier, tagged, block if rule == "judge" else None)
        af_lo, af_hi = bounds(block["af_rate_ci95"] if block else None)
        af_all_lo, af_all_hi = bounds(block["af_rate_all_ci95"] if block else None)
        row |= {
            f"{tier}_complied_af": block["complied_af"] if block else None,
            f"{tier}_complied_no_af": block["complied_no_af"] if block else None,
            f"{tier}_unscored": block["unscored"] if block else None,
            f"{tier}_af_rate": block["af_rate"] if block else None,
            f"{tier}_af_lo": af_lo,
            f"{tier}_af_hi": af_hi,
            f"{tier}_af_rate_all": block["af_rate_all"] if block else None,
            f"{tier}_af_all_lo": af_all_lo,
            f"{tier}_af_all_hi": af_all_hi,
        }
    by_judge = bool(judged and rule == "judge")
    row |= _gap_columns(
        "gap", judged["compliance_gap"] if judged and by_judge else summary["compliance_gap"]
    )
    row |= _gap_columns(
        "gap_all",
        judged["compliance_gap_all"] if judged and by_judge else summary["compliance_gap_all"],
    )
    row |= _gap_columns("tag_gap", summary["compliance_gap"])
    return row


def _refusal_columns(tier: str, tagged: TierBlock, judged: BucketBlock | None) -> dict[str, Any]:
    """One tier's counts and refusal rates: the compliance judge's when given, else the tag
    rule's (which leaves unscored only what it cannot score: animal-welfare without self-tag)."""
    block: BucketBlock | TierBlock = tagged if judged is None else judged
    counts: ComplianceCounts | TierBlock = tagged if judged is None else judged["compliance"]
    unscored = counts["unscored"]
    lo, hi = bounds(block["refusal_ci95"])
    all_lo, all_hi = bounds(block["refusal_all_ci95"])
    return {
        f"{tier}_n": tagged["n"],
        f"{tier}_refused": counts["refused"],
        f"{tier}_complied": counts["complied"],
        f"{tier}_invalid": counts["invalid"],
        f"{tier}_compliance_unscored": unscored,
        f"{tier}_refusal_rate": block["refusal_rate"],
        f"{tier}_refusal_lo": lo,
        f"{tier}_refusal_hi": hi,
        # The paper's: invalid samples counted as not complied.
        f"{tier}_refusal_rate_all": block["refusal_rate_all"],
        f"{tier}_refusal_all_lo": all_lo,
        f"{tier}_refusal_all_hi": all_hi,
    }


def _gap_columns(prefix: str, gap: GapBlock) -> dict[str, Any]:
    lo, hi = bounds(gap["ci95_pp"])
    return {
        f"{prefix}_pp": gap["pp"],
        f"{prefix}_lo_pp": lo,
        f"{prefix}_hi_pp": hi,
        f"{prefix}_mcnemar_p": gap["mcnemar_p"],
        f"{prefix}_pairs": gap["n_pairs"],
    }


def bounds(interval: Interval | None) -> tuple[float | None, float | None]:
    """An interval's low and high ends; (None, None) when there is none."""
    return (None, None) if not interval else (interval[0], interval[1])


def samples(log: EvalLog) -> list[dict[str, Any]]:
    """One record per sample, with everything the transcript browser shows; ``log`` is read
    whole, or a header whose samples are streamed from its file."""
    if is_antilab(log):
        return [antilab_record(log, sample) for sample in log_samples(log)]
    records: list[dict[str, Any]] = []
    stream_run(log, records.append)
    return records


def stream_run(log: EvalLog, record: Callable[[dict[str, Any]], object]) -> list[SampleFacts]:
    """Pass once over the samples of the run ``log`` (read whole, or a header: its samples are
    streamed from its file): each sample's browser record goes to ``record`` as it is made,
    and the samples' facts, all its summary needs (``summarize_facts``), are returned."""
    rule, af = judging_of(scorer_names(log))
    facts = []
    for sample in log_samples(log):
        fact = facts_of(sample, log.location)
        record(sample_record(log, sample, rule, af, fact))
        facts.append(fact)
    return facts


def sample_record(
    log: EvalLog, sample: EvalSample, rule: str, af: str | None, fact: SampleFacts | None = None
) -> dict[str, Any]:
    """The browser's record of ``sample`` under the judging of its log (``rule``, ``af``: from
    ``judging_of(scorer_names(log))``); ``fact``: its facts, if already made."""
    replies = [m.text for m in sample.messages if m.role == "assistant"]
    parsed = parse_transcript(replies)
    scores = sample.scores or {}
    fact = fact or facts_of(sample, log.location)
    outcome, reason = fact.outcome, fact.reason
    judged = af is not None or rule == "judge"
    compliance, bucket = fact_bucket(fact, rule, af) if judged else (outcome, outcome)
    af_score = scores.get(af) if af else None
    return {
        "run": run_id(log),
        "id": str(sample.id),
        "epoch": sample.epoch,
        "query_id": sample.metadata.get("query_id"),
        "tier": sample.metadata.get("tier"),
        "category": sample.metadata.get("category"),
        "query": sample.metadata.get("query"),
        "scratchpads": list(parsed.scratchpads),
        "output": parsed.output,
        "replies": replies,
        "outcome": compliance,
        "reason": reason,
        "bucket": bucket,
        "af_verdict": str(af_score.value) if af_score else None,
        "af_is_yes": bool(af_score and af and af_score.value in AF_YES[af]),
        "judges": {
            name: {
                "value": score.value,
                "explanation": score.explanation,
                "metadata": score.metadata or {},
            }
            for name, score in scores.items()
        },
    }
