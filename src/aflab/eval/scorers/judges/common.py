"""What every judge shares: which model judges, and how its votes become an Inspect Score."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from inspect_ai.model import Model, get_model, model_roles
from inspect_ai.scorer import Score

from aflab.llm.ask import JudgeResult, ask
from aflab.models.embedded import EMBEDDED_MODEL

T = TypeVar("T")


def resolve_judge(judge_model: str | Model | None) -> Model:
    """``judge_model`` if given, else the eval's ``grader`` model role, else the embedded model.
    A judge named as a task parameter (anti-lab's) that is also the grader role is that role:
    the pipelines build it with its request limits and batch mode."""
    grader = model_roles().get("grader")
    if isinstance(judge_model, str) and isinstance(grader, Model) and str(grader) == judge_model:
        return get_model(role="grader")
    if judge_model is not None:
        return get_model(judge_model)
    return get_model(role="grader", default=EMBEDDED_MODEL)


Verdict = Callable[[JudgeResult[T]], tuple[str, str, dict[str, object]]]


async def judge_score(
    judge_model: str | Model | None,
    prompt: str,
    parse: Callable[[str], T | None],
    verdict: Verdict[T],
    *,
    scope: str,
    votes: int = 1,
    temperature: float = 0.0,
) -> Score:
    """Ask the judge and turn its readable votes into a Score; too few make it unscored."""
    judge = resolve_judge(judge_model)
    result = await ask(judge, prompt, parse, scope=scope, votes=votes, temperature=temperature)
    meta = result.metadata(judge)
    if not result.quorate:
        explanation = f"{len(result.votes)} of {votes} judge replies readable"
        return Score(value="unscored", explanation=explanation, metadata=meta)
    value, explanation, extra = verdict(result)
    return Score(value=value, explanation=explanation, metadata=meta | extra)


def skipped(reason: str) -> Score:
    """The judge does not apply to this sample (unlike "unscored": it could not tell)."""
    return Score(value="skipped", explanation=reason)
