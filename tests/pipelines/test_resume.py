"""An interrupted run resumes: finished samples are kept, the rest are run once."""

from pathlib import Path

import pytest
from inspect_ai import eval
from inspect_ai.log import read_eval_log, write_eval_log

from aflab.core.errors import UsageError
from aflab.eval.tasks import animal_welfare, helpful_only
from aflab.pipelines.run import execute
from aflab.spec import RunSpec
from tests.conftest import FLAKY


def test_resume_finishes_an_interrupted_run(tmp_path: Path) -> None:
    task = helpful_only(limit=3)
    FLAKY.update(fail_on=next(iter(task.dataset)).metadata["query"], calls=0)  # query 1
    [log] = eval(task, model="flaky/x", log_dir=str(tmp_path), display="none", max_samples=1)
    assert log.status == "error" and "simulated outage" in log.error.message
    done_before = sum(1 for s in read_eval_log(log.location).samples or [] if s.error is None)
    assert done_before < 6

    FLAKY.update(fail_on=None, calls=0)
    outcome = execute(RunSpec(resume=log.location, log_dir=str(tmp_path), display="none", limit=99))
    assert outcome.notes == ["--resume reuses the log's settings; ignored: --limit"]
    assert outcome.status == "success"
    samples = read_eval_log(str(outcome.log_path)).samples
    assert sorted(s.id for s in samples) == sorted(s.id for s in task.dataset)
    assert FLAKY["calls"] == 6 - done_before  # finished samples were not asked again
    assert outcome.summary["tiers"]["free"]["n"] == 3


def test_a_log_from_before_the_run_spec_resumes(tmp_path: Path) -> None:
    """aflab 0.1 logs recorded the prompt's facts (examples=False, ...) as task parameters."""
    from aflab.prompts.template import PromptConfig

    task = helpful_only(limit=2, lab="OpenAI", no_examples=True)
    FLAKY.update(fail_on=next(iter(task.dataset)).metadata["query"], calls=0)
    [log] = eval(task, model="flaky/x", log_dir=str(tmp_path), display="none", max_samples=1)
    assert log.status == "error"
    old = read_eval_log(log.location)
    facts = PromptConfig(lab="OpenAI", examples=False).as_dict()
    recorded = {k: v for k, v in facts.items() if k not in ("setting", "self_tag")}  # not in 0.1
    old.eval.task_args = {"limit": 2, **recorded}
    write_eval_log(old, log.location)

    FLAKY.update(fail_on=None, calls=0)
    outcome = execute(RunSpec(resume=log.location, log_dir=str(tmp_path), display="none"))
    assert outcome.status == "success"
    resumed = read_eval_log(str(outcome.log_path), header_only=True)
    assert resumed.eval.metadata["prompt_config"]["examples"] is False
    assert resumed.eval.metadata["prompt_config"]["lab"] == "OpenAI"


def interrupted_welfare_log(tmp_path: Path, **args: object) -> str:
    task = animal_welfare(limit=2, **args)
    FLAKY.update(fail_on=next(iter(task.dataset)).metadata["query"], calls=0)
    [log] = eval(task, model="flaky/x", log_dir=str(tmp_path), display="none", max_samples=1)
    assert log.status == "error"
    FLAKY.update(fail_on=None, calls=0)
    return log.location


def test_an_animal_welfare_run_resumes_with_its_self_tag(tmp_path: Path) -> None:
    location = interrupted_welfare_log(tmp_path, self_tag=True)
    outcome = execute(RunSpec(resume=location, log_dir=str(tmp_path), display="none"))
    assert outcome.status == "success"
    log = read_eval_log(str(outcome.log_path))
    assert log.eval.metadata["prompt_config"]["self_tag"] is True
    explanations = {s.scores["tag_compliance"].explanation for s in log.samples}
    assert explanations == {"reject_tag"}  # the tag rule of a self-tagged run, in every sample


def test_an_animal_welfare_log_from_before_self_tag_is_not_resumed(tmp_path: Path) -> None:
    """Its prompt always asked for the tag; rebuilt now it would not, midway through the log."""
    location = interrupted_welfare_log(tmp_path)
    old = read_eval_log(location)
    del old.eval.metadata["prompt_config"]["self_tag"]
    write_eval_log(old, location)
    with pytest.raises(UsageError, match="an animal-welfare log from before --self-tag"):
        execute(RunSpec(resume=location, log_dir=str(tmp_path), display="none"))
    assert FLAKY["calls"] == 0
