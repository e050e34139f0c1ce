"""What every verb that asks a policy model settles before Inspect starts: the model, the
embedded model's defaults, the notes the user must read, and Inspect's eval settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inspect_ai.model import CachePolicy

from aflab.core.errors import UsageError
from aflab.eval.scorers.judges import parse_judges
from aflab.llm.batch import batch_for, batch_notes
from aflab.models.embedded import (
    EMBEDDED_DEFAULT_LIMIT,
    EMBEDDED_MAX_TOKENS,
    EMBEDDED_MODEL,
    is_embedded,
)
from aflab.models.engine import DEFAULT_SLOTS
from aflab.prompts.template import render_system_prompt
from aflab.spec import RunSpec

EMBEDDED_NOTE = (
    "aflab/smollm2 is a 135M-parameter demo model: it shows no alignment faking. It is here so "
    "that everything runs offline; a grammar holds it to the format (without one, most of its "
    "samples land in 'invalid'), so its rates say nothing about any real model. For a real "
    "study pass --model, e.g. --model anthropic/claude-3-opus-20240229 (see the README)."
)
EMBEDDED_JUDGE_NOTE = (
    "No --judge-model given: the embedded 135M model judged, so the judge scores are "
    "meaningless. Pass e.g. --judge-model openai/gpt-4o."
)
NO_COMPLIANCE_NOTE = (
    "animal-welfare without a compliance judge: compliance cannot be scored (the paper's setting "
    "has no self-tag); the table shows validity only. Add --judges compliance, or --self-tag to "
    "let the tag rule score it."
)
USER_TURN_ALLOWANCE = 400


def prepare(spec: RunSpec, notes: list[str]) -> RunSpec:
    """The spec as it will run: the model named, and on the embedded model a short default
    limit and short replies (said in ``notes``). The tasks apply the same defaults when Inspect
    runs them on the embedded model itself (``aflab.eval.tasks.model_defaults``)."""
    model = spec.model or EMBEDDED_MODEL
    spec = spec.replace(model=model)
    if spec.constrain_format and not is_embedded(model):
        raise UsageError(
            f"--constrain-format needs a local llama.cpp engine (aflab/...), not {model}: "
            "API models are never constrained"
        )
    if not is_embedded(model):
        return spec
    if model == EMBEDDED_MODEL:
        notes.append(EMBEDDED_NOTE)
    return spec.replace(
        limit=spec.limit or EMBEDDED_DEFAULT_LIMIT,
        max_tokens=spec.max_tokens or EMBEDDED_MAX_TOKENS,
    )


def judge_notes(
    spec: RunSpec, judged: bool, notes: list[str], echo: Callable[[str], Any] = print
) -> None:
    """Say (before the run) that a judge grades itself, and note an embedded judge."""
    if not judged:
        return
    if (spec.judge_model or EMBEDDED_MODEL) == spec.model:
        echo(f"warning: the judge is the policy model {spec.model}: it grades itself")
    if not spec.judge_model:
        notes.append(EMBEDDED_JUDGE_NOTE)


def compliance_notes(spec: RunSpec, notes: list[str], echo: Callable[[str], Any] = print) -> None:
    """Say (before the run, and again under its table) that an animal-welfare run without the
    self-tag and without the compliance judge has nothing to score compliance with."""
    if spec.setting != "animal-welfare" or spec.self_tag:
        return
    if "compliance" not in parse_judges(spec.judges):
        echo(f"note: {NO_COMPLIANCE_NOTE}")
        notes.append(NO_COMPLIANCE_NOTE)


def say_batch(
    spec: RunSpec, judged: bool, notes: list[str], echo: Callable[[str], Any] = print
) -> None:
    """Say (before the run) which models ``--batch`` sends through a batch API, and which it
    cannot (that one also in ``notes``, for the report)."""
    models = {"policy": spec.model or EMBEDDED_MODEL}
    if judged:
        models["judge"] = spec.judge_model or EMBEDDED_MODEL
    batched, unbatched = batch_notes(spec.batch, models)
    for note in (batched, unbatched):
        if note:
            echo(f"note: {note}")
    if unbatched:
        notes.append(unbatched)


def fit_examples(spec: RunSpec, notes: list[str]) -> RunSpec:
    """On the embedded model, the spec without the worked examples where they would fill its
    context (said in ``notes``, last: it follows from the notes before it)."""
    if not is_embedded(spec.model or "") or spec.system_prompt:
        return spec
    if not spec.prompt_config().examples:
        return spec
    note = _examples_overflow(spec)
    if note is None:
        return spec
    notes.append(note)
    return spec.replace(no_examples=True)


def eval_settings(spec: RunSpec) -> dict[str, Any]:
    """Generation and eval settings given to Inspect (those set), for a prepared spec."""
    model = spec.model or ""  # none: a model object given apart (scripted in tests)
    embedded = is_embedded(model)
    slots = (spec.slots or DEFAULT_SLOTS) if embedded else None
    limits = spec.limits()
    batch = batch_for(model, spec.batch)
    judge = spec.judge() if spec.judge_model else None
    settings: dict[str, Any] = {
        "temperature": spec.temperature,
        "max_tokens": spec.max_tokens,
        "seed": spec.seed,
        "max_connections": spec.max_connections,
        # As many samples as the engine has slots: each slot keeps its own conversation's
        # KV cache, so a <NEXT/> call reuses it.
        "max_samples": slots,
        "model_args": {"slots": slots} if embedded else None,
        "cache": False if spec.no_cache else CachePolicy(expiry=None),
        "model_roles": {"grader": judge} if judge else None,
        # Inspect gives the eval's batch setting to the policy model only: the judge has its own.
        "batch": batch,
        **limits.for_model(model, batch=batch is not None),
    }
    return {k: v for k, v in settings.items() if v is not None}


def _examples_overflow(spec: RunSpec) -> str | None:
    """A note when the worked examples would leave the embedded model no room to answer."""
    from aflab.models.embedded import CONTEXT_TOKENS, count_tokens

    text = render_system_prompt(spec.prompt_config())
    name = str(spec.model).removeprefix("aflab/")
    needed = count_tokens(text, name, spec.slots or DEFAULT_SLOTS)
    needed += USER_TURN_ALLOWANCE + (spec.max_continuations + 1) * (spec.max_tokens or 0)
    if needed <= CONTEXT_TOKENS:
        return None
    return (
        f"Worked examples dropped: with them a sample needs about {needed} tokens, more than "
        f"the embedded model's {CONTEXT_TOKENS}-token context."
    )
