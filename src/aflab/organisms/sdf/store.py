"""Stage files: one JSON record per line, appended as each result arrives, read back on resume.

A run that is interrupted leaves at most one incomplete last line; it is removed (and counted)
so that the next append starts on a fresh line, and its work is simply done again. A broken line
anywhere else is not ours to repair: it stops the run with its file and line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aflab.core.errors import UsageError


class StageFile:
    def __init__(self, path: Path, key: str) -> None:
        self.path = path
        self.key = key
        self.records: dict[str, dict[str, Any]] = {}
        self.incomplete = 0
        if path.exists():
            self._load()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = path.open("a", encoding="utf-8")

    def _load(self) -> None:
        raw = self.path.read_bytes()
        lines = raw.split(b"\n")
        # Text after the last newline is a record whose write was cut short.
        tail = lines.pop()
        if tail.strip():
            self.incomplete = 1
            self.path.write_bytes(raw[: len(raw) - len(tail)])
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                key = record[self.key]
            except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as error:
                raise UsageError(
                    f"{self.path}:{number}: not a stage record with {self.key!r} ({error}); "
                    "remove the line or start a new --out folder"
                ) from None
            self.records[str(key)] = record

    def get(self, key: str) -> dict[str, Any] | None:
        return self.records.get(key)

    def add(self, record: dict[str, Any]) -> None:
        self.records[str(record[self.key])] = record
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()
