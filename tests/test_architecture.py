"""The import contracts in pyproject.toml ([tool.importlinter]) hold: the layers of src/aflab, the
independence of prompts, data and models, click in the CLI only, no import cycles.

Each contract is its own test, so that a failure names the broken contract and its imports.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import aflab

ROOT = Path(__file__).parents[1]
PYPROJECT = ROOT / "pyproject.toml"
# The package these tests import, not whichever copy is installed: lint-imports finds it on
# the path.
SOURCE = Path(aflab.__file__).parents[1]
LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def contract_ids() -> list[str]:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    return [contract["id"] for contract in config["tool"]["importlinter"]["contracts"]]


def test_every_contract_has_an_id() -> None:
    assert contract_ids() and all(contract_ids())


@pytest.mark.parametrize("contract", contract_ids())
def test_contract_holds(contract: str) -> None:
    pythonpath = os.pathsep.join(filter(None, [str(SOURCE), os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", LINT, "--no-cache", "--no-logo", "--contract", contract, PYPROJECT],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": pythonpath},
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = result.stdout.partition("Broken contracts")[2].lstrip("-\n")
    assert result.returncode == 0, (
        f"import contract {contract!r} is broken:\n{report or result.stdout + result.stderr}"
    )
    assert "1 kept, 0 broken" in result.stdout
