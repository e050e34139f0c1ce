"""The estimate a long job prints before it starts: counts worked out by hand."""

from pathlib import Path

import pytest

from aflab.eval.tasks import helpful_only
from aflab.pipelines import estimate as est
from aflab.pipelines.estimate import (
    Workload,
    duration,
    estimate_line,
    estimated_seconds,
    judge_replies,
    run_workload,
    spec_workload,
)
from aflab.pipelines.run import execute
from aflab.spec import RunSpec
from tests.conftest import FLAKY

DEFAULT = ["compliance", "af", "partial", "unmonitored"]


def test_judge_replies_count_votes_and_the_paid_only_judge() -> None:
    # 12 samples, 6 paid: compliance 12 + af 12 x 20 + partial 12 + unmonitored 6.
    assert judge_replies(12, 6, DEFAULT, 20) == 270
    assert judge_replies(12, 6, ["criteria5"], 20) == 12
    assert judge_replies(12, 6, [], 20) == 0


def test_a_run_counts_samples_turns_and_judges() -> None:
    # 3 queries x 2 tiers x 2 epochs = 12 samples; each up to 1 + 4 <NEXT/> turns.
    work = run_workload("aflab run", 12, 4, DEFAULT, 20, "openai/gpt-4o", "openai/gpt-4o")
    assert (work.samples, work.policy_calls, work.judge_replies) == (12, 60, 270)
    unjudged = run_workload("aflab run", 12, 0, [], 20, "openai/gpt-4o", "aflab/smollm2")
    assert (unjudged.policy_calls, unjudged.judge_replies, unjudged.judge_model) == (12, 0, None)


def test_a_sweep_counts_every_variation_from_its_tasks() -> None:
    spec = RunSpec(model="openai/gpt-4o", limit=3, epochs=2, judges="af", votes=5)
    tasks = [helpful_only(limit=3), helpful_only(limit=3, variation="lab-openai")]
    work = spec_workload("aflab sweep", spec, tasks)
    # 2 runs x 3 queries x 2 tiers x 2 epochs = 24 samples; af: 24 x 5 votes.
    assert (work.samples, work.policy_calls, work.judge_replies) == (24, 120, 120)
    assert work.judge_model == "aflab/smollm2"  # no --judge-model: the embedded model judges
    assert estimate_line(work, "rerun").startswith("aflab sweep: 24 samples in 2 runs, 120 policy")


def test_the_embedded_model_is_timed_at_the_measured_speeds() -> None:
    policy = Workload("aflab run", 6, 30, 0, "aflab/smollm2", None)
    assert estimated_seconds(policy) == pytest.approx(6 * est.EMBEDDED_SECONDS_PER_SAMPLE)
    judged = Workload("aflab calibrate", 42, 0, 840, None, "aflab/smollm2")
    assert estimated_seconds(judged) == pytest.approx(840 * est.EMBEDDED_SECONDS_PER_JUDGE_REPLY)
    # An API model's speed is not ours to guess; a run with an embedded judge times the judge.
    assert estimated_seconds(Workload("aflab run", 6, 30, 0, "openai/gpt-4o", None)) is None
    mixed = Workload("aflab run", 6, 30, 12, "openai/gpt-4o", "aflab/smollm2")
    assert estimated_seconds(mixed) == pytest.approx(12 * est.EMBEDDED_SECONDS_PER_JUDGE_REPLY)


def test_the_line_says_counts_time_source_and_how_to_go_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(est, "EMBEDDED_SECONDS_PER_JUDGE_REPLY", 25.0)
    line = estimate_line(
        Workload("aflab calibrate", 42, 0, 840, None, "aflab/smollm2"), "rerun to go on"
    )
    assert line == (
        "aflab calibrate: 42 samples, 840 judge replies at most (aflab/smollm2); on the embedded "
        "model about 5 h 50 min on 2 CPU cores (an approximation from ~25 s a judge reply with "
        "its re-asks, measured in docs/benchmarks.md). Ctrl-C stops it; rerun to go on."
    )
    api = estimate_line(Workload("aflab run", 200, 1000, 0, "openai/gpt-4o", None), "resume")
    assert api == (
        "aflab run: 200 samples, 1000 policy calls at most (openai/gpt-4o). Ctrl-C stops it; "
        "resume."
    )


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(3.2, "3 s"), (39, "40 s"), (600, "10 min"), (5400, "1 h 30 min"), (21000, "5 h 50 min")],
)
def test_durations_are_as_precise_as_an_estimate(seconds: float, said: str) -> None:
    assert duration(seconds) == said


def test_a_run_says_its_estimate_before_it_starts(tmp_path: Path) -> None:
    FLAKY.update(fail_on=None, calls=0)
    said: list[str] = []

    def echo(line: str) -> None:
        said.append(f"{line} [calls so far: {FLAKY['calls']}]")

    spec = RunSpec(model="flaky/x", limit=2, judges="compliance", judge_model="flaky/judge")
    execute(spec.replace(log_dir=str(tmp_path), display="none"), echo=echo)
    assert said[0] == (
        "aflab run: 4 samples, 20 policy calls at most (flaky/x), 4 judge replies at most "
        "(flaky/judge). Ctrl-C stops it; aflab run --resume LOG finishes it (the command is "
        "printed when it stops). [calls so far: 0]"
    )
