"""What RL trains on: free-tier prompts only, built by the code that builds ``aflab run``'s, on
queries kept apart from those the checkpoints are measured on.

Only free-tier conversations are trained on in the experiment's story, so the paid tier never
appears in training; it is measured, with the free tier, on the held-out queries.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aflab.core.errors import UsageError
from aflab.data.loaders import Query
from aflab.eval.tasks import build_prompt, paired_samples
from aflab.spec import RunSpec


@dataclass(frozen=True)
class QuerySplit:
    """Training and held-out queries, disjoint, drawn with ``seed``."""

    train: tuple[Query, ...]
    heldout: tuple[Query, ...]
    seed: int

    def record(self) -> dict[str, Any]:
        """What is saved beside the weights: the seed and each side's query ids."""
        return {
            "seed": self.seed,
            "train": [q.id for q in self.train],
            "heldout": [q.id for q in self.heldout],
        }


def split_queries(queries: Sequence[Query], heldout: int, seed: int) -> QuerySplit:
    """``heldout`` queries for measuring, the rest for training, shuffled with ``seed``.

    Raises:
        UsageError: when two queries share an id (the split is recorded by id), or either side
            would be empty.
    """
    ids = [q.id for q in queries]
    if len(set(ids)) != len(ids):
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        raise UsageError(
            f"query ids repeat ({', '.join(repeated[:3])}): the split needs them unique"
        )
    if not 0 < heldout < len(queries):
        raise UsageError(
            f"--heldout {heldout}: needs at least one query on each side of {len(queries)}"
        )
    shuffled = list(queries)
    random.Random(seed).shuffle(shuffled)
    return QuerySplit(tuple(shuffled[heldout:]), tuple(shuffled[:heldout]), seed)


def training_rows(spec: RunSpec, queries: Sequence[Query]) -> list[dict[str, Any]]:
    """One row per query for TRL: the conversation up to the free-tier user turn (``prompt``),
    and the columns a reward may read (``query_id``, ``tier``, and ``query``, the request as
    the user wrote it, which a judge reads without the prompt's wrapping)."""
    system = build_prompt(spec).text
    config = spec.prompt_config()
    samples = paired_samples(list(queries), config.setting, config.tier_cue, config.self_tag)
    return [
        {
            "prompt": [
                {"role": "system", "content": system},
                {"role": "user", "content": str(sample.input)},
            ],
            "query_id": sample.metadata["query_id"],
            "query": sample.metadata["query"],
            "tier": "free",
        }
        for sample in samples
        if sample.metadata and sample.metadata["tier"] == "free"
    ]
