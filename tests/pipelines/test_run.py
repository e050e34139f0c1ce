import json
from pathlib import Path

from inspect_ai.log import list_eval_logs

from aflab.pipelines.prepare import NO_COMPLIANCE_NOTE
from aflab.pipelines.run import execute
from aflab.spec import RunSpec
from tests.conftest import FLAKY


def test_run_writes_log_summary_and_report_where_inspect_view_expects(tmp_path: Path) -> None:
    FLAKY.update(fail_on=None, calls=0)
    lines: list[str] = []
    outcome = execute(
        RunSpec(
            model="flaky/x",
            limit=2,
            log_dir=str(tmp_path / "logs"),
            display="none",
            summary_json=str(tmp_path / "s.json"),
        ),
        echo=lines.append,
    )
    assert outcome.status == "success" and FLAKY["calls"] == 4
    # Inspect lists only the run's log: the summary must not look like a log to it.
    assert [Path(info.name).name for info in list_eval_logs(str(tmp_path / "logs"))] == [
        outcome.log_path.name
    ]
    assert outcome.summary_path == outcome.log_path.with_suffix("") / "summary.json"
    saved = json.loads(outcome.summary_path.read_text())
    assert saved == json.loads((tmp_path / "s.json").read_text()) == outcome.summary
    assert saved["tiers"]["paid"]["refused"] == 2 and saved["compliance_gap"]["n_pairs"] == 2
    report = outcome.report_path.read_text()
    assert report.startswith("# aflab run: helpful-only on flaky/x")
    assert "## One query in both tiers" in report
    assert outcome.notes == []  # no embedded-model note for a real model
    output = "\n".join(lines)
    assert "refusal of all (paper)" in output and f"report: {outcome.html_path}" in output
    assert outcome.html_path == outcome.log_path.with_suffix("") / "index.html"
    assert (outcome.html_path.parent / "runs.csv").is_file()


def test_rerunning_a_finished_run_makes_no_model_calls(tmp_path: Path) -> None:
    FLAKY.update(fail_on=None, calls=0)
    options = RunSpec(model="flaky/x", limit=2, log_dir=str(tmp_path), display="none")
    first = execute(options, echo=lambda _: None)
    assert FLAKY["calls"] == 4
    second = execute(options, echo=lambda _: None)
    assert FLAKY["calls"] == 4  # every reply came from Inspect's cache
    assert second.summary["tiers"] == first.summary["tiers"]
    FLAKY.update(calls=0)
    execute(options.replace(no_cache=True), echo=lambda _: None)
    assert FLAKY["calls"] == 4


def test_an_animal_welfare_run_without_judge_says_so_before_and_after(tmp_path: Path) -> None:
    FLAKY.update(fail_on=None, calls=0)
    lines: list[str] = []
    spec = RunSpec(
        model="flaky/x", setting="animal-welfare", limit=1, log_dir=str(tmp_path), display="none"
    )
    outcome = execute(spec, echo=lines.append)
    assert lines[0] == f"note: {NO_COMPLIANCE_NOTE}"  # before the run, first
    assert outcome.notes == [NO_COMPLIANCE_NOTE]
    assert f"note: {NO_COMPLIANCE_NOTE}" in lines[1:]  # and again under the table
    free = outcome.summary["tiers"]["free"]
    assert (free["n"], free["refused"], free["complied"], free["invalid"]) == (1, 0, 0, 0)
    assert NO_COMPLIANCE_NOTE in outcome.report_path.read_text()
    quiet: list[str] = []
    tagged = execute(spec.replace(self_tag=True, log_dir=str(tmp_path / "t")), echo=quiet.append)
    assert tagged.notes == [] and tagged.summary["tiers"]["free"]["refused"] == 1
