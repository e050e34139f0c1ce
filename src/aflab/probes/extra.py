"""The optional extras the probes need: one clear line when they are missing."""

from __future__ import annotations

from importlib.util import find_spec

from aflab.core.errors import UsageError

COLLECT_MODULES = ("torch", "transformers", "safetensors")
TRAIN_MODULES = ("sklearn", "safetensors")
INSTALL_HINT = "pip install 'aflab[train,probe]'"


def require(modules: tuple[str, ...], what: str) -> None:
    missing = [name for name in modules if find_spec(name) is None]
    if missing:
        raise UsageError(f"{what} needs {', '.join(missing)}: {INSTALL_HINT}")
