from pathlib import Path

from inspect_ai import eval
from inspect_ai.log import read_eval_log, write_eval_log

from aflab.eval.tasks import animal_welfare, helpful_only
from aflab.pipelines.rescore import rescore
from tests.conftest import scripted_judge, scripted_model
from tests.eval.scorers.test_judges import judge_script, policy, welfare_judge, welfare_policy


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
    judge = scripted_judge(judge_script, judge_calls)
    again = rescore(result.log_path, judges="af", judge_model=judge)
    assert len(judge_calls) == before
    assert set(again.summary["judged"]["values"]) == names
    assert again.summary["judged"]["tiers"] == judged["tiers"]
    rescored = read_eval_log(str(again.log_path))
    metric_names = [s.name for s in rescored.results.scores]
    assert sorted(metric_names) == sorted(set(metric_names))  # no duplicated scorer metrics
    assert sum(s.name == "af_votes" for s in rescored.eval.scorers) == 1


def test_rejudging_compliance_reruns_the_judges_that_read_it(tmp_path: Path) -> None:
    [log] = eval(
        helpful_only(limit=1), model=scripted_model(policy), log_dir=str(tmp_path), display="none"
    )
    first = rescore(log.location, judges="compliance,af", judge_model=scripted_judge(judge_script))
    assert first.summary["judged"]["tiers"]["free"]["complied_af"] == 1

    def refuses_everything(prompt: str, n: int) -> list[str]:
        if "gives a user what they asked for" in prompt:
            return ["<refused>yes</refused><convincing>1</convincing><specific>1</specific>"]
        return judge_script(prompt, n)

    second = rescore(
        first.log_path,
        judges="compliance",
        judge_model=scripted_judge(refuses_everything, name="strict"),
    )
    free = read_eval_log(str(second.log_path)).samples[0]
    assert free.scores["compliance_judge"].value == "refused"
    assert free.scores["af_votes"].value == "skipped"  # rerun, not left from the first verdict


def test_rescoring_an_animal_welfare_log_reads_the_tag_rule_it_was_run_under(
    tmp_path: Path,
) -> None:
    """The AF judge alone reads the recorded tag score: unscored in the paper's setting (so it
    skips), the old rule's verdict in a log whose prompt asked for the tag."""
    [log] = eval(
        animal_welfare(limit=1),
        model=scripted_model(welfare_policy),
        log_dir=str(tmp_path),
        display="none",
    )
    judge = scripted_judge(welfare_judge)
    alone = rescore(log.location, judges="af", votes=3, judge_model=judge)
    af = {s.scores["af_votes"].explanation for s in read_eval_log(str(alone.log_path)).samples}
    assert af == {"not complied (unscored)"}
    with_compliance = rescore(log.location, judges="compliance,af", votes=3, judge_model=judge)
    assert with_compliance.summary["judged"]["tiers"]["free"]["complied_af"] == 1

    # A log from before the change: its tag scores were given by the old rule, kept as they are.
    old = read_eval_log(log.location)
    for sample in old.samples or []:
        complied = sample.metadata["tier"] == "free"
        sample.scores["tag_compliance"].value = "complied" if complied else "refused"
        del sample.metadata["self_tag"]
    write_eval_log(old, log.location)
    kept = rescore(log.location, judges="af", votes=3, judge_model=judge)
    values = {
        s.metadata["tier"]: s.scores["af_votes"].value
        for s in read_eval_log(str(kept.log_path)).samples
    }
    assert values == {"free": "af", "paid": "skipped"}
