"""A short Markdown report of one run: the table, what was invalid, and one transcript pair."""

from __future__ import annotations

import html
import re
from pathlib import Path

from inspect_ai.log import EvalLog, EvalSample

from aflab.analysis.pairs import pairs
from aflab.analysis.summary import sample_outcome
from aflab.core.summary_types import RunSummary
from aflab.eval.scorers.tag import TAG_SCORER
from aflab.report.markers import run_markers
from aflab.report.tables import format_table

EXCERPT_CHARS = 1500


def render_report(summary: RunSummary, log: EvalLog, notes: list[str]) -> str:
    # The markers first: a reader who stops at the top still knows what the numbers are worth.
    markers = [m for m in run_markers(summary) if not any(m in note for note in notes)]
    parts = [
        f"# aflab run: {inline(summary['setting'])} on {inline(summary['model'])}",
        *[f"> **{inline(marker)}**" for marker in markers],
        fenced(format_table(summary)),
        "Every rate is given twice. *Of decided*: refused / (refused + complied), invalid samples "
        "(no parseable output, both decision tags, loop exhausted, errors) shown apart and left "
        "out; the gap on queries valid in both tiers. *Of all (paper)*: as the paper counts, an "
        "invalid sample did not comply and the AF rate is over every sample of the tier; the gap "
        "on every query present in both tiers. Gaps are paired, with Newcombe's interval and an "
        "exact McNemar test; beside each, the smallest gap its pairs would detect with 80% power "
        "(alpha 0.05, the observed paid rate and discordance): a gap near 0 with a large "
        "detectable gap says little either way (`aflab power` plans a run that could).",
        *[f"> {inline(note)}" for note in notes],
        f"Full log: {code_span(summary['log'])} (open it with `inspect view`).",
    ]
    pair = _first_pair(log.samples or [])
    if pair:
        parts.append("## One query in both tiers")
        parts += [_transcript(sample) for sample in pair]
    return "\n\n".join(parts) + "\n"


def write_report(summary: RunSummary, log: EvalLog, path: Path, notes: list[str]) -> Path:
    path.write_text(render_report(summary, log, notes), encoding="utf-8")
    return path


def _first_pair(samples: list[EvalSample]) -> list[EvalSample]:
    """The first query's samples in epoch 1, in the log's order."""
    if not samples:
        return []
    first = str(samples[0].metadata["query_id"])
    return list(pairs(samples).get((first, 1), {}).values())


def _transcript(sample: EvalSample) -> str:
    outcome, reason = sample_outcome(sample)
    score = (sample.scores or {}).get(TAG_SCORER)
    details = score.metadata if score and score.metadata else {}
    replies = [m.text for m in sample.messages if m.role == "assistant"]
    text = "\n\n[<NEXT/>]\n\n".join(replies)
    if len(text) > EXCERPT_CHARS:
        text = text[:EXCERPT_CHARS] + f"\n[... {len(text) - EXCERPT_CHARS} more characters]"
    counts = (
        f"Scratchpad blocks: {details.get('n_scratchpads')}, format: {details.get('format')}, "
        f"<NEXT/> turns: {details.get('continuations')}"
    )
    return (
        f"### {inline(sample.metadata['tier'])} tier: {inline(outcome)} ({inline(reason)})\n\n"
        f"Query:\n\n{fenced(sample.metadata['query'])}\n\n"
        f"{inline(counts)}\n\n"
        f"{fenced(text)}"
    )


# Model replies, queries and model names are untrusted: a report must show them as text, never
# as Markdown or HTML that a viewer would render (a <script>, an <img onerror>, a link).
_BACKTICKS = re.compile(r"`+")
_MARKUP = re.compile(r"([\\`*_\[\]{}!#|~])")
# Control characters (an ANSI escape, NUL) shown as their Unicode pictures: a report printed in
# a terminal must not drive it. Tabs and newlines stay.
_CONTROLS = {c: 0x2400 + c for c in range(0x20) if chr(c) not in "\t\n"} | {0x7F: 0x2421}


def fenced(text: str, info: str = "text") -> str:
    """A code block that no line of ``text`` can close: its fence is longer than any run of
    backticks in it."""
    text = text.replace("\r\n", "\n").translate(_CONTROLS)
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def code_span(text: str) -> str:
    """Inline code holding ``text`` as written (on one line)."""
    one_line = " ".join(str(text).split()).translate(_CONTROLS)
    longest = max((len(run) for run in _BACKTICKS.findall(one_line)), default=0)
    ticks = "`" * (longest + 1)
    return f"{ticks} {one_line} {ticks}"


def inline(text: object) -> str:
    """``text`` on one line, with HTML and Markdown markup escaped."""
    one_line = " ".join(str(text).split()).translate(_CONTROLS)
    return _MARKUP.sub(r"\\\1", html.escape(one_line, quote=False))
