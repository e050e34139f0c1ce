"""aflab: alignment-faking experiments on language models, built on Inspect AI."""

__version__ = "0.1.0"
