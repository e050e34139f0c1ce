"""What a verb settles before Inspect starts: the model, the embedded model's defaults, notes."""

import pytest
from inspect_ai.model import CachePolicy

from aflab.core.errors import UsageError
from aflab.pipelines import prepare as prep
from aflab.pipelines.prepare import (
    EMBEDDED_JUDGE_NOTE,
    EMBEDDED_NOTE,
    NO_COMPLIANCE_NOTE,
    compliance_notes,
    eval_settings,
    fit_examples,
    judge_notes,
    prepare,
    say_batch,
)
from aflab.spec import RunSpec


def test_the_embedded_model_gets_short_defaults_and_its_note() -> None:
    notes: list[str] = []
    spec = prepare(RunSpec(), notes)
    assert (spec.model, spec.limit, spec.max_tokens) == ("aflab/smollm2", 3, 256)
    assert notes == [EMBEDDED_NOTE]
    settings = eval_settings(spec)
    assert settings["max_samples"] == 4 and settings["model_args"] == {"slots": 4}
    assert settings["cache"] == CachePolicy(expiry=None)
    assert "max_retries" not in settings  # in-process: nothing to retry
    given = prepare(RunSpec(limit=7, max_tokens=99, slots=2), [])
    assert (given.limit, given.max_tokens, eval_settings(given)["max_samples"]) == (7, 99, 2)


def test_an_api_model_keeps_its_own_defaults_and_gets_request_limits() -> None:
    notes: list[str] = []
    spec = prepare(
        RunSpec(model="openai/gpt-4o", no_cache=True, judge_model="mockllm/model"), notes
    )
    assert (spec.limit, spec.max_tokens, notes) == (None, None, [])
    settings = eval_settings(spec)
    assert (settings["max_retries"], settings["timeout"], settings["cache"]) == (5, 1200, False)
    assert "max_samples" not in settings and "grader" in settings["model_roles"]
    with pytest.raises(UsageError, match="--constrain-format needs a local llama.cpp engine"):
        prepare(RunSpec(model="openai/gpt-4o", constrain_format=True), [])


def test_judge_notes_warn_of_self_grading_and_of_the_embedded_judge() -> None:
    said: list[str] = []
    notes: list[str] = []
    judge_notes(prepare(RunSpec(), []), True, notes, said.append)
    assert said == ["warning: the judge is the policy model aflab/smollm2: it grades itself"]
    assert notes == [EMBEDDED_JUDGE_NOTE]
    judge_notes(prepare(RunSpec(), []), False, notes, said.append)  # no judge: nothing said
    assert len(said) == 1 and len(notes) == 1


def test_animal_welfare_without_compliance_judge_or_self_tag_is_told_it_shows_validity() -> None:
    for judges in (None, "af", "af,partial"):
        said: list[str] = []
        notes: list[str] = []
        compliance_notes(RunSpec(setting="animal-welfare", judges=judges), notes, said.append)
        assert notes == [NO_COMPLIANCE_NOTE] and said == [f"note: {NO_COMPLIANCE_NOTE}"]
    assert "compliance cannot be scored" in NO_COMPLIANCE_NOTE
    assert "--judges compliance" in NO_COMPLIANCE_NOTE and "--self-tag" in NO_COMPLIANCE_NOTE
    for scored in (
        RunSpec(setting="animal-welfare", judges="compliance"),
        RunSpec(setting="animal-welfare", judges="all"),
        RunSpec(setting="animal-welfare", self_tag=True),
        RunSpec(),  # helpful-only: the user turn asks for the tags
    ):
        quiet: list[str] = []
        compliance_notes(scored, quiet, quiet.append)
        assert quiet == []


def test_examples_that_would_fill_the_context_are_dropped_with_a_note_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prep, "_examples_overflow", lambda spec: "Worked examples dropped")
    notes = ["an earlier note"]
    spec = fit_examples(prepare(RunSpec(), notes), notes)
    assert spec.no_examples and notes[-1] == "Worked examples dropped"
    api = RunSpec(model="openai/gpt-4o")
    assert fit_examples(api, notes) is api  # only the embedded model's context is that short
    monkeypatch.setattr(prep, "_examples_overflow", lambda spec: None)
    assert not fit_examples(prepare(RunSpec(), []), []).no_examples


def test_batch_reaches_inspect_for_the_policy_and_the_grader_where_they_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test")  # the judge is built, never asked
    spec = RunSpec(model="openai/gpt-4o", judge_model="openai/gpt-4o-mini", batch=True)
    settings = eval_settings(prepare(spec, []))
    assert settings["batch"] is True
    # A request waits for its batch: only the number of retries is bounded.
    assert settings["max_retries"] == 5 and "timeout" not in settings
    assert "attempt_timeout" not in settings
    # Inspect hands the eval's batch setting to the policy only: the grader carries its own.
    grader = settings["model_roles"]["grader"]
    assert grader.config.batch is True and grader.config.attempt_timeout is None
    assert "batch" not in eval_settings(prepare(RunSpec(model="openai/gpt-4o"), []))
    embedded = eval_settings(prepare(RunSpec(batch=True), []))
    assert "batch" not in embedded  # nothing to batch: no lifted connection limit either


def test_batch_on_a_model_without_a_batch_mode_is_said_before_the_run_and_noted() -> None:
    said: list[str] = []
    notes: list[str] = []
    say_batch(prepare(RunSpec(batch=True), []), True, notes, said.append)
    [note] = notes
    assert note.startswith("--batch: aflab/smollm2 (policy, judge) has no batch mode in Inspect")
    assert said == [f"note: {note}"]
    say_batch(prepare(RunSpec(), []), True, notes, said.append)  # no --batch: nothing said
    assert len(said) == 1 and len(notes) == 1
