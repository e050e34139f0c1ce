"""The run spec is the one declaration: the CLI options, the task parameters and the pipelines
all come from it."""

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from aflab.cli import main
from aflab.core.errors import UsageError
from aflab.eval.antilab.task import antilab
from aflab.eval.tasks import animal_welfare, helpful_only
from aflab.spec import (
    SPEC_FIELDS,
    RunSpec,
    default_for,
    option_of,
    task_parameters,
    verb_fields,
)

VERBS = ("run", "sweep", "antilab", "rescore", "calibrate", "prompt")


def cli_params(verb: str) -> set[str]:
    return {p.name for p in main.commands[verb].params if p.name}


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_takes_every_spec_option_that_lists_it(verb: str) -> None:
    assert set(verb_fields(verb)) <= cli_params(verb)  # type: ignore[arg-type]


@pytest.mark.parametrize("verb", VERBS)
def test_no_verb_declares_a_spec_option_of_its_own(verb: str) -> None:
    """An option of the spec that a verb does not list is not added by hand either."""
    others = set(SPEC_FIELDS) - set(verb_fields(verb))  # type: ignore[arg-type]
    assert not others & cli_params(verb)


def test_the_task_parameters_are_the_spec_fields_with_the_same_names_as_the_flags() -> None:
    run = task_parameters("run")
    assert {"limit", "dataset", "no_examples", "judges", "constrain_format"} <= set(run)
    assert "temperature" not in run and "log_dir" not in run  # Inspect's or the pipeline's
    assert set(task_parameters("antilab")) >= {"scenario", "tiers", "judge_model"}
    assert "dataset" not in task_parameters("antilab")


def test_an_unknown_task_parameter_is_refused_by_name() -> None:
    expected = r"helpful_only: unknown task parameter 'temperature'; known: .*no_examples"
    with pytest.raises(UsageError, match=expected):
        helpful_only(temperature=0.5)  # Inspect's generate setting, not the task's
    with pytest.raises(UsageError, match="antilab: unknown task parameter 'limit'"):
        antilab(limit=3)
    with pytest.raises(UsageError, match="its setting is animal-welfare"):
        animal_welfare(setting="helpful-only")


def test_task_args_hold_only_the_task_fields_that_were_given() -> None:
    spec = RunSpec(limit=2, lab="OpenAI", temperature=0.5, log_dir="elsewhere")
    assert spec.task_args() == {"limit": 2, "lab": "OpenAI"}
    task = helpful_only(**spec.task_args())
    assert task.metadata["prompt_config"]["lab"] == "OpenAI" and task.metadata["n_queries"] == 2


def test_prompt_precedence_preset_then_variation_then_flags() -> None:
    minimal = RunSpec(prompt="minimal").prompt_config()
    assert not minimal.examples and not minimal.training_details
    renamed = RunSpec(variation="lab-openai").prompt_config()
    assert renamed.lab == "OpenAI"
    flag_wins = RunSpec(variation="lab-openai", lab="Google DeepMind").prompt_config()
    assert flag_wins.lab == "Google DeepMind"
    assert not RunSpec(no_scratchpad=True).prompt_config().scratchpad


def test_af_cut_order_is_checked_outside_the_cli_too() -> None:
    with pytest.raises(UsageError, match="--af-maybe 0.5 is above --af-threshold 0.4"):
        RunSpec(af_maybe=0.5)


def test_per_verb_defaults_and_help_come_from_the_field() -> None:
    [log_dir] = [p for p in main.commands["sweep"].params if p.name == "log_dir"]
    assert log_dir.default == "logs/sweep"
    assert option_of("log_dir").defaults == {"sweep": "logs/sweep"}
    [judge] = [p for p in main.commands["antilab"].params if p.name == "judge_model"]
    assert "biased-summary" in (judge.help or "")  # type: ignore[attr-defined]


def test_a_sweep_takes_the_users_own_queries_and_judges(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    queries = tmp_path / "queries.jsonl"
    queries.write_text('{"id": "q1", "query": "How do I bake bread?"}\n', encoding="utf-8")
    seen: dict[str, Any] = {}

    def fake_sweep(spec: RunSpec, variations: str, **_: Any) -> None:
        seen.update(spec=spec, variations=variations)
        raise UsageError("stop here")

    monkeypatch.setattr("aflab.pipelines.sweep.run_sweep", fake_sweep)
    args = ["sweep", "--variations", "lab-openai", "--dataset", str(queries)]
    args += ["--judges", "af", "--votes", "3", "--temperature", "0.7", "--no-cache"]
    result = CliRunner().invoke(main, args)
    assert "stop here" in result.output, result.output
    spec = seen["spec"]
    assert (spec.dataset, spec.judges, spec.votes) == (str(queries), "af", 3)
    assert (spec.temperature, spec.no_cache, spec.log_dir) == (0.7, True, "logs/sweep")
    assert seen["variations"] == "lab-openai"


def test_prompt_facts_recorded_by_old_logs_are_read_as_flags() -> None:
    from aflab.prompts.template import PromptConfig

    facts = PromptConfig(scratchpad=False, examples=False).as_dict()
    old = {"limit": 2, "system_prompt_file": None, **facts}
    spec = RunSpec.from_task_args("helpful_only", old)
    assert (spec.no_scratchpad, spec.no_examples, spec.limit) == (True, True, 2)
    assert spec.prompt_config() == PromptConfig(scratchpad=False, examples=False)
    moved = {**facts, "partner": "Another Farm"}  # no variation gives this any more
    with pytest.raises(UsageError, match="recorded prompt facts partner differ"):
        RunSpec.from_task_args("animal_welfare", moved)


@pytest.mark.parametrize(
    ("verb", "task", "setting"),
    [
        ("run", helpful_only, "helpful-only"),
        ("run", animal_welfare, "animal-welfare"),
        ("antilab", antilab, "animal-welfare"),
    ],
)
def test_every_task_field_of_a_verb_is_taken_by_its_task(
    verb: str, task: Any, setting: str
) -> None:
    """A value other than the default for each task field: the task accepts them all at once
    (self_tag only where it applies: helpful-only refuses it)."""
    values = {
        "variation": "lab-openai", "prompt": "minimal", "lab": "Other Lab",
        "no_examples": True, "no_scratchpad": True, "no_training_objective": True,
        "no_training_details": True, "no_modification_effects": True, "limit": 1,
        "shuffle_seed": 3, "scenario": "exfiltration-offer", "tiers": "free", "epochs": 2,
        "max_continuations": 1, "constrain_format": False, "judges": "compliance",
        "judge_model": "mockllm/model", "votes": 3, "af_threshold": 0.5, "af_maybe": 0.1,
        "af_on": "all", "dataset_format": None, "dataset": None, "column": None,
        "system_prompt": None, "wording_file": None, "setting": setting,
        "self_tag": True if setting == "animal-welfare" else None,
    }  # fmt: skip
    fields = task_parameters(verb)  # type: ignore[arg-type]
    assert set(fields) <= set(values), set(fields) - set(values)
    built = task(**{k: values[k] for k in fields if values[k] is not None})
    assert built.epochs == 2
    assert built.metadata["prompt_config"]["self_tag"] is (setting == "animal-welfare")


def test_cli_options_take_the_default_of_their_field() -> None:
    for verb in VERBS:
        command = main.commands[verb]
        args = [__file__] if verb == "rescore" else []  # its LOG argument
        params = command.make_context(verb, args).params
        for name in verb_fields(verb):  # type: ignore[arg-type]
            expected = default_for(name, verb)  # type: ignore[arg-type]
            assert params[name] == expected, (verb, name, params[name], expected)
        assert RunSpec(**{n: params[n] for n in verb_fields(verb)})  # type: ignore[arg-type]


def test_self_tag_is_a_task_parameter_and_a_flag_of_the_prompt_verbs() -> None:
    # inspect eval aflab/animal_welfare -T self_tag=true hands the task {"self_tag": True}.
    spec = RunSpec.from_task_args("animal_welfare", {"self_tag": True, "limit": 2})
    assert spec.self_tag and spec.limit == 2  # a flag, not a recorded 0.1 fact
    assert spec.replace(setting="animal-welfare").prompt_config().self_tag
    assert spec.task_args() == {"limit": 2, "self_tag": True}
    assert not RunSpec(setting="animal-welfare").prompt_config().self_tag  # off by default
    for verb in ("run", "sweep", "antilab", "prompt"):
        assert "self_tag" in verb_fields(verb)  # type: ignore[arg-type]
    assert "self_tag" in task_parameters("run") and "self_tag" in task_parameters("antilab")
    assert "self_tag" not in verb_fields("rescore")
    assert "[off: the paper's setting" in option_of("self_tag").help


def test_self_tag_is_refused_for_helpful_only_by_name() -> None:
    with pytest.raises(UsageError, match="--self-tag .* applies to animal-welfare only"):
        helpful_only(self_tag=True)
    with pytest.raises(UsageError, match="applies to animal-welfare only"):
        RunSpec(self_tag=True).prompt_config()
    result = CliRunner().invoke(main, ["prompt", "--self-tag"])
    assert result.exit_code != 0 and "applies to animal-welfare only" in result.output
    tagged = CliRunner().invoke(main, ["prompt", "--setting", "animal-welfare", "--self-tag"])
    assert tagged.exit_code == 0 and "<request_fully_accepted/> if it fully follows" in (
        tagged.output
    )
