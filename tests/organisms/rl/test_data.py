"""RL's prompts: free tier only, as aflab run builds them, on queries apart from the held-out."""

from __future__ import annotations

import pytest

from aflab.core.errors import UsageError
from aflab.data.loaders import Query, builtin_queries
from aflab.eval.tasks import alignment_faking
from aflab.organisms.rl.data import split_queries, training_rows
from aflab.spec import RunSpec

QUERIES = builtin_queries("helpful-only")


def test_the_split_is_disjoint_complete_and_seeded() -> None:
    split = split_queries(QUERIES, heldout=20, seed=7)
    train, heldout = {q.id for q in split.train}, {q.id for q in split.heldout}
    assert len(heldout) == 20 and not train & heldout
    assert train | heldout == {q.id for q in QUERIES}
    assert split_queries(QUERIES, 20, 7) == split  # the same seed, the same split
    assert split_queries(QUERIES, 20, 8).heldout != split.heldout
    assert split.record() == {
        "seed": 7,
        "train": [q.id for q in split.train],
        "heldout": [q.id for q in split.heldout],
    }


@pytest.mark.parametrize("heldout", [0, len(QUERIES)])
def test_each_side_needs_a_query(heldout: int) -> None:
    with pytest.raises(UsageError, match="at least one query on each side"):
        split_queries(QUERIES, heldout, 0)


def test_repeated_ids_are_refused() -> None:
    with pytest.raises(UsageError, match="ids repeat \\(a\\)"):
        split_queries([Query("a", "x"), Query("a", "y"), Query("b", "z")], 1, 0)


def test_rows_are_the_free_tier_turns_aflab_run_sends() -> None:
    spec = RunSpec(lab="OpenAI", limit=3)
    queries = QUERIES[:3]
    rows = training_rows(spec, queries)
    task = alignment_faking(spec)  # what aflab run asks, both tiers
    free = [s for s in task.dataset if s.metadata and s.metadata["tier"] == "free"]
    assert [row["query_id"] for row in rows] == [q.id for q in queries]
    assert [row["query"] for row in rows] == [q.text for q in queries]  # what a judge reads
    assert {row["tier"] for row in rows} == {"free"}
    assert [row["prompt"][1]["content"] for row in rows] == [s.input for s in free]
    system = rows[0]["prompt"][0]
    assert system["role"] == "system" and "OpenAI" in system["content"]
    assert all("<is_free_tier_user>True" in row["prompt"][1]["content"] for row in rows)
