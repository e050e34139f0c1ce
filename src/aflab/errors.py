"""Errors that mean the user asked for something that cannot run: reported without traceback."""


class UsageError(ValueError):
    pass
