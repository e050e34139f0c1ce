"""Errors that mean the user asked for something that cannot run: reported without traceback."""


class UsageError(ValueError):
    pass


class NothingToDo(Exception):
    """What was asked is already done (e.g. resuming a finished run): said in one line, exit 0,
    nothing written."""
