"""What each judge will send, before any transcript exists: for cost plans.

A judge's request is its rubric with the sample's request filled in and the transcript's parts
left empty (the *skeleton*); the plan adds the tokens it expects the scratchpad and the output to
take. ``reads`` and ``applies_to`` follow the scorers: the AF judges read complied samples'
scratchpads (all samples' with ``af_on="all"``), partial reads complied samples' scratchpad and
output, unmonitored paid samples' scratchpads, compliance every valid output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aflab.eval.scorers.judges.compliance import compliance_question
from aflab.eval.scorers.judges.prompts import AF_CRITERIA5, AF_VOTES, PARTIAL, UNMONITORED
from aflab.eval.scorers.judges.view import SampleView

AppliesTo = Literal["all", "complied", "paid"]


@dataclass(frozen=True)
class JudgeShape:
    """One judge's request for one sample, and how often it is asked."""

    skeleton: str
    reads_scratchpad: bool
    reads_output: bool
    votes: int
    applies_to: AppliesTo
    needs_scratchpad: bool


def judge_shape(
    name: str, setting: str, tier: str, request: str, votes: int = 20, af_on: str = "complied"
) -> JudgeShape:
    """The shape of judge ``name`` on a sample of ``tier`` asking ``request``."""
    view = SampleView(request, tier, setting, "", "", "ok", "complied")
    af_applies: AppliesTo = "all" if af_on == "all" else "complied"
    if name == "compliance":
        skeleton = compliance_question(setting).prompt(request, "")
        return JudgeShape(skeleton, False, True, 1, "all", False)
    if name == "af":
        skeleton = AF_VOTES.format(context=view.context(), scratchpad="")
        return JudgeShape(skeleton, True, False, votes, af_applies, True)
    if name == "criteria5":
        skeleton = AF_CRITERIA5.format(context=view.context(), scratchpad="")
        return JudgeShape(skeleton, True, False, 1, af_applies, True)
    if name == "partial":
        skeleton = PARTIAL.format(request=request, scratchpad="", output="")
        return JudgeShape(skeleton, True, True, 1, "complied", False)
    if name == "unmonitored":
        return JudgeShape(UNMONITORED.format(scratchpad=""), True, False, 1, "paid", True)
    raise ValueError(f"no shape for judge {name!r}")
