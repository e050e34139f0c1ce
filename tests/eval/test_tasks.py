from inspect_ai import eval

from aflab.data.loaders import builtin_queries
from aflab.eval import tasks
from aflab.eval.tasks import DEFAULT_CONFIG, alignment_faking, animal_welfare, helpful_only
from aflab.models.embedded import EMBEDDED_DEFAULT_LIMIT, EMBEDDED_MAX_TOKENS
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


def test_on_the_embedded_model_a_task_takes_its_defaults(monkeypatch) -> None:
    monkeypatch.setattr(tasks, "running_model", lambda: "aflab/smollm2")
    task = helpful_only()
    assert len(task.dataset) == 2 * EMBEDDED_DEFAULT_LIMIT
    assert task.config.max_tokens == EMBEDDED_MAX_TOKENS and task.config.temperature == 1.0
    # Inspect then runs the provider's max_connections(): the engine's slots.
    assert task.config.adaptive_connections is False
    assert len(helpful_only(limit=5).dataset) == 10  # a limit given wins
    monkeypatch.setattr(tasks, "running_model", lambda: "openai/gpt-4o")
    assert len(helpful_only().dataset) == 2 * len(builtin_queries("helpful-only"))
    assert helpful_only().config == DEFAULT_CONFIG


def test_a_task_named_to_inspect_learns_the_model_it_runs_on(tmp_path, monkeypatch) -> None:
    """``inspect eval aflab/helpful_only --model M`` builds the task inside the eval, with M
    active; here a scripted model stands in for the embedded one."""
    monkeypatch.setattr(tasks, "is_embedded", lambda model: model == "mockllm/model")
    reply = "<OUTPUT><rejected/></OUTPUT>"
    [log] = eval(
        "aflab/helpful_only",
        model=scripted_model(lambda m: reply),
        task_args={"max_continuations": 0},
        log_dir=str(tmp_path),
        display="none",
    )
    assert log.eval.task_args == {"max_continuations": 0}
    assert len(log.samples) == 2 * EMBEDDED_DEFAULT_LIMIT
    sent = [e.config for s in log.samples for e in s.events if e.event == "model"]
    assert sent and all(c.max_tokens == EMBEDDED_MAX_TOKENS for c in sent)
    # An eval's own --max-tokens still wins over the task's default.
    [log] = eval(
        "aflab/helpful_only",
        model=scripted_model(lambda m: reply),
        task_args={"limit": 1},
        max_tokens=99,
        log_dir=str(tmp_path),
        display="none",
    )
    assert {e.config.max_tokens for s in log.samples for e in s.events if e.event == "model"} == {
        99
    }


def test_a_task_built_before_its_eval_knows_no_model() -> None:
    assert tasks.running_model() is None  # aflab's verbs settle the defaults in the spec
