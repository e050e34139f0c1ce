"""--docs: parquet and JSONL files with a text column, and errors that name the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aflab.core.errors import UsageError
from aflab.organisms.train.documents import document_files, load_documents

pq = pytest.importorskip("pyarrow.parquet")
pa = pytest.importorskip("pyarrow")


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_parquet(path: Path, columns: dict[str, list[object]]) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def test_folder_of_parquet_and_jsonl_in_path_order(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    write_parquet(tmp_path / "b.parquet", {"text": ["two", "three"], "doc_type": ["x", "y"]})
    write_jsonl(tmp_path / "a.jsonl", [{"text": "one", "source": "s"}])
    write_jsonl(tmp_path / "sub" / "c.jsonl", [{"text": "four"}])
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    docs = load_documents(tmp_path)
    assert docs.texts == ["one", "two", "three", "four"]
    assert [p.name for p in docs.files] == ["a.jsonl", "b.parquet", "c.jsonl"]


def test_blank_texts_are_skipped_and_counted(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "d.jsonl", [{"text": "kept"}, {"text": "  "}, {"text": ""}])
    docs = load_documents(tmp_path / "d.jsonl")
    assert docs.texts == ["kept"] and docs.skipped_blank == 2


def test_limit_keeps_the_first_texts(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "d.jsonl", [{"text": f"doc {i}"} for i in range(5)])
    assert load_documents(tmp_path, limit=2).texts == ["doc 0", "doc 1"]


def test_parquet_without_text_column_names_file_and_columns(tmp_path: Path) -> None:
    write_parquet(tmp_path / "d.parquet", {"body": ["x"]})
    with pytest.raises(UsageError, match=r"d\.parquet: no 'text' column \(columns: body\)"):
        load_documents(tmp_path)


def test_jsonl_row_without_text_names_line(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "d.jsonl", [{"text": "ok"}, {"content": "no"}])
    with pytest.raises(UsageError, match=r"d\.jsonl:2: no string field 'text'"):
        load_documents(tmp_path)


def test_jsonl_bad_json_names_line(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text('{"text": "ok"}\n{oops\n', encoding="utf-8")
    with pytest.raises(UsageError, match=r"d\.jsonl:2: not JSON"):
        load_documents(tmp_path)


def test_parquet_null_text_names_row(tmp_path: Path) -> None:
    write_parquet(tmp_path / "d.parquet", {"text": ["ok", None]})
    with pytest.raises(UsageError, match=r"d\.parquet: row 1: 'text' is NoneType"):
        load_documents(tmp_path)


def test_damaged_parquet_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "d.parquet").write_bytes(b"not parquet")
    with pytest.raises(UsageError, match=r"d\.parquet: not a readable parquet file"):
        load_documents(tmp_path)


def test_empty_or_missing_sources(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="holds no .parquet or .jsonl files"):
        document_files(tmp_path)
    with pytest.raises(UsageError, match="no such documents folder or file"):
        document_files(tmp_path / "absent")
    (tmp_path / "d.csv").write_text("text\nx\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"d\.csv: documents must be \.parquet or \.jsonl"):
        document_files(tmp_path / "d.csv")
    write_jsonl(tmp_path / "blank.jsonl", [{"text": " "}])
    with pytest.raises(UsageError, match="no non-blank 'text'"):
        load_documents(tmp_path / "blank.jsonl")


def test_an_sdf_corpus_folder_gives_its_kept_documents_only(tmp_path: Path) -> None:
    write_parquet(tmp_path / "documents.parquet", {"text": ["kept"], "fact_id": ["f"]})
    write_parquet(tmp_path / "rejects.parquet", {"text": ["I can't write that."]})
    (tmp_path / "stages").mkdir()
    write_jsonl(tmp_path / "stages" / "documents.jsonl", [{"slot": "f/t0/i0/d0"}])
    docs = load_documents(tmp_path)
    assert docs.texts == ["kept"] and [p.name for p in docs.files] == ["documents.parquet"]
