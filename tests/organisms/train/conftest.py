"""Shared by the training tests: the embedded model converted once per session, offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NETGUARD = Path(__file__).parents[2] / "netguard"


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the converted SmolLM2 lives: $AFLAB_MODEL_CACHE when set (CI can keep it between
    runs), else a folder of this session (the conversion takes ~25 s)."""
    configured = os.environ.get("AFLAB_MODEL_CACHE")
    return Path(configured) if configured else tmp_path_factory.mktemp("model-cache")


def offline_env(cache: Path) -> dict[str, str]:
    """A subprocess with the network cut off (tests/netguard) and the hub offline."""
    return {
        **os.environ,
        "PYTHONPATH": str(NETGUARD),
        "HF_HUB_OFFLINE": "1",
        "AFLAB_MODEL_CACHE": str(cache),
        "NO_COLOR": "1",
    }
