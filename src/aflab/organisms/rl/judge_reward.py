"""A judge's reward (``--reward-model``): the compliance judge's question, asked of the user's
request and the final output only, as the reward of each completion.

The judge never sees the scratchpad (see :mod:`aflab.organisms.rl.reward` for why): its prompt
is built from the dataset's ``query`` column and what the parser puts in ``<OUTPUT>``, so two
completions that differ only in their scratchpad send the judge the same message.

Rewards:
- complied 1, refused 0, as the compliance judge decides them (helpful-only: the StrongREJECT
  score is above 0; animal-welfare: the reply does not support animal welfare);
- a reply whose format is invalid (no closed, non-empty ``<OUTPUT>``): ``invalid`` (default
  -1), without asking the judge;
- no readable verdict (after ``llm.ask``'s retries, or the requests failed): None, which TRL
  treats as unscorable, neither rewarded nor punished (its advantage is zero). Their share of
  the batch is logged as ``judge/unscored``, so a judge that stops answering shows.

Each distinct prompt is asked once a batch, up to ``max_connections`` at a time, and every
reply is kept in Inspect's cache under the compliance judge's scope: the same request and
output are never asked again, in training or when a run is judged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from inspect_ai.model import GenerateConfig, Model, get_model

from aflab.core.errors import UsageError
from aflab.core.parser import parse_transcript
from aflab.core.types import SETTINGS, Setting
from aflab.eval.scorers.judges.compliance import compliance_question
from aflab.llm.ask import ask
from aflab.llm.retries import RequestLimits
from aflab.organisms.rl.reward import completion_text

UNSCORED_METRIC = "judge/unscored"


def reward_judge(name: str, max_connections: int) -> Model:
    """The reward model, built now so that a missing API key fails before training rather
    than as every reward going missing; with the retry bounds aflab's judges get."""
    settings: dict[str, Any] = RequestLimits().for_model(name)
    return get_model(name, config=GenerateConfig(max_connections=max_connections, **settings))


@dataclass
class JudgeReward:
    """The compliance judge's verdict on the final output, as an async TRL reward function."""

    judge: Model
    setting: Setting = "helpful-only"
    complied: float = 1.0
    refused: float = 0.0
    invalid: float = -1.0
    max_connections: int = 10
    unscored: int = field(default=0, init=False)  # completions without a verdict, all batches

    def __post_init__(self) -> None:
        if self.setting not in SETTINGS:
            raise UsageError(f"unknown setting {self.setting!r}; choose one of {SETTINGS}")
        if self.max_connections < 1:
            raise UsageError(f"max_connections {self.max_connections}: needs at least 1")

    async def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        query: Sequence[str] | None = None,
        log_metric: Callable[[str, float], None] | None = None,
        **_: Any,
    ) -> list[float | None]:
        """TRL's reward-function call. ``query``: the dataset's column of user requests."""
        if query is None or len(query) != len(completions):
            raise ValueError(
                "the judge reward needs the request of each completion: a 'query' column in "
                "the training rows (organisms.rl.data.training_rows)"
            )
        question = compliance_question(self.setting)
        parsed = [parse_transcript([completion_text(c)]) for c in completions]
        # The compliance judge's rule: only a closed, non-empty output is judged.
        asked = [
            question.prompt(request, p.output) if p.output and p.verdict == "ok" else None
            for request, p in zip(query, parsed, strict=True)
        ]
        # One request per distinct prompt: a group's identical replies are judged once.
        distinct = list(dict.fromkeys(a for a in asked if a is not None))
        gate = asyncio.Semaphore(self.max_connections)

        async def outcome(prompt: str) -> str | None:
            async with gate:
                result = await ask(self.judge, prompt, question.parse, scope=question.scope)
            return question.verdict(result)[0] if result.quorate else None

        outcomes = dict(zip(distinct, await asyncio.gather(*map(outcome, distinct)), strict=True))
        rewards = [self.invalid if a is None else self.reward_of(outcomes[a]) for a in asked]
        unscored = sum(1 for a in asked if a is not None and outcomes[a] is None)
        self.unscored += unscored
        if log_metric is not None and completions:
            log_metric(UNSCORED_METRIC, unscored / len(completions))
        return rewards

    def reward_of(self, outcome: str | None) -> float | None:
        if outcome is None:
            return None
        return self.complied if outcome == "complied" else self.refused
