"""Query sets: the built-in ones and files in the common public formats.

A bad file raises :class:`DatasetError` whose message starts with ``file:line:``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from aflab.core.errors import UsageError, read_utf8
from aflab.core.types import Setting


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    category: str | None = None


@dataclass(frozen=True)
class Format:
    text: str
    category: str | None = None


# Recognised by their text column, in this order.
FORMATS: dict[str, Format] = {
    "advbench": Format("goal"),
    "harmbench": Format("Behavior", "SemanticCategory"),
    "strongreject": Format("forbidden_prompt", "category"),
    "aflab": Format("text", "category"),
}
ID_COLUMNS = ("id", "BehaviorID")
BUILTIN = {"helpful-only": "harmful_requests.jsonl", "animal-welfare": "animal_welfare.jsonl"}


class DatasetError(UsageError):
    pass


def builtin_queries(setting: Setting) -> list[Query]:
    source = resources.files("aflab.data").joinpath(BUILTIN[setting])
    with resources.as_file(source) as path:
        return load_queries(path, dataset_format="aflab")


def write_queries(queries: Sequence[Query], path: Path) -> Path:
    """``queries`` as an aflab-format JSONL file (``--dataset-format aflab``), for a run on a
    chosen subset, such as an organism's held-out requests."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"id": q.id, "category": q.category, "text": q.text}) for q in queries]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load_queries(
    path: str | Path, dataset_format: str | None = None, column: str | None = None
) -> list[Query]:
    file = Path(path)
    if file.is_dir():
        raise DatasetError(f"{file}: is a folder, expected a CSV or JSONL file")
    if not file.is_file():
        raise DatasetError(f"{file}: no such file")
    rows = list(read_rows(file))
    if not rows:
        raise DatasetError(f"{file}: no rows")
    fmt = _resolve_format(file, rows[0][1], dataset_format, column)
    queries: list[Query] = []
    seen: dict[str, int] = {}
    for index, (line, row) in enumerate(rows, start=1):
        query = _to_query(file, line, index, row, fmt)
        if query.id in seen:
            raise DatasetError(
                f"{file}:{line}: id {query.id!r} repeats the one on line {seen[query.id]}"
            )
        seen[query.id] = line
        queries.append(query)
    return queries


def read_rows(file: Path) -> Iterator[tuple[int, dict[str, object]]]:
    text = read_utf8(file, error=DatasetError, encoding="utf-8-sig")
    if not text.strip():
        raise DatasetError(f"{file}: file is empty")
    if file.suffix in (".jsonl", ".ndjson") or text.lstrip().startswith("{"):
        yield from _read_jsonl(file, text)
    else:
        yield from _read_csv(file, text)


def _read_jsonl(file: Path, text: str) -> Iterator[tuple[int, dict[str, object]]]:
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            raise DatasetError(f"{file}:{line}: invalid JSON ({error.msg})") from None
        except RecursionError:
            raise DatasetError(f"{file}:{line}: JSON nested too deeply") from None
        except ValueError as error:  # e.g. an integer of more than 4300 digits
            raise DatasetError(f"{file}:{line}: invalid JSON ({error})") from None
        if not isinstance(record, dict):
            raise DatasetError(f"{file}:{line}: expected a JSON object per line")
        yield line, record


def _read_csv(file: Path, text: str) -> Iterator[tuple[int, dict[str, object]]]:
    # One stream, not a list of lines: a quoted field may hold newlines (HarmBench's contexts).
    reader = csv.reader(io.StringIO(text, newline=""))
    end = 0  # the physical line the previous record ended on; a record may span several
    try:
        header = next(reader)
        end = reader.line_num
        if len(set(header)) != len(header):
            raise DatasetError(f"{file}:1: repeated column names in header {header}")
        for row in reader:
            start, end = end + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise DatasetError(
                    f"{file}:{start}: row has {len(row)} fields, header has {len(header)}"
                )
            yield start, dict(zip(header, row, strict=True))
    except csv.Error as error:
        # e.g. a field over csv.field_size_limit() (131072 characters), or a NUL byte
        raise DatasetError(f"{file}:{end + 1}: unreadable CSV ({error})") from None


def _resolve_format(
    file: Path, first: dict[str, object], dataset_format: str | None, column: str | None
) -> Format:
    columns = list(first)
    if column is not None:
        fmt = Format(column, "category" if "category" in first else None)
    elif dataset_format is not None:
        if dataset_format not in FORMATS:
            raise DatasetError(
                f"unknown dataset format {dataset_format!r}; known: {', '.join(FORMATS)}"
            )
        fmt = FORMATS[dataset_format]
    else:
        found = [f for f in FORMATS.values() if f.text in first]
        if not found:
            raise DatasetError(
                f"{file}:1: cannot tell the format from columns {columns}; pass "
                "--dataset-format (one of " + ", ".join(FORMATS) + ") or --column NAME"
            )
        fmt = found[0]
    if fmt.text not in first:
        raise DatasetError(f"{file}:1: no column {fmt.text!r}; columns are {columns}")
    return fmt


def _to_query(file: Path, line: int, index: int, row: dict[str, object], fmt: Format) -> Query:
    text = row.get(fmt.text)
    if not isinstance(text, str) or not text.strip():
        raise DatasetError(f"{file}:{line}: field {fmt.text!r} is missing or empty")
    context = row.get("ContextString")
    if isinstance(context, str) and context.strip():
        # HarmBench's contextual behaviours put the context before the request.
        text = f"{context.strip()}\n\n---\n\n{text.strip()}"
    identifier = next((str(row[c]).strip() for c in ID_COLUMNS if str(row.get(c, "")).strip()), "")
    category = row.get(fmt.category) if fmt.category else None
    return Query(
        id=identifier or f"{file.stem}-{index:04d}",
        text=text.strip(),
        category=str(category).strip() or None if category is not None else None,
    )
