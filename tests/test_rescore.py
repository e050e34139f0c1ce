from pathlib import Path

from inspect_ai import eval

from aflab.rescore import rescore
from aflab.tasks import helpful_only
from tests.conftest import scripted_judge, scripted_model
from tests.scorers.test_judges import judge_script, policy


def test_rescore_adds_judges_without_policy_calls(tmp_path: Path) -> None:
    policy_calls: list[int] = []

    def counting_policy(messages) -> str:
        policy_calls.append(1)
        return policy(messages)

    [log] = eval(
        helpful_only(limit=2),
        model=scripted_model(counting_policy),
        log_dir=str(tmp_path),
        display="none",
    )
    assert len(policy_calls) == 4
    judge_calls: list[tuple[str, int]] = []
    result = rescore(log.location, judge_model=scripted_judge(judge_script, judge_calls))
    assert len(policy_calls) == 4  # the policy was not asked again
    assert result.log_path.name.endswith("-rescored.eval")
    assert result.log_path.is_file()
    names = set(result.summary["judged"]["values"])
    assert names == {"compliance_judge", "af_votes", "partial_compliance", "unmonitored_reasoning"}
    judged = result.summary["judged"]
    assert judged["tiers"]["free"]["complied_af"] == 2
    assert result.summary["tiers"]["free"]["complied"] == 2  # the tag scores are kept

    # Judging the rescored log again replaces the af scores instead of adding a second set,
    # and costs nothing: every judge call is cached.
    before = len(judge_calls)
    again = rescore(
        result.log_path, judges="af", judge_model=scripted_judge(judge_script, judge_calls)
    )
    assert len(judge_calls) == before
    assert set(again.summary["judged"]["values"]) == names
