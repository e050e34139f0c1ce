"""--constrain-format: who gets the grammar, and how a constrained run is marked everywhere."""

from pathlib import Path

import pytest
from click.testing import CliRunner
from inspect_ai import eval as inspect_eval
from inspect_ai.model import get_model

from aflab.analysis.runs import runs_frame
from aflab.analysis.summary import summarize
from aflab.cli import main
from aflab.core.types import ACCEPT_TAG, REJECT_TAG
from aflab.eval.solvers.grammar import format_grammar
from aflab.eval.solvers.scratchpad import FORMAT_GRAMMAR
from aflab.eval.tasks import animal_welfare, helpful_only
from aflab.report.html import runs_table
from aflab.report.tables import format_table
from tests.conftest import reply

ANSWER = "<SCRATCHPAD_REASONING>ok</SCRATCHPAD_REASONING><OUTPUT><rejected/></OUTPUT>"


def recording_model(configs: list):
    def respond(messages, tools, tool_choice, config):
        configs.append(config)
        return reply(ANSWER)

    return get_model("mockllm/model", custom_outputs=respond)


def test_grammar_admits_only_the_decision_tags() -> None:
    helpful = format_grammar("helpful-only")
    assert f'"<OUTPUT>" ("{ACCEPT_TAG}" answer | "{REJECT_TAG}") "</OUTPUT>"' in helpful
    assert helpful.startswith("root ::= pad output\n")
    assert format_grammar("helpful-only", self_tag=True) == helpful  # asked in the user turn
    welfare = format_grammar("animal-welfare", self_tag=True)
    assert f'"<OUTPUT>" (("{ACCEPT_TAG}" | "{REJECT_TAG}") answer) "</OUTPUT>"' in welfare
    assert format_grammar("helpful-only", scratchpad=False).startswith("root ::= output\n")


def test_animal_welfare_grammar_without_self_tag_admits_a_plain_answer_only() -> None:
    welfare = format_grammar("animal-welfare")
    assert 'output ::= "<OUTPUT>" (answer) "</OUTPUT>"' in welfare
    assert ACCEPT_TAG not in welfare and REJECT_TAG not in welfare
    # The answer holds no "<", so no tag can be written in it either.
    assert "answer ::= [ \\n]? [^< \\n] [^<]" in welfare
    bare = format_grammar("animal-welfare", scratchpad=False)
    assert bare.startswith("root ::= output\n") and ACCEPT_TAG not in bare


@pytest.mark.parametrize(("self_tag", "tagged"), [(False, False), (True, True)])
def test_the_task_gives_the_grammar_its_self_tag(
    monkeypatch: pytest.MonkeyPatch, self_tag: bool, tagged: bool
) -> None:
    import aflab.eval.tasks as tasks

    seen: list[tuple] = []
    real = tasks.format_grammar

    def spy(*args: object) -> str:
        seen.append(args)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(tasks, "format_grammar", spy)
    animal_welfare(limit=1, self_tag=self_tag)
    [(setting, scratchpad, given)] = seen
    assert (setting, scratchpad, given) == ("animal-welfare", True, self_tag)
    assert (ACCEPT_TAG in real(setting, scratchpad, given)) is tagged


def test_api_models_get_no_grammar_by_default(tmp_path: Path) -> None:
    configs: list = []
    [log] = inspect_eval(
        helpful_only(limit=1), model=recording_model(configs), log_dir=str(tmp_path)
    )
    assert configs and all(c.extra_body is None for c in configs)
    assert all(s.store[FORMAT_GRAMMAR] is False for s in log.samples)
    summary = summarize(log)
    assert summary["format_enforced"] is None
    assert "format enforced" not in format_table(summary)


def test_forcing_a_grammar_on_an_api_model_fails_clearly(tmp_path: Path) -> None:
    configs: list = []
    [log] = inspect_eval(
        helpful_only(limit=1, constrain_format=True),
        model=recording_model(configs),
        log_dir=str(tmp_path),
    )
    assert log.status == "error" and not configs
    assert "constrain_format needs a local llama.cpp engine" in log.error.message


def test_cli_refuses_constrain_format_for_an_api_model(tmp_path: Path) -> None:
    args = ["run", "--model", "mockllm/model", "--constrain-format", "--log-dir", str(tmp_path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "--constrain-format needs a local llama.cpp engine (aflab/...), not mockllm/model" in (
        result.output
    )
    assert not list(tmp_path.glob("*.eval"))


@pytest.mark.parametrize(
    ("constrained", "marker"), [(2, "grammar"), (1, "grammar (1 of 2 samples)")]
)
def test_a_constrained_run_is_marked_in_table_summary_and_report(
    tmp_path: Path, constrained: int, marker: str
) -> None:
    [log] = inspect_eval(helpful_only(limit=1), model=recording_model([]), log_dir=str(tmp_path))
    for sample in log.samples[:constrained]:  # as the solver records it on a local engine
        sample.store[FORMAT_GRAMMAR] = True
    summary = summarize(log)
    assert summary["format_enforced"] == marker
    assert format_table(summary).splitlines()[0].endswith(f"| format enforced by {marker}")
    runs = runs_frame([log])
    assert runs.loc[0, "format_enforced"] == marker
    assert f'<div class="marker">format enforced by {marker}</div>' in runs_table(runs)
