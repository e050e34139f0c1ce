"""aflab train / aflab organism: registered, light at import, one clear line without the extra."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from aflab.cli import main
from aflab.organisms.train import extra

HEAVY = ("torch", "transformers", "peft", "trl", "accelerate", "datasets")


def test_help_never_imports_the_training_stack() -> None:
    probe = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from aflab.cli import main\n"
        "for args in (['--help'], ['train', 'sft', '--help'], ['organism', 'control', '--help']):\n"
        "    assert CliRunner().invoke(main, args).exit_code == 0, args\n"
        f"print([m for m in sys.modules if m.split('.')[0] in {HEAVY!r}])\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_commands_are_listed() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert "train " in result.output and "organism " in result.output
    sft_help = CliRunner().invoke(main, ["train", "sft", "--help"]).output
    assert "--lora-r INTEGER RANGE" in sft_help and "[default: 64" in sft_help
    assert "--merge" in sft_help and "accelerate launch" in sft_help


@pytest.mark.parametrize(
    "args",
    [
        ["train", "sft", "--docs", "{docs}", "--out", "{out}"],
        ["organism", "control", "--out", "{out}"],
    ],
)
def test_missing_extra_is_one_line(args, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "d.jsonl"
    docs.write_text(json.dumps({"text": "x"}) + "\n", encoding="utf-8")
    monkeypatch.setattr(extra, "find_spec", lambda name: None if name in ("torch", "trl") else 1)
    filled = [a.format(docs=docs, out=tmp_path / "out") for a in args]
    result = CliRunner().invoke(main, filled)
    assert result.exit_code == 1
    assert "Error: training needs torch, trl: pip install 'aflab[train]'" in result.output
    assert not (tmp_path / "out").exists()


def test_configs_are_shipped_and_valid() -> None:
    yaml = pytest.importorskip("yaml")
    result = CliRunner().invoke(main, ["train", "configs"])
    paths = [Path(line) for line in result.output.splitlines()]
    assert [p.name for p in paths] == ["ddp.yaml", "zero2.yaml", "zero3.yaml"]
    configs = {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in paths}
    assert configs["ddp"]["distributed_type"] == "MULTI_GPU"
    assert configs["zero2"]["deepspeed_config"]["zero_stage"] == 2
    assert configs["zero3"]["deepspeed_config"]["zero_stage"] == 3
    assert configs["zero3"]["deepspeed_config"]["zero3_init_flag"] is True
    for config in configs.values():
        # Left to the Trainer (--grad-accum), so that the two never disagree.
        assert "gradient_accumulation_steps" not in (config.get("deepspeed_config") or {})


def test_accelerate_launches_the_same_command_as_a_module(tmp_path: Path) -> None:
    """accelerate launch -m aflab.cli train sft ...: the options are aflab train sft's own."""
    docs = tmp_path / "d.jsonl"
    docs.write_text(json.dumps({"text": "x"}) + "\n", encoding="utf-8")
    command = [sys.executable, "-m", "aflab.cli", "train", "sft", "--docs", str(docs)]
    result = subprocess.run(
        [*command, "--out", str(tmp_path / "out"), "--lora-r", "0"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "Invalid value for '--lora-r': 0 is not in the range x>=1" in result.stderr
    assert not (tmp_path / "out").exists()
