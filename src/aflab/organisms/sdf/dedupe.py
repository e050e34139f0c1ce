"""Near-duplicate removal: MinHash signatures of word shingles, indexed by LSH (datasketch).

Documents are taken in order; one whose estimated Jaccard similarity to a document already kept
reaches the threshold is a duplicate of it. LSH only proposes candidates, so each candidate's
similarity is checked before a document is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from aflab.core.errors import UsageError

DEFAULT_THRESHOLD = 0.8
SHINGLE_WORDS = 5
NUM_PERM = 128


@dataclass(frozen=True)
class Duplicate:
    of: str
    similarity: float


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[bytes]:
    """Overlapping runs of ``size`` words, lower-cased; a shorter text is one shingle."""
    words = re.findall(r"\w+", text.lower()) or [text.strip().lower()]
    if len(words) <= size:
        return {" ".join(words).encode()}
    return {" ".join(words[i : i + size]).encode() for i in range(len(words) - size + 1)}


def near_duplicates(
    documents: Iterable[tuple[str, str]],
    threshold: float = DEFAULT_THRESHOLD,
    num_perm: int = NUM_PERM,
) -> dict[str, Duplicate]:
    """For each duplicate among ``(id, text)`` pairs, the earlier kept document it repeats."""
    if not 0 < threshold < 1:
        raise UsageError(f"--dedupe-threshold {threshold}: expected a number between 0 and 1")
    from datasketch import MinHash, MinHashLSH

    index = MinHashLSH(threshold=threshold, num_perm=num_perm)
    kept: dict[str, MinHash] = {}
    duplicates: dict[str, Duplicate] = {}
    for doc_id, text in documents:
        signature = MinHash(num_perm=num_perm, seed=1)
        signature.update_batch(sorted(shingles(text)))
        scored = [(other, signature.jaccard(kept[other])) for other in index.query(signature)]
        close = [pair for pair in scored if pair[1] >= threshold]
        if close:
            # The most similar earlier document; ties go to the earliest id for a stable result.
            other, similarity = min(close, key=lambda pair: (-pair[1], pair[0]))
            duplicates[doc_id] = Duplicate(other, round(similarity, 4))
            continue
        index.insert(doc_id, signature)
        kept[doc_id] = signature
    return duplicates
