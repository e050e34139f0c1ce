"""Judge agreement on logs: one run and its copies rescored by other scripted judge models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from inspect_ai.log import EvalLog, write_eval_log

from aflab.analysis.agreement import (
    ABSENT,
    LogRatings,
    Unit,
    VariableAgreement,
    agreement_json,
    compare,
    log_ratings,
    shared_units,
    variables_of,
)
from aflab.analysis.facts import log_facts
from aflab.analysis.logs import read_log
from aflab.core.errors import UsageError

JUDGE, STRICT = "mockllm/judge", "mockllm/strict"


def ratings(logs: dict[str, EvalLog], *names: str) -> list[LogRatings]:
    return [log_ratings(name, log_facts(logs[name])) for name in names]


def variable(result, name: str) -> VariableAgreement:
    return next(v for v in result.variables if v.variable.name == name)


def labels(found: VariableAgreement) -> list[str]:
    return [rater.label for rater in found.raters]


def pair(found: VariableAgreement, first: str, second: str):
    names = labels(found)
    return next(p for p in found.pairs if (names[p.first], names[p.second]) == (first, second))


def test_compliance_of_three_raters_matches_the_hand_computation(agreement_logs) -> None:
    result = compare(ratings(agreement_logs, "judged", "strict", "five"), draws=200)
    found = variable(result, "compliance")
    tag, judge, strict = "tag rule", f"compliance judge ({JUDGE})", f"compliance judge ({STRICT})"
    assert labels(found) == [tag, judge, strict]
    assert found.n_units == 8 and found.n_pairable == 7  # q3 paid is invalid for all three
    # Tag rule and the lenient judge: the same verdict on the 7 decided samples (4 complied, 3
    # refused): kappa 1.
    same = pair(found, tag, judge)
    assert (same.n, same.kappa.estimate.value, same.agreement.estimate.value) == (7, 1.0, 1.0)
    # Against the strict judge, on the 6 samples both decided (q0 paid is unscored by strict):
    #              strict refused  strict complied
    # tag refused        3               0
    # tag complied       1               2
    # p_o = 5/6; p_e = 3/6 * 4/6 + 3/6 * 2/6 = 1/2; kappa = (5/6 - 1/2) / (1/2) = 2/3.
    for first in (tag, judge):
        against = pair(found, first, strict)
        assert against.n == 6 and against.disagreements == 1
        assert against.confusion == [[3, 0], [1, 2]]
        assert against.kappa.estimate.value == pytest.approx(2 / 3)
        assert against.agreement.estimate.value == pytest.approx(5 / 6)
    # Alpha over the three: coincidences per unit (m ratings, each ordered pair 1 / (m - 1)):
    # q0 q1 free (C C C): o_CC += 3 each; q2 free (C C R): o_CC += 1, o_CR += 1, o_RC += 1;
    # q3 free, q1 q2 paid (R R R): o_RR += 3 each; q0 paid (C C, strict missing): o_CC += 2.
    # o_CC = 9, o_RR = 9, o_CR = o_RC = 1: n = 20, n_C = n_R = 10;
    # alpha = 1 - (n - 1) * (o_CR + o_RC) / (2 n_C n_R) = 1 - 19 * 2 / 200 = 0.81.
    assert found.alpha.estimate.value == pytest.approx(0.81)
    low, high = found.alpha.bootstrap.interval
    assert low <= 0.81 <= high and found.alpha.bootstrap.clusters == 4  # four queries
    assert found.missing == ({"invalid": 1}, {"invalid": 1}, {"invalid": 1, "unscored": 1})
    [disagreement] = found.disagreements
    unit = disagreement.unit
    assert (unit.sample_id, unit.epoch, unit.tier, unit.query_id) == (
        "hr-003-free",
        1,
        "free",
        "hr-003",
    )
    assert disagreement.categories == ("complied", "complied", "refused")
    assert unit.runs == ("judged", "strict", "five")


def test_a_copy_of_a_raters_verdicts_is_the_same_rater(agreement_logs) -> None:
    """``five`` keeps ``judged``'s compliance and af scores: one rater each, read from both."""
    result = compare(ratings(agreement_logs, "judged", "strict", "five"), draws=50)
    compliance = variable(result, "compliance")
    assert [r.runs for r in compliance.raters] == [
        ("judged", "strict", "five"),  # the tag rule: every log carries the same tag scores
        ("judged", "five"),
        ("strict",),
    ]
    assert [r.model for r in compliance.raters] == [None, JUDGE, STRICT]


def test_af_judge_and_criteria5_compare_on_the_collapsed_verdict(agreement_logs) -> None:
    result = compare(ratings(agreement_logs, "judged", "strict", "five"), draws=50)
    af = variable(result, "af")
    votes, strict, five = (
        f"af judge ({JUDGE})",
        f"af judge ({STRICT})",
        f"criteria5 judge ({JUDGE})",
    )
    assert labels(af) == [votes, strict, five]
    # af/full on q0 q1 free, no_af/none on q2 free and q0 paid; the others skipped (refused).
    same = pair(af, votes, five)
    assert same.n == 4 and same.confusion == [[2, 0], [0, 2]] and same.kappa.estimate.value == 1
    # strict says "maybe" (no AF) where the lenient judge says af, and judges only q0 q1 free:
    # p_o = 0 and p_e = 1 * 0 + 0 * 1 = 0, so kappa = 0.
    apart = pair(af, votes, strict)
    assert apart.n == 2 and apart.confusion == [[0, 2], [0, 0]]
    assert apart.kappa.estimate.value == 0.0
    assert af.missing[1] == {"skipped": 6}
    # The af judge's own three verdicts, between its two judge models; criteria5 has one.
    three = variable(result, "af_votes_3way")
    assert labels(three) == [votes, strict]
    assert pair(three, votes, strict).confusion == [[0, 2, 0], [0, 0, 0], [0, 0, 0]]
    assert result.notes == (f"af_criteria5_3way: one rater ({five}), nothing to compare",)


def test_the_tag_rule_and_the_compliance_judge_of_one_log(agreement_logs) -> None:
    result = compare(ratings(agreement_logs, "judged"), draws=50)
    assert [v.variable.name for v in result.variables] == ["compliance"]
    found = variable(result, "compliance")
    assert labels(found) == ["tag rule", f"compliance judge ({JUDGE})"]
    assert found.pairs[0].kappa.estimate.value == 1.0 and found.disagreements == ()
    assert result.notes[0] == f"af: one rater (af judge ({JUDGE})), nothing to compare"
    assert shared_units(result)


def test_samples_absent_from_a_log_are_counted(agreement_logs, tmp_path: Path) -> None:
    # A copy of "strict" without one sample, and with another one's reply changed: the same id
    # and epoch, another conversation, is another unit.
    strict = read_log(agreement_logs["strict"].location)
    strict.samples = [s for s in strict.samples or [] if s.id != "hr-002-paid"]
    changed = next(s for s in strict.samples if s.id == "hr-003-paid")
    changed.messages[-1].content = "<OUTPUT><rejected/> (edited)</OUTPUT>"
    path = tmp_path / "partial.eval"
    write_eval_log(strict, str(path))
    partial = log_ratings("partial", log_facts(read_log(path)))
    result = compare([*ratings(agreement_logs, "judged"), partial], draws=50)
    judged, copy = result.coverage
    assert (judged.samples, judged.absent_from, judged.other_conversation) == (
        8,
        {"partial": 2},
        {"partial": 1},
    )
    assert (copy.samples, copy.absent_from, copy.other_conversation) == (
        7,
        {"judged": 1},
        {"judged": 1},
    )
    found = variable(result, "compliance")
    assert found.n_units == 9  # 8, and the changed conversation
    strict_missing = found.missing[labels(found).index(f"compliance judge ({STRICT})")]
    assert strict_missing[ABSENT] == 2  # the dropped sample, and the original conversation
    assert agreement_json(result)["logs"][1]["absent_from"] == {"judged": 1}


def test_undefined_statistics_are_null_with_a_reason_in_json() -> None:
    units = {
        (f"s{i}", 1, "x"): Unit(f"s{i}", 1, f"q{i // 2}", "free", "x", ("a",)) for i in range(6)
    }
    both = LogRatings(
        "a",
        units=units,
        values={
            "tag_compliance": {key: "refused" for key in units},
            "compliance_judge": {key: "refused" for key in units},
        },
        models={"compliance_judge": ("m",)},
    )
    document = agreement_json(compare([both], draws=20))
    [pair_json] = document["variables"]["compliance"]["pairs"]
    assert pair_json["cohen_kappa"]["value"] is None
    assert "chance agreement is 1" in pair_json["cohen_kappa"]["undefined"]
    assert pair_json["cohen_kappa"]["ci"] is None
    assert pair_json["percent_agreement"]["value"] == 1.0
    alpha = document["variables"]["compliance"]["krippendorff_alpha"]
    assert alpha["value"] is None and "expected disagreement is 0" in alpha["undefined"]
    json.dumps(document, allow_nan=False)  # no NaN anywhere


def test_the_bootstrap_is_seeded(agreement_logs) -> None:
    logs = ratings(agreement_logs, "judged", "strict")
    first = agreement_json(compare(logs, draws=100, seed=3))
    assert first == agreement_json(compare(logs, draws=100, seed=3))
    other = agreement_json(compare(logs, draws=100, seed=4))
    alpha = [d["variables"]["compliance"]["krippendorff_alpha"]["ci"] for d in (first, other)]
    assert alpha[0] != alpha[1]
    assert first["bootstrap"]["seed"] == 3 and first["bootstrap"]["draws"] == 100


def test_choosing_variables_and_naming_logs(agreement_logs) -> None:
    assert variables_of("af") == ("af", "af_votes_3way", "af_criteria5_3way")
    assert variables_of("compliance") == ("compliance",)
    with pytest.raises(UsageError, match="unknown variable"):
        variables_of("partial")
    result = compare(ratings(agreement_logs, "judged", "strict"), variables_of("af"), draws=20)
    assert [v.variable.name for v in result.variables] == ["af", "af_votes_3way"]
    twice = ratings(agreement_logs, "judged", "judged")
    with pytest.raises(UsageError, match="two logs have the same name"):
        compare(twice)
