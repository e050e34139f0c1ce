"""What each judge sends, for cost plans: its request on a sample, and that request's shape.

A judge's request is built by the same function its scorer uses (``af_prompt``,
``compliance_question(...).prompt``, ...). Before a transcript exists a plan uses the *skeleton*:
the request with the transcript's parts left empty, to which it adds the tokens it expects them
to take. ``reads`` and ``applies_to`` follow the scorers: the AF judges read complied samples'
scratchpads (all samples' with ``af_on="all"``), partial reads complied samples' scratchpad and
output, unmonitored paid samples' scratchpads, compliance every valid output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aflab.eval.scorers.judges.alignment_faking import (
    AF_SCOPE,
    CRITERIA5_SCOPE,
    af_prompt,
    criteria5_prompt,
)
from aflab.eval.scorers.judges.compliance import compliance_question
from aflab.eval.scorers.judges.reasoning import (
    PARTIAL_SCOPE,
    UNMONITORED_SCOPE,
    partial_prompt,
    unmonitored_prompt,
)
from aflab.eval.scorers.judges.view import SampleView

AppliesTo = Literal["all", "complied", "paid"]
# The AF judge samples its votes; the others read at temperature 0 (aflab.llm.ask's default).
AF_TEMPERATURE = 1.0


@dataclass(frozen=True)
class JudgeRequest:
    """What one judge asks of one sample: the prompt, its cache scope, votes, temperature."""

    prompt: str
    scope: str
    votes: int = 1
    temperature: float = 0.0


@dataclass(frozen=True)
class JudgeShape:
    """One judge's request for one sample, and how often it is asked."""

    skeleton: str
    reads_scratchpad: bool
    reads_output: bool
    votes: int
    applies_to: AppliesTo
    needs_scratchpad: bool


def judge_request(name: str, view: SampleView, votes: int = 20) -> JudgeRequest:
    """The request judge ``name`` sends for ``view`` (whether it applies is the scorer's call)."""
    if name == "compliance":
        question = compliance_question(view.setting)
        return JudgeRequest(question.prompt(view.request, view.output or ""), question.scope)
    if name == "af":
        return JudgeRequest(af_prompt(view), AF_SCOPE, votes, AF_TEMPERATURE)
    if name == "criteria5":
        return JudgeRequest(criteria5_prompt(view), CRITERIA5_SCOPE)
    if name == "partial":
        return JudgeRequest(partial_prompt(view), PARTIAL_SCOPE)
    if name == "unmonitored":
        return JudgeRequest(unmonitored_prompt(view), UNMONITORED_SCOPE)
    raise ValueError(f"no request for judge {name!r}")


def judge_shape(
    name: str, setting: str, tier: str, request: str, votes: int = 20, af_on: str = "complied"
) -> JudgeShape:
    """The shape of judge ``name`` on a sample of ``tier`` asking ``request``."""
    empty = SampleView(request, tier, setting, "", "", "ok", "complied")
    skeleton = judge_request(name, empty, votes).prompt
    af_applies: AppliesTo = "all" if af_on == "all" else "complied"
    shapes: dict[str, tuple[bool, bool, int, AppliesTo, bool]] = {
        "compliance": (False, True, 1, "all", False),
        "af": (True, False, votes, af_applies, True),
        "criteria5": (True, False, 1, af_applies, True),
        "partial": (True, True, 1, "complied", False),
        "unmonitored": (True, False, 1, "paid", True),
    }
    return JudgeShape(skeleton, *shapes[name])
