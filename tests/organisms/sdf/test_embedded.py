"""``aflab sdf generate`` on the embedded model, end to end, with the network cut off."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from aflab.cli import main

pytest.importorskip("xllamacpp", reason="needs the 'embedded' extra")
pytest.importorskip("datasets", reason="needs the 'sdf' extra")
pytest.importorskip("datasketch", reason="needs the 'sdf' extra")

from tests.models.test_embedded import offline_env  # noqa: E402

AFLAB = Path(sys.executable).with_name("aflab")
# One document, one type, one idea, short replies: the whole pipeline in seconds.
TINY = ["--n-docs", "1", "--types-per-fact", "1", "--ideas-per-type", "1", "--max-tokens", "64"]


def aflab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AFLAB), *args],
        cwd=cwd,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_demo_generates_and_inspects_offline(tmp_path: Path) -> None:
    first = aflab("sdf", "generate", *TINY, "--seed", "1", "--out", "corpus", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "this is a plumbing demo" in first.stdout
    summary = json.loads((tmp_path / "corpus" / "summary.json").read_text())
    assert summary["planned"] == 1 and summary["requests"]["requests"] >= 2
    # Whatever the 135M model wrote, every slot is accounted for.
    assert summary["generated"] + sum(summary["not_generated"].values()) >= 1
    assert summary["kept"] + summary["rejected"] == summary["generated"]
    assert (tmp_path / "corpus" / "documents.parquet").is_file()

    # In process from here on (a subprocess costs seconds of imports): no request is made.
    corpus = str(tmp_path / "corpus")
    again = CliRunner().invoke(main, ["sdf", "generate", *TINY, "--seed", "1", "--out", corpus])
    assert again.exit_code == 0, again.output
    assert "model requests: 0 " in again.output

    shown = CliRunner().invoke(main, ["sdf", "inspect", corpus])
    assert shown.exit_code == 0, shown.output
    assert "documents: 1 planned" in shown.output
    assert "fact coverage:" in shown.output
