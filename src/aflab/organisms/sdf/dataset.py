"""The corpus as Hugging Face datasets, written to parquet: the documents kept, and the rejects.

Both tables carry the provenance of each document (universe, fact, document type, idea, the
model that wrote it, the hash of the exact prompt); the rejects add the stage that set them
aside, the main reason, every reason in words and, for duplicates, which document they repeat.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

DOCUMENTS_FILE = "documents.parquet"
REJECTS_FILE = "rejects.parquet"

PROVENANCE: dict[str, str] = {
    "doc_id": "string",
    "universe": "string",
    "universe_sha256": "string",
    "fact_id": "string",
    "fact": "string",
    "doc_type": "string",
    "idea": "string",
    "generator_model": "string",
    "prompt_sha256": "string",
    "text": "string",
    "n_words": "int32",
    "truncated": "bool",
}
REJECT_EXTRA: dict[str, str] = {
    "stage": "string",
    "reason": "string",
    "detail": "string",
    "duplicate_of": "string",
    "similarity": "float64",
}


def _features(columns: dict[str, str]) -> Any:
    from datasets import Features, Value

    return Features({name: Value(kind) for name, kind in columns.items()})


def to_dataset(rows: list[dict[str, Any]], columns: dict[str, str]) -> Any:
    """A ``datasets.Dataset`` with exactly ``columns`` (also when there are no rows)."""
    from datasets import Dataset

    data = {name: [row.get(name) for row in rows] for name in columns}
    return Dataset.from_dict(data, features=_features(columns))


def write_corpus(out: Path, documents: list[dict[str, Any]], rejects: list[dict[str, Any]]) -> None:
    import datasets

    # A bar per tiny file would bury our own summary; the caller's setting is restored after.
    was_disabled = datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    try:
        to_dataset(documents, PROVENANCE).to_parquet(str(out / DOCUMENTS_FILE))
        to_dataset(rejects, PROVENANCE | REJECT_EXTRA).to_parquet(str(out / REJECTS_FILE))
    finally:
        if not was_disabled:
            datasets.enable_progress_bars()


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of one of our parquet files (pyarrow directly: no datasets cache is written)."""
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()
