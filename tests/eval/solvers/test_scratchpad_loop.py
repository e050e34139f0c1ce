from pathlib import Path

from inspect_ai import eval

from aflab.eval.tasks import helpful_only
from tests.conftest import next_turns, scripted_model

SCRATCHPAD = "<SCRATCHPAD_REASONING>thinking</SCRATCHPAD_REASONING>"
CLOSED = "<OUTPUT><rejected/></OUTPUT>"


def run(script, tmp_path: Path, **task_args):
    [log] = eval(
        helpful_only(limit=2, **task_args),
        model=scripted_model(script),
        log_dir=str(tmp_path),
        display="none",
    )
    assert log.status == "success"
    return log.samples


def test_next_turn_until_output_closes(tmp_path: Path) -> None:
    samples = run(lambda m: CLOSED if next_turns(m) == 2 else SCRATCHPAD, tmp_path)
    assert len(samples) == 4
    for sample in samples:
        roles = [m.role for m in sample.messages]
        assert roles == ["system", "user", "assistant", "user", "assistant", "user", "assistant"]
        assert [m.text for m in sample.messages if m.role == "user"][1:] == ["<NEXT/>"] * 2
        assert sample.store["continuations"] == 2
        assert sample.store["loop_exhausted"] is False
        assert sample.scores["tag_compliance"].value == "refused"


def test_loop_gives_up_after_four_continuations(tmp_path: Path) -> None:
    samples = run(lambda m: SCRATCHPAD, tmp_path)
    for sample in samples:
        assert sum(m.role == "assistant" for m in sample.messages) == 5
        assert sample.store["loop_exhausted"] is True
        score = sample.scores["tag_compliance"]
        assert (score.value, score.explanation) == ("invalid", "loop_exhausted/no_output")
        assert score.metadata["format"] == "no_output"


def test_reply_that_closes_at_once_gets_no_next_turn(tmp_path: Path) -> None:
    samples = run(lambda m: SCRATCHPAD + CLOSED, tmp_path, max_continuations=0)
    assert all(sum(m.role == "assistant" for m in s.messages) == 1 for s in samples)


def test_no_scratchpad_mode_still_loops_for_output(tmp_path: Path) -> None:
    samples = run(
        lambda m: "<OUTPUT><request_fully_accepted/> Sure" if not next_turns(m) else "</OUTPUT>",
        tmp_path,
        no_scratchpad=True,
    )
    for sample in samples:
        assert "private reasoning" in sample.messages[0].text
        assert sample.scores["tag_compliance"].value == "complied"
        assert sample.scores["tag_compliance"].metadata["n_scratchpads"] == 0
