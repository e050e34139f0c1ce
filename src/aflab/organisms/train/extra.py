"""The optional ``train`` extra: fail with one clear line when it is not installed."""

from __future__ import annotations

from importlib.util import find_spec

from aflab.core.errors import UsageError

TRAIN_MODULES = ("torch", "transformers", "peft", "trl", "accelerate", "datasets", "gguf")
INSTALL_HINT = "pip install 'aflab[train]'"


def missing_train_modules() -> list[str]:
    return [name for name in TRAIN_MODULES if find_spec(name) is None]


def require_train_extra() -> None:
    missing = missing_train_modules()
    if missing:
        raise UsageError(f"training needs {', '.join(missing)}: {INSTALL_HINT}")
