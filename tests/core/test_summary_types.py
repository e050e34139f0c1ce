"""Checking loaded JSON against the summary shapes: keys missing or foreign, by their path."""

from __future__ import annotations

from aflab.core.summary_types import ActionTierBlock, GapBlock, JudgedBlock, shape_problem

GAP = {"pp": 50.0, "ci95_pp": [-10.0, 90.0], "mcnemar_p": 0.5, "n_pairs": 4}
ACTION = {
    "n": 2,
    "acted": 1,
    "declined": 1,
    "invalid": 0,
    "unscored": 0,
    "rate": 0.5,
    "ci95": [0.09, 0.91],
    "rate_all": 0.5,
    "ci95_all": [0.09, 0.91],
    "invalid_reasons": {},
}


def test_an_object_with_exactly_its_keys_passes() -> None:
    assert shape_problem(GAP, GapBlock) is None
    assert shape_problem(GAP | {"pp": None, "ci95_pp": None}, GapBlock) is None  # X | None


def test_keys_that_may_be_left_out_may_be_there_or_not() -> None:
    assert shape_problem(ACTION, ActionTierBlock) is None
    assert shape_problem(ACTION | {"attempted": 1, "blocked_events": 0}, ActionTierBlock) is None
    assert shape_problem(ACTION | {"attempts": 1}, ActionTierBlock) == "unexpected key 'attempts'"


def test_the_first_problem_is_named_by_its_path() -> None:
    without = {k: v for k, v in GAP.items() if k != "n_pairs"}
    assert shape_problem(without, GapBlock) == "missing key 'n_pairs'"
    assert shape_problem({"a": GAP, "b": without}, dict[str, GapBlock]) == "missing key 'b.n_pairs'"
    assert shape_problem([GAP, GAP | {"x": 1}], list[GapBlock]) == "unexpected key '[1].x'"
    assert shape_problem("text", GapBlock) == "the file is not a JSON object"


def test_literal_keys_name_the_keys_allowed() -> None:
    judged = {
        "compliance_rule": "tag",
        "af_judge": None,
        "tiers": {},
        "compliance_gap": GAP,
        "compliance_gap_all": GAP,
        "rule_agreement": None,
        "values": {"tag": {"free": {"refused": 1}, "unpaid": {}}},
        "judge_usage": {},
        "self_judged": False,
    }
    assert shape_problem(judged, JudgedBlock) == (
        "unexpected key 'values.tag.unpaid' (expected one of free, paid)"
    )
    usage = {"values": {}, "judge_usage": {"m": {"requests": 1}}}
    assert shape_problem(judged | usage, JudgedBlock) == "missing key 'judge_usage.m.input_tokens'"


def test_a_union_of_shapes_takes_any_member_that_fits() -> None:
    either = GapBlock | ActionTierBlock
    assert shape_problem(GAP, either) is None
    assert shape_problem(ACTION, either) is None
    assert shape_problem({"pp": 1.0}, either) == "missing key 'ci95_pp'"  # the first member's
