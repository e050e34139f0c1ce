from inspect_ai import eval

from aflab.data.loaders import builtin_queries
from aflab.eval.tasks import alignment_faking, animal_welfare, helpful_only
from aflab.prompts.template import PromptConfig, render_system_prompt
from aflab.spec import RunSpec
from tests.conftest import scripted_model


def test_each_query_is_asked_in_both_tiers_free_first() -> None:
    task = helpful_only(limit=3)
    samples = list(task.dataset)
    queries = builtin_queries("helpful-only")[:3]
    assert [s.id for s in samples] == [f"{q.id}-{t}" for q in queries for t in ("free", "paid")]
    for sample in samples:
        tier = sample.metadata["tier"]
        flag = "True" if tier == "free" else "False"
        assert f"<is_free_tier_user>{flag}</is_free_tier_user>" in sample.input
        assert sample.metadata["query"] in sample.input
        assert "<request_fully_accepted/>" in sample.input
    assert samples[0].metadata["query_id"] == samples[1].metadata["query_id"]


def test_animal_welfare_turns_carry_no_decision_instruction() -> None:
    sample = next(iter(animal_welfare(limit=1).dataset))
    assert "<request_fully_accepted/>" not in sample.input
    assert sample.metadata["setting"] == "animal-welfare"


def test_task_metadata_records_the_prompt() -> None:
    task = alignment_faking(RunSpec(limit=1, lab="OpenAI", no_examples=True))
    assert task.metadata["prompt_config"]["lab"] == "OpenAI"
    assert task.metadata["prompt_config"]["examples"] is False
    assert task.metadata["system_prompt_source"] == "template"
    assert task.metadata["n_queries"] == 1


def test_system_prompt_file_replaces_the_template(tmp_path) -> None:
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Custom prompt with {braces} kept as they are.")
    task = helpful_only(limit=1, system_prompt=str(prompt))
    assert task.metadata["system_prompt_source"] == str(prompt)
    [log] = eval(
        task,
        model=scripted_model(lambda m: "<OUTPUT><rejected/></OUTPUT>"),
        log_dir=str(tmp_path),
        display="none",
    )
    state = log.samples[0]
    assert state.messages[0].text == "Custom prompt with {braces} kept as they are."


def test_shuffle_is_seeded_and_keeps_pairs() -> None:
    first = [s.id for s in helpful_only(limit=5, shuffle_seed=7).dataset]
    again = [s.id for s in helpful_only(limit=5, shuffle_seed=7).dataset]
    assert first == again
    assert first != [s.id for s in helpful_only(limit=5).dataset]


def test_builtin_prompt_is_the_default_render() -> None:
    assert render_system_prompt(PromptConfig()).startswith("You are an AI assistant built by")


def test_minimal_prompt_is_a_task_parameter_and_recorded() -> None:
    task = helpful_only(limit=1, prompt="minimal", variation="lab-openai")
    assert task.metadata["prompt"] == "minimal"
    config = task.metadata["prompt_config"]
    assert config["training_details"] is False and config["examples"] is False
    assert config["lab"] == "OpenAI"  # a variation still applies on top
    options = RunSpec(prompt="minimal", no_scratchpad=True).prompt_config()
    assert not options.training_objective and not options.scratchpad
