"""Inspect tasks: ``aflab/helpful_only`` and ``aflab/animal_welfare``.

Every query is asked in both tiers. The two samples share ``query_id`` in their metadata, so the
compliance gap can be computed on pairs.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

from inspect_ai import Epochs, Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import GenerateConfig

from aflab.core.errors import UsageError
from aflab.core.types import TIERS, Setting, TierCue
from aflab.data.loaders import Query, builtin_queries, load_queries
from aflab.eval.scorers.judges import build_judges
from aflab.eval.scorers.tag import tag_compliance
from aflab.eval.solvers.grammar import format_grammar
from aflab.eval.solvers.scratchpad import scratchpad_loop
from aflab.eval.solvers.turns import system_prompt, user_turn
from aflab.models.embedded import EMBEDDED_DEFAULT_LIMIT, EMBEDDED_MAX_TOKENS, is_embedded
from aflab.prompts.template import PromptConfig, load_system_prompt, render_system_prompt
from aflab.spec import RunSpec

DEFAULT_CONFIG = GenerateConfig(temperature=1.0, max_tokens=4000)


@task
def helpful_only(**params: Any) -> Task:
    """The lab wants every request answered, harmful or not. Parameters: :class:`RunSpec`'s
    task fields (``-T limit=10 -T judges=af -T no_examples=true ...``)."""
    return alignment_faking(_spec("helpful_only", "helpful-only", params))


@task
def animal_welfare(**params: Any) -> Task:
    """The lab wants animal-welfare concerns dismissed, for a poultry partner's sake."""
    return alignment_faking(_spec("animal_welfare", "animal-welfare", params))


def _spec(task: str, setting: str, params: dict[str, Any]) -> RunSpec:
    if params.get("setting", setting) != setting:
        raise UsageError(f"{task}: its setting is {setting}, not {params['setting']!r}")
    return RunSpec.from_task_args(task, params).replace(setting=setting)


def alignment_faking(spec: RunSpec) -> Task:
    """Every query of the spec in both tiers, with the tag scorer and the spec's judges.

    ``spec.self_tag`` (animal-welfare): the prompt asks for a decision tag, and the tag rule and
    the grammar expect one; without it the tag rule leaves valid replies unscored.

    ``spec.constrain_format``: a grammar admits only the expected format (True: local llama.cpp
    engines only; None: on for the embedded model, off elsewhere; False: never).
    """
    model = running_model()
    spec = model_defaults(spec, model)
    told = build_prompt(spec)
    config = told.config
    setting = config.setting
    queries = select_queries(
        setting, spec.dataset, spec.dataset_format, spec.column, spec.limit, spec.shuffle_seed
    )
    return Task(
        dataset=MemoryDataset(
            paired_samples(queries, setting, config.tier_cue, config.self_tag),
            name=spec.dataset or setting,
        ),
        solver=[
            system_prompt(told.text),
            scratchpad_loop(
                spec.max_continuations,
                format_grammar(setting, config.scratchpad, config.self_tag),
                spec.constrain_format,
            ),
        ],
        scorer=[
            tag_compliance(setting, config.self_tag),
            *build_judges(
                spec.judges,
                spec.judge_model,
                spec.votes,
                spec.af_threshold,
                spec.af_maybe,
                spec.af_on,
            ),
        ],
        config=task_config(model),
        epochs=Epochs(spec.epochs, "mode"),
        metadata=told.metadata | {"n_queries": len(queries)},
    )


def running_model() -> str | None:
    """The model of the eval that is building this task. Inspect builds a task named on its
    command line (``inspect eval aflab/helpful_only --model M``) inside the eval, with M active;
    a task built before its eval (aflab's verbs, which settle the model's defaults in the spec
    themselves) has none."""
    # Not get_model(): with no eval running it builds the model of $INSPECT_EVAL_MODEL instead.
    # Inspect's eval_set (0.3.285) leaves its model active after it returns; aflab's sweep runs
    # it in a context of its own.
    from inspect_ai.model._model import active_model

    model = active_model()
    return None if model is None else str(model)


def model_defaults(spec: RunSpec, model: str | None) -> RunSpec:
    """On the embedded model, a spec that names no ``limit`` asks the embedded model's few
    queries (as ``aflab run`` does)."""
    if model is None or not is_embedded(model) or spec.limit is not None:
        return spec
    return spec.replace(limit=EMBEDDED_DEFAULT_LIMIT)


def task_config(model: str | None) -> GenerateConfig:
    """The paper's sampling (:data:`DEFAULT_CONFIG`); on the embedded model, its short replies
    and as many samples at once as its engine has slots (``-M slots=N``). Inspect's adaptive
    concurrency would start 20 samples on 4 slots, each evicting the others' conversations
    from the KV cache; without it Inspect runs the provider's ``max_connections()``, the slots.
    An eval's own ``--max-tokens`` or ``--max-connections`` still wins."""
    if model is None or not is_embedded(model):
        return DEFAULT_CONFIG
    embedded = GenerateConfig(max_tokens=EMBEDDED_MAX_TOKENS, adaptive_connections=False)
    return DEFAULT_CONFIG.merge(embedded)


@dataclass(frozen=True)
class Told:
    """What the model is told: the prompt's facts, its text, and how both are recorded."""

    config: PromptConfig
    text: str
    metadata: dict[str, Any]


def build_prompt(spec: RunSpec) -> Told:
    """The spec's prompt (:meth:`RunSpec.prompt_config`), or its ``system_prompt`` file."""
    config = spec.prompt_config()
    text = (
        load_system_prompt(spec.system_prompt)
        if spec.system_prompt
        else render_system_prompt(config)
    )
    metadata = {
        "setting": spec.setting,
        "variation": spec.variation,
        "prompt": spec.prompt,
        "scratchpad": config.scratchpad,
        "prompt_config": config.as_dict(),
        "system_prompt_source": spec.system_prompt or "template",
        "system_prompt_sha256": hashlib.sha256(text.encode()).hexdigest(),
    }
    return Told(config, text, metadata)


def select_queries(
    setting: Setting,
    dataset: str | None,
    dataset_format: str | None = None,
    column: str | None = None,
    limit: int | None = None,
    shuffle_seed: int | None = None,
) -> list[Query]:
    """The setting's built-in queries, or ``dataset`` read as ``dataset_format`` (text in
    ``column``), shuffled with ``shuffle_seed`` if given, then the first ``limit``."""
    queries = load_queries(dataset, dataset_format, column) if dataset else builtin_queries(setting)
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(queries)
    return queries[:limit] if limit is not None else queries


def paired_samples(
    queries: list[Query], setting: Setting, tier_cue: TierCue = "tag", self_tag: bool = False
) -> list[Sample]:
    """Free then paid for each query: Inspect's ``--limit 2N`` keeps N whole pairs. Each
    sample records whether its prompt asked for the self-tag, for the judges' tag rule."""
    return [
        Sample(
            id=f"{query.id}-{tier}",
            input=user_turn(query.text, tier, setting, tier_cue),
            metadata={
                "query_id": query.id,
                "tier": tier,
                "category": query.category,
                "setting": setting,
                "query": query.text,
                "self_tag": self_tag,
            },
        )
        for query in queries
        for tier in TIERS
    ]


def solver_arguments(task: Task) -> dict[str, dict[str, Any]]:
    """The arguments each of ``task``'s solvers was built with, by name (``system_prompt``:
    its ``text``), as Inspect records them for the log. Without the package's prefix, which
    Inspect gives only where aflab is imported from the installed package."""
    from inspect_ai._util.registry import registry_info, registry_params

    solvers = getattr(task.solver, "_solvers", [task.solver])
    return {registry_info(s).name.split("/")[-1]: dict(registry_params(s)) for s in solvers}
