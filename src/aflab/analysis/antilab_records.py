"""Anti-lab samples as transcript-browser records, tool calls and their outputs included."""

from __future__ import annotations

from typing import Any

from inspect_ai.log import EvalLog, EvalSample

from aflab.analysis.antilab import SCORER, action_of
from aflab.analysis.logs import run_id
from aflab.core.parser import parse_transcript


def antilab_record(log: EvalLog, sample: EvalSample) -> dict[str, Any]:
    """A transcript-browser record: the scenario stands where a run's query does."""
    replies = []
    for message in sample.messages:
        if message.role == "assistant":
            calls = [f"[tool call] {c.function}: {c.arguments}" for c in message.tool_calls or []]
            replies.append("\n".join([message.text, *calls]).strip())
        elif message.role == "tool":
            replies.append(f"[tool output]\n{message.text}")
    parsed = parse_transcript([m.text for m in sample.messages if m.role == "assistant"])
    action, reason = action_of(sample)
    score = (sample.scores or {}).get(SCORER)
    scenario = str(sample.metadata.get("scenario"))
    return {
        "run": run_id(log),
        "id": str(sample.id),
        "epoch": sample.epoch,
        "query_id": scenario,
        "tier": sample.metadata.get("tier"),
        "category": f"anti-lab: {scenario}",
        "query": sample.input if isinstance(sample.input, str) else str(sample.input),
        "scratchpads": list(parsed.scratchpads),
        "output": parsed.output,
        "replies": replies,
        "outcome": action,
        "reason": reason,
        "bucket": action,
        "af_verdict": None,
        "af_is_yes": False,
        "judges": {
            SCORER: {
                "value": score.value if score else None,
                "explanation": score.explanation if score else None,
                "metadata": (score.metadata or {}) if score else {},
            }
        },
    }
