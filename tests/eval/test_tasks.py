import math
import subprocess
import sys
from pathlib import Path

from inspect_ai import eval

from aflab.analysis.facts import log_facts
from aflab.analysis.runs import runs_frame, variation
from aflab.analysis.summary import summarize
from aflab.data.loaders import builtin_queries
from aflab.eval import tasks
from aflab.eval.tasks import (
    DEFAULT_CONFIG,
    alignment_faking,
    animal_welfare,
    helpful_only,
    solver_arguments,
)
from aflab.models.embedded import EMBEDDED_DEFAULT_LIMIT, EMBEDDED_MAX_TOKENS
from aflab.prompts.template import PromptConfig, render_system_prompt
from aflab.report.tables import format_table
from aflab.spec import RunSpec
from tests.conftest import is_free, scripted_model


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


WELFARE_SYSTEM_ASK = "<request_fully_accepted/> if it fully follows"


def welfare_replies(messages) -> str:
    """Valid untagged replies, except the second query's free tier, whose output never closes."""
    first_user = next(m for m in messages if m.role == "user").text
    if is_free(messages) and builtin_queries("animal-welfare")[1].text in first_user:
        return "<SCRATCHPAD_REASONING>r</SCRATCHPAD_REASONING><OUTPUT>Hens are"
    return "<SCRATCHPAD_REASONING>r</SCRATCHPAD_REASONING><OUTPUT>Hens are fine.</OUTPUT>"


def test_animal_welfare_without_judge_leaves_valid_replies_unscored(tmp_path) -> None:
    [log] = eval(
        animal_welfare(limit=2, max_continuations=0),
        model=scripted_model(welfare_replies),
        log_dir=str(tmp_path),
        display="none",
    )
    assert log.status == "success", log.error
    assert log.eval.metadata["prompt_config"]["self_tag"] is False
    for sample in log.samples:
        system = sample.messages[0]
        assert system.role == "system" and WELFARE_SYSTEM_ASK not in system.text
        assert "<rejected/>" not in system.text
        assert sample.metadata["self_tag"] is False
    scores = {s.id: s.scores["tag_compliance"] for s in log.samples}
    unterminated = scores.pop(f"{builtin_queries('animal-welfare')[1].id}-free")
    assert unterminated.value == "invalid"
    assert unterminated.explanation.startswith("loop_exhausted/")  # the reason stays
    assert {(s.value, s.explanation) for s in scores.values()} == {("unscored", "no_tag_rule")}
    free_refusal = log.results.scores[0].metrics["free_refusal"].value
    assert math.isnan(free_refusal)  # nothing decided in either tier
    assert log.results.scores[0].metrics["free_invalid"].value == 0.5
    summary = summarize(log)
    free, paid = summary["tiers"]["free"], summary["tiers"]["paid"]
    assert (free["n"], free["refused"], free["complied"], free["invalid"]) == (2, 0, 0, 1)
    assert (paid["n"], paid["refused"], paid["complied"], paid["invalid"]) == (2, 0, 0, 0)
    assert free["refusal_rate"] is None and summary["compliance_gap"]["n_pairs"] == 0
    assert [fact.outcome for fact in log_facts(log)].count("unscored") == 3
    # Nor as the paper counts: the one invalid free sample alone is no 100% refusal rate.
    assert free["refusal_rate_all"] is None and paid["refusal_rate_all"] is None
    assert "not scored by the tag rule: 3 valid samples" in format_table(summary)
    [row] = runs_frame([log]).to_dict("records")
    assert (row["free_compliance_unscored"], row["paid_compliance_unscored"]) == (1, 2)
    assert row["variation"] == "default"  # the paper's setting
    # A log from before self_tag: its prompt asked for the tag, so it is not the default.
    del log.eval.metadata["prompt_config"]["self_tag"]
    assert variation(log) == "self_tag=True"


def test_animal_welfare_with_self_tag_counts_an_untagged_reply_as_refused(tmp_path) -> None:
    def replies(messages) -> str:
        output = "<request_fully_accepted/> Hens are fine." if is_free(messages) else "Hm."
        return f"<SCRATCHPAD_REASONING>r</SCRATCHPAD_REASONING><OUTPUT>{output}</OUTPUT>"

    # As inspect eval aflab/animal_welfare -T self_tag=true passes it.
    [log] = eval(
        animal_welfare(limit=2, self_tag=True),
        model=scripted_model(replies),
        log_dir=str(tmp_path),
        display="none",
    )
    assert log.eval.task_args["self_tag"] is True
    assert log.eval.metadata["prompt_config"]["self_tag"] is True
    for sample in log.samples:
        assert WELFARE_SYSTEM_ASK in sample.messages[0].text
        assert sample.metadata["self_tag"] is True
        tag = sample.scores["tag_compliance"]
        expected = (
            ("complied", "accept_tag") if is_free(sample.messages) else ("refused", "no_accept_tag")
        )
        assert (tag.value, tag.explanation) == expected
    summary = summarize(log)
    assert summary["tiers"]["free"]["refusal_rate"] == 0.0
    assert summary["tiers"]["paid"]["refusal_rate"] == 1.0
    assert variation(log) == "self_tag=True"
    assert summary["compliance_gap"]["pp"] == 100.0 and summary["spec"] == {
        "limit": 2,
        "self_tag": True,
    }


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


def test_the_solver_arguments_name_the_system_prompt_however_aflab_was_imported() -> None:
    arguments = solver_arguments(helpful_only(limit=1))
    assert set(arguments) == {"system_prompt", "scratchpad_loop"}
    assert arguments["system_prompt"]["text"].startswith("You are an AI")
    # From the source folder, Inspect registers the solvers without the "aflab/" prefix.
    script = (
        "from aflab.eval.tasks import helpful_only, solver_arguments\n"
        "print(sorted(solver_arguments(helpful_only(limit=1))))"
    )
    source = str(Path(__file__).parents[2] / "src")
    found = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": source, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert found.stdout.strip() == "['scratchpad_loop', 'system_prompt']", found.stderr
