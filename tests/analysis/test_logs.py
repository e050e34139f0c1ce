"""Streaming a log's samples gives what reading it whole gives; the judging read from a header is
the judging the samples hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.log import EvalLog, EvalSample, read_eval_log, write_eval_log

from aflab.analysis.judged import judging_of
from aflab.analysis.logs import UNREAD, log_samples, read_log, scorer_names, stream_samples
from aflab.core.errors import UsageError
from aflab.eval.tasks import helpful_only
from aflab.pipelines.rescore import rescore
from tests.conftest import FLAKY, scripted_judge, scripted_model
from tests.eval.scorers.test_judges import judge_script, policy
from tests.report.fixtures import with_broken_sample


def seen(sample: EvalSample) -> dict:
    """All of a sample that a report can read (everything but its events)."""
    return sample.model_dump(exclude=set(UNREAD) - {"transcript"})


def same_samples(path: str | Path) -> None:
    whole = read_eval_log(str(path)).samples or []
    streamed = list(stream_samples(path))
    assert [(s.id, s.epoch) for s in streamed] == [(s.id, s.epoch) for s in whole]
    assert [seen(s) for s in streamed] == [seen(s) for s in whole]
    assert all(not s.events and not s.attachments for s in streamed)


def test_streamed_samples_are_the_logs_samples(report_logs) -> None:
    _, logs = report_logs
    for log in logs:
        same_samples(log.location)
        assert [seen(s) for s in log_samples(read_log(log.location, header_only=True))] == [
            seen(s) for s in log_samples(read_log(log.location))
        ]


def test_numeric_ids_and_epochs_come_in_inspects_order(tmp_path: Path) -> None:
    # Inspect orders by epoch, then id, numbers as numbers: 2 before 10 (as text, 10 first).
    task = Task(dataset=[Sample(input=f"q{i}", id=i) for i in (10, 2, 1)], epochs=2)
    [log] = eval(task, model=scripted_model(lambda _: "ok"), log_dir=str(tmp_path), display="none")
    order = [(s.epoch, s.id) for s in stream_samples(log.location)]
    assert order == [(1, 1), (1, 2), (1, 10), (2, 1), (2, 2), (2, 10)]
    same_samples(log.location)


def test_a_failed_runs_log_yields_the_samples_it_holds(tmp_path: Path, monkeypatch) -> None:
    task = helpful_only(limit=3)
    monkeypatch.setitem(FLAKY, "fail_on", next(iter(task.dataset)).metadata["query"])
    [log] = eval(task, model="flaky/x", log_dir=str(tmp_path), display="none", max_samples=1)
    assert log.status == "error"
    held = read_eval_log(log.location).samples or []
    assert 0 < len(held) < 6
    same_samples(log.location)


def test_a_json_log_is_read_whole(report_logs, tmp_path: Path) -> None:
    _, logs = report_logs
    path = tmp_path / "log.json"
    write_eval_log(read_eval_log(logs[0].location), str(path))
    assert [s.id for s in stream_samples(path)] == [s.id for s in logs[0].samples or []]


def test_an_unreadable_sample_names_the_log(report_logs, tmp_path: Path) -> None:
    _, logs = report_logs
    broken = with_broken_sample(logs[0].location, tmp_path / "broken.eval", "hr-002-free_epoch_1")
    read_log(broken, header_only=True)  # the header is fine
    samples = stream_samples(broken)
    assert next(samples).id == "hr-001-free"
    with pytest.raises(UsageError, match=f"^{broken}: not a readable Inspect log"):
        list(samples)


def judging_in_samples(log: EvalLog) -> tuple[str, str | None]:
    whole = read_eval_log(log.location)
    return judging_of(name for s in whole.samples or [] for name in s.scores or {})


def test_the_judging_read_from_the_header_is_the_samples(report_logs, tmp_path: Path) -> None:
    _, judged = report_logs  # compliance and af judges: the judge rule, af_votes
    [tagged] = eval(
        helpful_only(limit=2),
        model=scripted_model(policy),
        log_dir=str(tmp_path),
        display="none",
    )
    # rescore (aflab rescore) adds judges to a copy: the AF judge alone, then compliance and AF,
    # then the five criteria beside them.
    af_only = rescore(tagged.location, judges="af", judge_model=scripted_judge(judge_script))
    both = rescore(
        tagged.location, judges="compliance,af", judge_model=scripted_judge(judge_script)
    )
    five = rescore(both.log_path, judges="criteria5", judge_model=scripted_judge(judge_script))
    expected = {
        judged[0].location: ("judge", "af_votes"),
        tagged.location: ("tag", None),
        str(af_only.log_path): ("tag", "af_votes"),
        str(both.log_path): ("judge", "af_votes"),
        str(five.log_path): ("judge", "af_votes"),
    }
    for path, judging in expected.items():
        header = read_log(path, header_only=True)
        assert judging_of(scorer_names(header)) == judging == judging_in_samples(header), path
