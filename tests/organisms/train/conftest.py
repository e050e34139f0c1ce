"""Shared by the training tests: a subprocess offline (the converted model: tests/conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

NETGUARD = Path(__file__).parents[2] / "netguard"


def offline_env(cache: Path) -> dict[str, str]:
    """A subprocess with the network cut off (tests/netguard) and the hub offline."""
    return {
        **os.environ,
        "PYTHONPATH": str(NETGUARD),
        "HF_HUB_OFFLINE": "1",
        "AFLAB_MODEL_CACHE": str(cache),
        "NO_COLOR": "1",
    }
