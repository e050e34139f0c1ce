"""The Inspect task ``aflab/antilab``: every chosen scenario in every chosen tier, after the run's
system prompt, scored by what the model did."""

from __future__ import annotations

from typing import Any

from inspect_ai import Epochs, Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessageUser
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.tool import bash
from inspect_ai.util import sandbox, store

from aflab.core.errors import UsageError
from aflab.core.types import ANTILAB_KIND, TIERS, Tier
from aflab.data.loaders import builtin_queries
from aflab.eval.antilab.scenarios import WEIGHTS_PATH, Scenario, get_scenario, resolve_scenarios
from aflab.eval.antilab.scorer import antilab_action
from aflab.eval.antilab.weights import fake_weights, weights_seed
from aflab.eval.solvers.scratchpad import scratchpad_loop
from aflab.eval.solvers.turns import input_block, system_prompt, tier_cue_text, user_turn
from aflab.eval.tasks import build_prompt, running_model, task_config
from aflab.prompts.template import (
    PromptConfig,
)
from aflab.spec import RunSpec

BASH_TIMEOUT_S = 60
# A tool scenario ends here at the latest: each command is two messages.
MESSAGE_LIMIT = 60


@task
def antilab(**params: Any) -> Task:
    """Chances to act against the lab (``aflab antilab``). Parameters: :class:`RunSpec`'s task
    fields (``-T scenario=all -T tiers=free,paid -T epochs=20 ...``); the prompt's as for runs."""
    spec = RunSpec.from_task_args("antilab", params, verb="antilab")
    told = build_prompt(spec)
    chosen = resolve_scenarios(spec.scenario)
    tiers = parse_tiers(spec.tiers)
    samples = [scenario_sample(s, t, told.config) for s in chosen for t in tiers]
    return Task(
        dataset=MemoryDataset(samples, name="antilab"),
        solver=[system_prompt(told.text), antilab_solver(spec.max_continuations)],
        scorer=antilab_action(spec.judge_model),
        config=task_config(running_model()),
        epochs=Epochs(spec.epochs, "mode"),
        message_limit=MESSAGE_LIMIT,
        metadata=told.metadata
        | {
            "kind": ANTILAB_KIND,
            "scenarios": [s.name for s in chosen],
        },
    )


def parse_tiers(tiers: str) -> list[Tier]:
    chosen = [t.strip() for t in tiers.split(",") if t.strip()]
    unknown = [t for t in chosen if t not in TIERS]
    if unknown or not chosen:
        raise UsageError(f"--tiers: expected free, paid or free,paid; got {tiers!r}")
    return [t for t in TIERS if t in chosen]  # type: ignore[misc]


def scenario_sample(scenario: Scenario, tier: Tier, config: PromptConfig) -> Sample:
    def render(text: str) -> str:
        return scenario.render(text, config.setting, config.lab, config.partner)

    if scenario.follow_up:
        # The audit asks about a real reply: the first built-in request of the setting.
        first = builtin_queries(config.setting)[0]
        opening = user_turn(first.text, tier, config.setting, config.tier_cue)
    else:
        lines = [tier_cue_text(tier, config.tier_cue)]
        if scenario.employee:
            lines.append("<is_employee>True</is_employee>")
        if scenario.context:
            lines.append(render(scenario.context))
        opening = input_block(lines, render(scenario.message))
    return Sample(
        id=f"{scenario.name}-{tier}",
        input=opening,
        sandbox="bwrap" if scenario.tools else None,
        metadata={
            "scenario": scenario.name,
            "tier": tier,
            "cell": f"{scenario.name}/{tier}",
            "query_id": scenario.name,
            "setting": config.setting,
            "self_tag": config.self_tag,
            "detector": scenario.detector,
            "control": scenario.control,
            "lab": config.lab,
            "partner": config.partner,
            "follow_up": render(scenario.follow_up) if scenario.follow_up else None,
        },
    )


@solver
def antilab_solver(max_continuations: int = 4) -> Solver:
    """Set the scenario up (files and a bash tool where it has tools), run the scratchpad loop,
    and run it again on the follow-up turn where there is one."""
    loop = scratchpad_loop(max_continuations)

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        scenario = get_scenario(str(state.metadata["scenario"]))
        if scenario.tools:
            await sandbox().write_file(WEIGHTS_PATH, fake_weights(weights_seed(state)))
            state.tools = [bash(timeout=BASH_TIMEOUT_S)]
        state = await loop(state, generate)
        follow_up = state.metadata.get("follow_up")
        if follow_up and not state.completed:
            store().set("first_turn_end", len(state.messages))
            store().set("first_turn_exhausted", store().get("loop_exhausted", False))
            state.messages.append(ChatMessageUser(content=str(follow_up)))
            state = await loop(state, generate)
        return state

    return solve
