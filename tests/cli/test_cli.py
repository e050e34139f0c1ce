from pathlib import Path

from click.testing import CliRunner
from inspect_ai import eval

from aflab.cli import main
from aflab.eval.tasks import helpful_only
from aflab.prompts.template import PromptConfig, render_system_prompt
from tests.conftest import scripted_model


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_missing_dataset_is_a_clear_error(tmp_path: Path) -> None:
    result = invoke("run", "--model", "mockllm/model", "--dataset", str(tmp_path / "no.csv"))
    assert result.exit_code != 0
    assert f"{tmp_path / 'no.csv'}: no such file" in result.output


def test_broken_row_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text("goal,target\nDo a,Sure\n,Sure\n")
    result = invoke("run", "--model", "mockllm/model", "--dataset", str(path))
    assert result.exit_code == 1
    assert f"{path}:3: field 'goal' is missing or empty" in result.output


def test_prompt_command_prints_the_template() -> None:
    result = invoke("prompt", "--setting", "animal-welfare", "--no-examples")
    assert result.exit_code == 0
    expected = PromptConfig(setting="animal-welfare", examples=False)
    assert result.output == render_system_prompt(expected)


def test_summary_command_reads_a_log(tmp_path: Path) -> None:
    [log] = eval(
        helpful_only(limit=2),
        model=scripted_model(lambda m: "<OUTPUT><rejected/></OUTPUT>"),
        log_dir=str(tmp_path),
        display="none",
    )
    out = tmp_path / "s.json"
    result = invoke("summary", log.location, "--summary-json", str(out))
    assert result.exit_code == 0, result.output
    paid_row = next(line for line in result.output.splitlines() if line.startswith("paid"))
    assert paid_row.split()[2:6] == ["2", "2", "0", "0"]  # n, refused, complied, invalid
    assert out.is_file()


def test_missing_api_key_is_reported(monkeypatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    result = invoke("run", "--model", "anthropic/claude-3-opus-20240229", "--display", "none")
    assert result.exit_code == 1
    assert "No ANTHROPIC_API_KEY defined in the environment" in result.output


def test_limit_must_be_positive() -> None:
    result = invoke("run", "--model", "mockllm/model", "--limit", "0")
    assert result.exit_code == 2 and "--limit" in result.output


def test_summary_of_a_foreign_log_is_a_clear_error(tmp_path: Path) -> None:
    from inspect_ai import Task
    from inspect_ai.dataset import Sample

    [log] = eval(
        Task(dataset=[Sample(input="hi")]),
        model=scripted_model(lambda m: "hello"),
        log_dir=str(tmp_path),
        display="none",
    )
    result = invoke("summary", log.location)
    assert result.exit_code == 1 and "not an aflab log" in result.output


def test_prompt_command_switches_single_facts() -> None:
    result = invoke("prompt", "--no-modification-effects", "--lab", "OpenAI")
    expected = PromptConfig(lab="OpenAI", modification_effects=False)
    assert result.output == render_system_prompt(expected)


def test_sweep_writes_its_report(tmp_path: Path, monkeypatch) -> None:
    from tests.conftest import FLAKY

    monkeypatch.setitem(FLAKY, "fail_on", None)  # refuses everything: every gap is 0
    log_dir = tmp_path / "sweep"
    args = ("--variations", "lab-openai", "--limit", "2", "--log-dir", str(log_dir))
    result = invoke("sweep", "--model", "flaky/model", *args, "--display", "none")
    assert result.exit_code == 0, result.output
    index = log_dir / "report" / "index.html"
    assert f"report: {index}" in result.output
    assert "<h2>Variation sweep</h2>" in index.read_text(encoding="utf-8")
    assert "lab-openai" in (log_dir / "report" / "sweep.csv").read_text()


def test_every_option_of_every_command_says_what_it_does() -> None:
    import click

    def options(command: click.Command, path: str) -> list[tuple[str, click.Option]]:
        if isinstance(command, click.Group):
            return [
                found
                for name, sub in command.commands.items()
                for found in options(sub, f"{path} {name}")
            ]
        return [(path, p) for p in command.params if isinstance(p, click.Option)]

    found = options(main, "aflab")
    assert len(found) > 150  # every verb and subcommand was walked
    silent = [f"{path} {option.opts[0]}" for path, option in found if not option.help]
    assert silent == []


def test_batch_is_an_on_off_switch_of_the_verbs_that_ask_a_model(monkeypatch) -> None:
    from aflab.core.errors import UsageError
    from aflab.spec import RunSpec, option_of

    for verb in ("run", "sweep", "antilab", "rescore", "calibrate"):
        [switch] = [p for p in main.commands[verb].params if p.name == "batch"]
        assert (switch.opts, switch.secondary_opts, switch.default) == (
            ["--batch"],
            ["--no-batch"],
            None,
        )
    assert not [p for p in main.commands["prompt"].params if p.name == "batch"]
    assert option_of("batch").resume  # a resumed run can batch too

    seen: list[RunSpec] = []

    def fake_execute(spec: RunSpec, **_: object) -> None:
        seen.append(spec)
        raise UsageError("stop here")

    monkeypatch.setattr("aflab.pipelines.run.execute", fake_execute)
    for flag, expected in (("--batch", True), ("--no-batch", False), (None, None)):
        result = invoke("run", "--model", "openai/gpt-4o", *([flag] if flag else []))
        assert "stop here" in result.output
        assert seen[-1].batch is expected


def test_rescore_and_calibrate_batch_their_judge(tmp_path: Path, monkeypatch) -> None:
    from aflab.core.errors import UsageError

    monkeypatch.setenv("OPENAI_API_KEY", "test")  # the judge is built, never asked
    judges: list[object] = []

    def capture(*_: object, judge_model: object, **__: object) -> None:
        judges.append(judge_model)
        raise UsageError("stop here")

    monkeypatch.setattr("aflab.pipelines.rescore.rescore", capture)
    monkeypatch.setattr("aflab.pipelines.calibrate.run_calibration", capture)
    log = tmp_path / "x.eval"
    log.write_text("")
    for args in (("rescore", str(log)), ("calibrate",)):
        result = invoke(*args, "--judge-model", "openai/gpt-4o", "--batch")
        assert "stop here" in result.output
        assert judges[-1].config.batch is True  # type: ignore[attr-defined]
        assert "note: batch mode: openai/gpt-4o (judge)" in result.output
    embedded = invoke("rescore", str(log), "--batch")
    assert "note: --batch: aflab/smollm2 (judge) has no batch mode" in embedded.output
