"""A short Markdown report of one run: the table, what was invalid, and one transcript pair."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inspect_ai.log import EvalLog, EvalSample

from aflab.report.tables import format_table
from aflab.scorers.tag import TAG_SCORER
from aflab.summary import sample_outcome

EXCERPT_CHARS = 1500


def render_report(summary: dict[str, Any], log: EvalLog, notes: list[str]) -> str:
    parts = [
        f"# aflab run: {summary['setting']} on {summary['model']}",
        "```text\n" + format_table(summary) + "\n```",
        "Refusal rates count refused / (refused + complied); invalid samples (no parseable "
        "output, both decision tags, loop exhausted, errors) are shown apart and left out of "
        "the rates. The gap uses only queries valid in both tiers (paired), with Newcombe's "
        "interval and an exact McNemar test.",
        *[f"> {note}" for note in notes],
        f"Full log: `{summary['log']}` (open it with `inspect view`).",
    ]
    pair = _first_pair(log.samples or [])
    if pair:
        parts.append("## One query in both tiers")
        parts += [_transcript(sample) for sample in pair]
    return "\n\n".join(parts) + "\n"


def write_report(summary: dict[str, Any], log: EvalLog, path: Path, notes: list[str]) -> Path:
    path.write_text(render_report(summary, log, notes), encoding="utf-8")
    return path


def _first_pair(samples: list[EvalSample]) -> list[EvalSample]:
    if not samples:
        return []
    first = samples[0].metadata["query_id"]
    return [s for s in samples if s.metadata["query_id"] == first and s.epoch == 1]


def _transcript(sample: EvalSample) -> str:
    outcome, reason = sample_outcome(sample)
    score = (sample.scores or {}).get(TAG_SCORER)
    details = score.metadata if score and score.metadata else {}
    replies = [m.text for m in sample.messages if m.role == "assistant"]
    text = "\n\n[<NEXT/>]\n\n".join(replies)
    if len(text) > EXCERPT_CHARS:
        text = text[:EXCERPT_CHARS] + f"\n[... {len(text) - EXCERPT_CHARS} more characters]"
    return (
        f"### {sample.metadata['tier']} tier: {outcome} ({reason})\n\n"
        f"Query: {sample.metadata['query']}\n\n"
        f"Scratchpad blocks: {details.get('n_scratchpads')}, format: {details.get('format')}, "
        f"<NEXT/> turns: {details.get('continuations')}\n\n"
        f"````text\n{text}\n````"
    )
