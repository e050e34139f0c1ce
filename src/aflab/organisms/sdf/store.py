"""Stage files: one JSON record per line, appended as each result arrives, read back on resume.

A run that is interrupted leaves at most one incomplete last line; it is removed (and counted)
so that the next append starts on a fresh line, and its work is simply done again. A broken line
anywhere else is not ours to repair: it stops the run with its file and line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from aflab.core.errors import UsageError


class StageFile:
    """A stage's records by key. ``readonly``: only read (a plan looks, and leaves the file,
    an incomplete last line included, as it was); ``add`` is then refused."""

    def __init__(self, path: Path, key: str, readonly: bool = False) -> None:
        self.path = path
        self.key = key
        self.records: dict[str, dict[str, Any]] = {}
        self.incomplete = 0
        if path.exists():
            self._load(readonly)
        self._handle: TextIO | None = None
        if not readonly:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = path.open("a", encoding="utf-8")

    def _load(self, readonly: bool) -> None:
        raw = self.path.read_bytes()
        lines = raw.split(b"\n")
        # Text after the last newline is a record whose write was cut short.
        tail = lines.pop()
        if tail.strip():
            self.incomplete = 1
            if not readonly:
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
        if self._handle is None:
            raise RuntimeError(f"{self.path}: opened read-only")
        self.records[str(record[self.key])] = record
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
