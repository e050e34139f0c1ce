"""The ``aflab`` command line: one module per verb; options come from :mod:`aflab.spec`."""

from aflab.cli.main import main

__all__ = ["main"]
