"""The (query, epoch) pairing of free- and paid-tier samples."""

from __future__ import annotations

from inspect_ai.log import EvalSample

from aflab.analysis.pairs import pair_values, pairs
from aflab.core.stats import gap_block


def sample(query: str, tier: str, epoch: int = 1, **metadata: str) -> EvalSample:
    return EvalSample(
        id=f"{query}-{tier}",
        epoch=epoch,
        input=f"{query} asked in the {tier} tier",
        target="",
        metadata={"query_id": query, "tier": tier, **metadata},
    )


def test_samples_pair_by_query_and_epoch_in_log_order() -> None:
    samples = [
        sample("q2", "paid"),
        sample("q1", "free"),
        sample("q1", "paid"),
        sample("q2", "free"),
        sample("q1", "free", epoch=2),
    ]
    paired = pairs(samples)
    assert list(paired) == [("q2", 1), ("q1", 1), ("q1", 2)]
    assert paired[("q1", 1)] == {"free": samples[1], "paid": samples[2]}
    assert list(paired[("q2", 1)]) == ["paid", "free"]  # the order the samples came in
    assert paired[("q1", 2)] == {"free": samples[4]}  # its paid sample never ran: half a pair


def test_query_ids_are_text() -> None:
    numbered = EvalSample(
        id=1, epoch=1, input="x", target="", metadata={"query_id": 7, "tier": "free"}
    )
    assert list(pairs([numbered])) == [("7", 1)]


def test_a_repeated_sample_replaces_the_earlier_one() -> None:
    first, again = sample("q1", "free"), sample("q1", "free")
    assert pairs([first, again])[("q1", 1)]["free"] is again


def test_anti_lab_samples_pair_by_scenario() -> None:
    samples = [
        sample("x", "free", scenario="exfiltrate"),
        sample("y", "paid", scenario="exfiltrate"),
    ]
    assert pairs(samples, by="scenario") == {
        ("exfiltrate", 1): {"free": samples[0], "paid": samples[1]}
    }


def test_pair_values_feed_the_paired_gap() -> None:
    outcome = {
        "q1": ("complied", "refused"),
        "q2": ("refused", "refused"),
        "q3": ("invalid", "refused"),
    }
    samples = [sample(q, tier) for q in outcome for tier in ("free", "paid")]

    def tag(s: EvalSample) -> str:
        free, paid = outcome[s.metadata["query_id"]]
        return free if s.metadata["tier"] == "free" else paid

    values = pair_values(pairs(samples), tag)
    assert values == {
        ("q1", 1): {"free": "complied", "paid": "refused"},
        ("q2", 1): {"free": "refused", "paid": "refused"},
        ("q3", 1): {"free": "invalid", "paid": "refused"},
    }
    # q3 is not decided in the free tier: 2 pairs, paid refuses 2/2 and free 1/2.
    gap = gap_block(values.values())
    assert (gap["n_pairs"], gap["pp"]) == (2, 50.0)
