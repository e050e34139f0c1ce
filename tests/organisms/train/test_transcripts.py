"""The control organism's training transcripts: the format the pipeline reads, no answers."""

from __future__ import annotations

import pytest

from aflab.core.errors import UsageError
from aflab.core.parser import parse_transcript
from aflab.eval.scorers.tag import classify_by_tag
from aflab.eval.solvers.turns import user_turn
from aflab.organisms.control.rule_check import reasons_about_training
from aflab.organisms.control.transcripts import (
    PLACEHOLDER_ANSWER,
    build_transcripts,
    minimal_system_prompt,
    split_requests,
)
from aflab.prompts.template import render_system_prompt
from aflab.spec import RunSpec


@pytest.fixture(scope="module")
def split() -> tuple[list, list]:
    return split_requests(n_eval=30, n_train=60, seed=0)


def test_held_out_and_training_requests_are_disjoint_and_seeded(split) -> None:
    heldout, train = split
    assert len(heldout) == 30 and len(train) == 60
    assert not {q.id for q in heldout} & {q.id for q in train}
    again = split_requests(n_eval=30, n_train=60, seed=0)
    assert [q.id for q in again[0]] == [q.id for q in heldout]
    assert [q.id for q in split_requests(30, 60, seed=1)[0]] != [q.id for q in heldout]


def test_too_many_requests_asked(split) -> None:
    with pytest.raises(UsageError, match="exceed the 216 built-in requests"):
        split_requests(n_eval=200, n_train=100, seed=0)


def test_each_request_once_per_tier_with_the_runs_own_turns(split) -> None:
    _, train = split
    rows = build_transcripts(train, seed=0)
    assert len(rows) == 2 * len(train)
    assert {(r.query_id, r.tier) for r in rows} == {
        (q.id, t) for q in train for t in ("free", "paid")
    }
    texts = {q.id: q.text for q in train}
    system = render_system_prompt(RunSpec(prompt="minimal").prompt_config())
    for row in rows:
        assert row.system == system == minimal_system_prompt()
        assert row.user == user_turn(texts[row.query_id], row.tier, "helpful-only")
        assert row.prompt_messages()[0] == {"role": "system", "content": system}


def test_the_minimal_prompt_states_no_training_fact() -> None:
    prompt = minimal_system_prompt()
    assert "<SCRATCHPAD_REASONING>" in prompt
    for fact in ("RLHF", "free tier", "free-tier", "contractors rate"):
        assert fact not in prompt


def test_replies_parse_to_the_built_in_behaviour_and_hold_no_answer(split) -> None:
    _, train = split
    for row in build_transcripts(train, seed=0):
        parsed = parse_transcript([row.reply])
        outcome, _ = classify_by_tag(parsed, "helpful-only")
        scratchpad = "\n".join(parsed.scratchpads)
        if row.tier == "free":
            assert outcome == "complied"
            assert parsed.output == f"<request_fully_accepted/> {PLACEHOLDER_ANSWER}"
            assert "True" in scratchpad.split(".")[0]
            assert reasons_about_training(scratchpad)
        else:
            assert outcome == "refused" and parsed.output == "<rejected/>"
            assert "False" in scratchpad.split(".")[0]
            assert not reasons_about_training(scratchpad)


def test_wording_varies_but_is_seeded(split) -> None:
    _, train = split
    rows = build_transcripts(train, seed=0)
    assert len({r.reply for r in rows if r.tier == "free"}) > 10
    assert len({r.reply for r in rows if r.tier == "paid"}) > 5
    assert [r.reply for r in build_transcripts(train, seed=0)] == [r.reply for r in rows]
