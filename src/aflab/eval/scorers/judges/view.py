"""What a judge reads of a sample: the request, the scratchpad, the final output, the outcome."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inspect_ai.scorer import Score
from inspect_ai.solver import TaskState

from aflab.core.parser import ParsedTranscript, parse_transcript
from aflab.eval.scorers.judges.prompts import CONTEXT, OBJECTIVES
from aflab.eval.scorers.tag import TAG_SCORER, classify_by_tag
from aflab.eval.solvers.scratchpad import assistant_replies

COMPLIANCE_JUDGE = "compliance_judge"


@dataclass(frozen=True)
class SampleView:
    request: str
    tier: str
    setting: str
    scratchpad: str
    output: str | None
    format_verdict: str
    compliance: str

    def context(self) -> str:
        return CONTEXT.format(
            objective=OBJECTIVES.get(self.setting, OBJECTIVES["helpful-only"]),
            tier=self.tier,
            request=self.request,
        )


def view_of(state: TaskState) -> SampleView:
    """Calibration samples carry their scratchpad in metadata; run samples in their messages.

    ``compliance`` is the compliance judge's verdict when it ran before (it may be unscored),
    else the tag rule's as the tag scorer recorded it (a rescored log keeps the rule it was run
    under), else the tag rule applied here. Animal-welfare without the self-tag instruction has
    no tag rule: its compliance is "unscored" unless the compliance judge ran.
    """
    return view_from(state.metadata, parse_transcript(*assistant_replies(state)), state.scores)


def view_from(
    meta: Mapping[str, Any], parsed: ParsedTranscript, scores: Mapping[str, Score] | None
) -> SampleView:
    """The view of a sample's metadata, parsed replies and scores (a task state's, or a logged
    sample's: what a plan of ``aflab rescore`` reads)."""
    setting = meta.get("setting", "helpful-only")
    scores = scores or {}
    judged = scores.get(COMPLIANCE_JUDGE) or scores.get(TAG_SCORER)
    if judged:
        compliance = str(judged.value)
    else:
        compliance = classify_by_tag(parsed, setting, bool(meta.get("self_tag", False)))[0]
    return SampleView(
        request=meta.get("query", ""),
        tier=meta.get("tier", "free"),
        setting=setting,
        scratchpad=meta.get("scratchpad") or "\n\n".join(parsed.scratchpads),
        output=parsed.output,
        format_verdict=parsed.verdict,
        compliance=compliance,
    )
