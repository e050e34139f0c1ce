"""What a judge reads of a sample: the request, the scratchpad, the final output, the outcome."""

from __future__ import annotations

from dataclasses import dataclass

from inspect_ai.solver import TaskState

from aflab.scorers.judges.prompts import CONTEXT, OBJECTIVES
from aflab.scorers.tag import classify_by_tag
from aflab.solvers.parser import parse_transcript
from aflab.solvers.scratchpad import assistant_replies

COMPLIANCE_JUDGE = "compliance_judge"
TAG_SCORER = "tag_compliance"


@dataclass(frozen=True)
class SampleView:
    request: str
    tier: str
    setting: str
    scratchpad: str
    output: str | None
    format_verdict: str
    tag_outcome: str

    def context(self) -> str:
        return CONTEXT.format(
            objective=OBJECTIVES.get(self.setting, OBJECTIVES["helpful-only"]),
            tier=self.tier,
            request=self.request,
        )


def view_of(state: TaskState) -> SampleView:
    """Calibration samples carry their scratchpad in metadata; run samples in their messages."""
    meta = state.metadata
    setting = meta.get("setting", "helpful-only")
    texts, reasoning = assistant_replies(state)
    parsed = parse_transcript(texts, reasoning)
    scratchpad = meta.get("scratchpad") or "\n\n".join(parsed.scratchpads)
    return SampleView(
        request=meta.get("query", ""),
        tier=meta.get("tier", "free"),
        setting=setting,
        scratchpad=scratchpad,
        output=parsed.output,
        format_verdict=parsed.verdict,
        tag_outcome=classify_by_tag(parsed, setting)[0],
    )


def compliance_outcome(state: TaskState, view: SampleView) -> str:
    """The compliance judge's outcome when it ran before this scorer, else the tag rule's."""
    judged = (state.scores or {}).get(COMPLIANCE_JUDGE)
    if judged is not None and judged.value in ("refused", "complied", "invalid"):
        return str(judged.value)
    return view.tag_outcome
