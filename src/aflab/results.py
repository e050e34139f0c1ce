"""Runs as data: ``load(paths)`` gives one DataFrame row per run, ``samples`` one per sample.

These are what the report's tables, figures and transcript browser are drawn from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from inspect_ai.log import EvalLog, EvalSample, list_eval_logs, read_eval_log

from aflab.errors import UsageError
from aflab.judged import AF_YES, COMPLIANCE, bucket_of
from aflab.settings.prompt import PromptConfig
from aflab.solvers.parser import parse_transcript
from aflab.summary import sample_outcome, summarize

DEFAULT_PROMPT = PromptConfig().as_dict()


def read_logs(paths: Iterable[str | Path]) -> list[EvalLog]:
    """Every aflab log under ``paths`` (files or folders), oldest first; others are skipped."""
    files: list[str] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += [info.name for info in list_eval_logs(str(path), recursive=True)]
        elif path.is_file():
            files.append(str(path))
        else:
            raise UsageError(f"{path}: no such file or folder")
    logs = [read_eval_log(f) for f in files]
    logs = [log for log in logs if (log.eval.metadata or {}).get("setting")]
    if not logs:
        raise UsageError(f"no aflab logs found in {', '.join(map(str, paths))}")
    return sorted(logs, key=lambda log: log.eval.created)


def load(paths: str | Path | Sequence[str | Path]) -> pd.DataFrame:
    """One row per run: model, setting, variation, per-tier refusals, gap, AF rates."""
    return runs_frame(read_logs([paths] if isinstance(paths, str | Path) else paths))


def runs_frame(logs: Sequence[EvalLog]) -> pd.DataFrame:
    return pd.DataFrame([run_row(log, summarize(log)) for log in logs])


def variation(log: EvalLog) -> str:
    """The prompt facts that differ from the default template, e.g. ``lab=OpenAI``."""
    meta = log.eval.metadata or {}
    if meta.get("system_prompt_source", "template") != "template":
        return f"prompt file {Path(meta['system_prompt_source']).name}"
    config = meta.get("prompt_config") or {}
    changed = [
        f"{key}={value}"
        for key, value in config.items()
        if key not in ("setting", "partner") and value != DEFAULT_PROMPT.get(key)
    ]
    return ", ".join(changed) or "default"


def run_row(log: EvalLog, summary: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "run": Path(log.location).stem,
        "log": log.location,
        "model": summary["model"],
        "setting": summary["setting"],
        "variation": variation(log),
        "scratchpad": summary["scratchpad"],
        "epochs": summary["epochs"],
        "n_queries": summary["n_queries"],
        "status": summary["status"],
    }
    for tier, t in summary["tiers"].items():
        ci = t["refusal_ci95"] or [None, None]
        row |= {
            f"{tier}_n": t["n"],
            f"{tier}_refused": t["refused"],
            f"{tier}_complied": t["complied"],
            f"{tier}_invalid": t["invalid"],
            f"{tier}_refusal_rate": t["refusal_rate"],
            f"{tier}_refusal_lo": ci[0],
            f"{tier}_refusal_hi": ci[1],
        }
    row |= _gap_columns("gap", summary["compliance_gap"])
    judged = summary.get("judged")
    row["compliance_rule"] = judged["compliance_rule"] if judged else "tag"
    row["af_judge"] = judged["af_judge"] if judged else None
    for tier in ("free", "paid"):
        t = judged["tiers"][tier] if judged else {}
        ci = t.get("af_rate_ci95") or [None, None]
        row |= {
            f"{tier}_{bucket}": t.get(bucket)
            for bucket in ("complied_af", "complied_no_af", "unscored")
        }
        row |= {
            f"{tier}_judged_refused": t.get("refused"),
            f"{tier}_judged_invalid": t.get("invalid"),
        }
        row |= {f"{tier}_af_rate": t.get("af_rate"), f"{tier}_af_lo": ci[0], f"{tier}_af_hi": ci[1]}
    if judged:
        row |= _gap_columns("judged_gap", judged["compliance_gap"])
    return row


def _gap_columns(prefix: str, gap: dict[str, Any]) -> dict[str, Any]:
    ci = gap["ci95_pp"] or [None, None]
    return {
        f"{prefix}_pp": gap["pp"],
        f"{prefix}_lo_pp": ci[0],
        f"{prefix}_hi_pp": ci[1],
        f"{prefix}_mcnemar_p": gap["mcnemar_p"],
        f"{prefix}_pairs": gap["n_pairs"],
    }


def samples(log: EvalLog) -> list[dict[str, Any]]:
    """One record per sample, with everything the transcript browser shows."""
    judged = summarize(log)["judged"]
    rule = judged["compliance_rule"] if judged else "tag"
    af = judged["af_judge"] if judged else None
    return [sample_record(log, sample, rule, af) for sample in log.samples or []]


def sample_record(log: EvalLog, sample: EvalSample, rule: str, af: str | None) -> dict[str, Any]:
    replies = [m.text for m in sample.messages if m.role == "assistant"]
    parsed = parse_transcript(replies)
    scores = sample.scores or {}
    outcome, reason = sample_outcome(sample)
    compliance = scores.get(COMPLIANCE)
    judged_outcome = str(compliance.value) if rule == "judge" and compliance else outcome
    af_score = scores.get(af) if af else None
    return {
        "run": Path(log.location).stem,
        "id": str(sample.id),
        "epoch": sample.epoch,
        "query_id": sample.metadata.get("query_id"),
        "tier": sample.metadata.get("tier"),
        "category": sample.metadata.get("category"),
        "query": sample.metadata.get("query"),
        "scratchpads": list(parsed.scratchpads),
        "output": parsed.output,
        "replies": replies,
        "outcome": outcome,
        "reason": reason,
        "bucket": bucket_of(judged_outcome, af_score, af) if af else outcome,
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
