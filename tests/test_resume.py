"""An interrupted run resumes: finished samples are kept, the rest are run once."""

from pathlib import Path

from inspect_ai import eval
from inspect_ai.log import read_eval_log
from inspect_ai.model import ChatMessage, GenerateConfig, ModelAPI, ModelOutput, modelapi

from aflab.runner import RunOptions, execute
from aflab.tasks import helpful_only
from tests.conftest import reply

STATE = {"fail_on": None, "calls": 0}


@modelapi(name="flaky")
def flaky() -> type[ModelAPI]:
    return FlakyModel


class FlakyModel(ModelAPI):
    def __init__(self, model_name: str, base_url=None, api_key=None, config=None, **_: object):
        super().__init__(model_name, base_url, api_key, [], config or GenerateConfig())

    async def generate(
        self, input: list[ChatMessage], tools: object, tool_choice: object, config: object
    ) -> ModelOutput:
        STATE["calls"] += 1
        if STATE["fail_on"] and STATE["fail_on"] in input[1].text:
            raise RuntimeError("simulated outage")
        return reply("<OUTPUT><rejected/></OUTPUT>")


def test_resume_finishes_an_interrupted_run(tmp_path: Path) -> None:
    task = helpful_only(limit=3)
    STATE["fail_on"] = next(iter(task.dataset)).metadata["query"]  # both tiers of query 1
    [log] = eval(task, model="flaky/x", log_dir=str(tmp_path), display="none", max_samples=1)
    assert log.status == "error" and "simulated outage" in log.error.message
    done_before = sum(1 for s in read_eval_log(log.location).samples or [] if s.error is None)
    assert done_before < 6

    STATE.update(fail_on=None, calls=0)
    outcome = execute(RunOptions(resume=log.location, log_dir=str(tmp_path), display="none"))
    assert outcome.status == "success"
    samples = read_eval_log(str(outcome.log_path)).samples
    assert sorted(s.id for s in samples) == sorted(s.id for s in task.dataset)
    assert STATE["calls"] == 6 - done_before  # finished samples were not asked again
    assert outcome.summary["tiers"]["free"]["n"] == 3
