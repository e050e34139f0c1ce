"""The transcript browser's data: files beside the page, which loads them as it needs them.

``transcripts/index.js`` holds, for every sample, what the filters and the pair links need,
column by column, each value as its number in a list of the column's values; each
``transcripts/chunk-NNNNN.js`` holds the full records of ``size`` consecutive samples (sample
``i`` is record ``i % size`` of chunk ``i // size``). Every file is one call of the page's
``aflabTranscripts.index(...)`` or ``aflabTranscripts.chunk(n, ...)`` with JSON written by
``script_json``, which leaves no ``<``, ``>``, ``&``, U+2028 or U+2029 raw: the file is valid
JavaScript whatever text the records hold, and the page builds its cards from the values with
``textContent`` only. Scripts, not ``fetch()``: Chromium blocks ``fetch()`` of file:// URLs,
and the report must open from disk.

The records are written as they come, so that a report holds one chunk of records in memory
however many samples its logs hold.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from aflab.report.html import script_json

FOLDER = "transcripts"
INDEX = "index.js"
INDEX_CALL = "aflabTranscripts.index("
# The record field behind each column of the index: the filters' five, and the pair key's.
COLUMNS = {
    "run": "run",
    "tier": "tier",
    "bucket": "bucket",
    "af": "af_verdict",
    "category": "category",
    "query": "query_id",
    "epoch": "epoch",
}


def chunk_name(number: int) -> str:
    """The file of chunk ``number`` (from 0); ``report.js`` names it the same way."""
    return f"chunk-{number:05d}.js"


class TranscriptWriter:
    """Writes the records given to :meth:`add` into ``folder`` (made here; it must not exist),
    ``size`` to a chunk, and the index on :meth:`close`."""

    def __init__(self, folder: Path, size: int) -> None:
        if size < 1:
            raise ValueError(f"chunk size must be at least 1, not {size}")
        self.folder, self.size = folder, size
        folder.mkdir(parents=True)
        self._pending: list[dict[str, Any]] = []
        self._chunks = 0
        self._values: dict[str, dict[Any, int]] = {name: {} for name in COLUMNS}
        self._columns: dict[str, list[int]] = {name: [] for name in COLUMNS}
        self.per_run: Counter[str] = Counter()  # samples per run, in the order first seen

    def add(self, record: dict[str, Any]) -> None:
        for name, field in COLUMNS.items():
            value = record.get(field)
            codes = self._values[name]
            self._columns[name].append(codes.setdefault(_hashable(value), len(codes)))
        self.per_run[str(record.get("run"))] += 1
        self._pending.append(record)
        if len(self._pending) == self.size:
            self._flush()

    def close(self) -> Counter[str]:
        """Write the last chunk and the index; return the number of samples per run."""
        if self._pending:
            self._flush()
        index = {
            "size": self.size,
            "count": sum(self.per_run.values()),
            "chunks": self._chunks,
            "values": {name: list(codes) for name, codes in self._values.items()},
            "columns": self._columns,
        }
        _write(self.folder / INDEX, f"{INDEX_CALL}{script_json(index)});\n")
        return self.per_run

    def _flush(self) -> None:
        text = f"aflabTranscripts.chunk({self._chunks},{script_json(self._pending)});\n"
        _write(self.folder / chunk_name(self._chunks), text)
        self._chunks += 1
        self._pending = []


SampleKey = tuple[str, str, int, str]  # run, query id, epoch, tier


def sample_numbers(report: Path) -> dict[SampleKey, int]:
    """Each sample's number in the browser of the report in folder ``report`` (its card is
    ``index.html#s-NUMBER``), by run, query, epoch and tier, read back from its index; empty
    when the folder holds no browser (or one this version cannot read)."""
    file = report / FOLDER / INDEX
    try:
        text = file.read_text(encoding="utf-8")
        # script_json wrote JSON: its \u escapes of <, > and & read back as they were.
        index = json.loads(text.removeprefix(INDEX_CALL).rstrip().removesuffix(");"))
        values, columns = index["values"], index["columns"]
        fields = [[values[name][code] for code in columns[name]] for name in SAMPLE_KEY]
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return {}
    return {
        (str(run), str(query), epoch, str(tier)): number
        for number, (run, query, epoch, tier) in enumerate(zip(*fields, strict=True))
        if isinstance(epoch, int)
    }


# The index columns that name one sample (COLUMNS' names), in SampleKey's order.
SAMPLE_KEY = ("run", "query", "epoch", "tier")


def _hashable(value: Any) -> Any:
    # The columns' values are text, numbers or None; anything else is keyed by its text.
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
