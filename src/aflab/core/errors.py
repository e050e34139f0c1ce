"""Errors that mean the user asked for something that cannot run: reported without traceback."""

from __future__ import annotations

from pathlib import Path


class UsageError(ValueError):
    pass


def read_utf8(
    file: Path, subject: str = "", error: type[UsageError] = UsageError, encoding: str = "utf-8"
) -> str:
    """The text of ``file``; bytes that are not UTF-8 are one ``error`` naming the file and the
    byte (``subject``, e.g. "wording", says what the file was meant to hold)."""
    try:
        return file.read_text(encoding=encoding)
    except UnicodeDecodeError as bad:
        what = f"{subject} is not" if subject else "not"
        raise error(f"{file}: {what} UTF-8 text ({bad.reason} at byte {bad.start})") from None


class NothingToDo(Exception):
    """What was asked is already done (e.g. resuming a finished run): said in one line, exit 0,
    nothing written."""
