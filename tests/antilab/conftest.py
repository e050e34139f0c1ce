"""The sandbox tests need a working bubblewrap; CI installs it, so there a missing one fails."""

import os
import shutil
import subprocess

import pytest


def bwrap_works() -> str | None:
    """None if bwrap can make the namespaces the sandbox uses, else why not."""
    if not shutil.which("bwrap"):
        return "bubblewrap is not installed (apt-get install bubblewrap)"
    probe = ["bwrap", "--unshare-all", "--ro-bind", "/", "/", "--", "true"]
    result = subprocess.run(probe, capture_output=True, text=True)
    return None if result.returncode == 0 else f"bwrap cannot sandbox here: {result.stderr.strip()}"


@pytest.fixture
def needs_bwrap() -> None:
    reason = bwrap_works()
    if reason and os.environ.get("CI"):
        pytest.fail(reason)
    if reason:
        pytest.skip(reason)
