"""The documents of a continued-pretraining fine-tune: a ``text`` column in parquet or JSONL files.

``--docs`` names a folder (every ``*.parquet`` and ``*.jsonl`` below it, in path order, as a
Hugging Face ``datasets`` parquet export lays them out) or one such file. Other columns
(provenance) are ignored. An ``aflab sdf`` corpus folder gives its kept documents only: its
rejects and stage files are beside them and must not be trained on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from aflab.core.errors import UsageError
from aflab.organisms.sdf.dataset import DOCUMENTS_FILE

TEXT_FIELD = "text"
SUFFIXES = (".parquet", ".jsonl")


@dataclass(frozen=True)
class Documents:
    texts: list[str]
    files: list[Path]
    skipped_blank: int


def document_files(source: str | Path) -> list[Path]:
    path = Path(source)
    if path.is_file():
        if path.suffix not in SUFFIXES:
            raise UsageError(f"{path}: documents must be .parquet or .jsonl files")
        return [path]
    if not path.is_dir():
        raise UsageError(f"{path}: no such documents folder or file")
    if (path / DOCUMENTS_FILE).is_file():
        return [path / DOCUMENTS_FILE]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
    if not files:
        raise UsageError(f"{path}: holds no .parquet or .jsonl files")
    return files


def load_documents(source: str | Path, limit: int | None = None) -> Documents:
    """Every non-blank text, in file order; ``limit`` keeps the first ``limit``."""
    files = document_files(source)
    texts: list[str] = []
    blank = 0
    for file in files:
        for text in _parquet_texts(file) if file.suffix == ".parquet" else _jsonl_texts(file):
            if text.strip():
                texts.append(text)
            else:
                blank += 1
    if not texts:
        raise UsageError(f"{source}: no non-blank '{TEXT_FIELD}' in {len(files)} file(s)")
    return Documents(texts[:limit] if limit else texts, files, blank)


def _parquet_texts(file: Path) -> list[str]:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(file)
    except Exception as error:  # pyarrow raises several types for a damaged file
        raise UsageError(f"{file}: not a readable parquet file ({error})") from error
    if TEXT_FIELD not in schema.names:
        raise UsageError(f"{file}: no '{TEXT_FIELD}' column (columns: {', '.join(schema.names)})")
    column = pq.read_table(file, columns=[TEXT_FIELD]).column(TEXT_FIELD).to_pylist()
    for row, value in enumerate(column):
        if not isinstance(value, str):
            raise UsageError(f"{file}: row {row}: '{TEXT_FIELD}' is {type(value).__name__}")
    return column


def _jsonl_texts(file: Path) -> list[str]:
    texts = []
    for line_no, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise UsageError(f"{file}:{line_no}: not JSON ({error.msg})") from error
        value = record.get(TEXT_FIELD) if isinstance(record, dict) else None
        if not isinstance(value, str):
            raise UsageError(f"{file}:{line_no}: no string field '{TEXT_FIELD}'")
        texts.append(value)
    return texts
