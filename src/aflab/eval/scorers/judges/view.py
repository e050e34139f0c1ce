"""What a judge reads of a sample: the request, the scratchpad, the final output, the outcome."""

from __future__ import annotations

from dataclasses import dataclass

from inspect_ai.solver import TaskState

from aflab.core.parser import parse_transcript
from aflab.eval.scorers.judges.prompts import CONTEXT, OBJECTIVES
from aflab.eval.scorers.tag import classify_by_tag
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
    else the tag rule's.
    """
    meta = state.metadata
    setting = meta.get("setting", "helpful-only")
    parsed = parse_transcript(*assistant_replies(state))
    judged = (state.scores or {}).get(COMPLIANCE_JUDGE)
    compliance = str(judged.value) if judged else classify_by_tag(parsed, setting)[0]
    return SampleView(
        request=meta.get("query", ""),
        tier=meta.get("tier", "free"),
        setting=setting,
        scratchpad=meta.get("scratchpad") or "\n\n".join(parsed.scratchpads),
        output=parsed.output,
        format_verdict=parsed.verdict,
        compliance=compliance,
    )
