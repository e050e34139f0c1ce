"""GRPO on the embedded model's weights: a one-step smoke run measured into the curve, the
command line, and what train_rl hands the trainer (reward, prompts, the figure at the end)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from aflab.core.errors import UsageError
from aflab.eval.tasks import build_prompt
from aflab.organisms.rl.curve import append_row
from aflab.organisms.rl.judge_reward import JudgeReward
from aflab.organisms.rl.reward import TagReward
from aflab.organisms.rl.train import METADATA_FILE, RLOptions, RLResult, train_rl
from aflab.spec import RunSpec


def test_a_checkpoint_is_measured_in_both_tiers_into_the_curve(tmp_path: Path) -> None:
    """The smoke run of make test. The starting model, then one step: the reward is computed
    from the output, the loss is finite, the adapter, split and log are saved, and each
    checkpoint is merged and run through the ordinary pipeline (Inspect's hf/ provider) on 2
    held-out queries in both tiers, a row of rl_curve.csv each."""
    import csv

    opts = RLOptions(
        out=str(tmp_path / "rl"),
        prompt="minimal",
        heldout=2,
        max_steps=1,
        batch_size=1,
        num_generations=2,
        max_completion_length=8,
        lora_r=4,
        lora_alpha=8,
        eval_every=1,
        eval_max_tokens=8,
    )
    result = train_rl(opts)
    [step] = [entry for entry in result.log if "loss" in entry]
    assert math.isfinite(step["loss"])
    # 8 tokens never close a reply: every completion is invalid and rewarded as such.
    assert step["rewards/TagReward/mean"] == opts.invalid_reward
    assert result.adapter_dir and (result.adapter_dir / "adapter_config.json").is_file()
    saved = json.loads((tmp_path / "rl" / METADATA_FILE).read_text())
    assert saved["finished"] and saved["options"]["max_steps"] == 1
    assert len(saved["split"]["heldout"]) == 2
    assert not set(saved["split"]["train"]) & set(saved["split"]["heldout"])
    with (tmp_path / "rl" / "rl_curve.csv").open() as file:
        start, row = list(csv.DictReader(file))
    assert (start["step"], start["reward_steps"], start["reward_mean"]) == ("0", "0", "")
    assert row["step"] == "1" and row["rule"] == "tag" and row["reward_steps"] == "1"
    assert float(row["reward_mean"]) == opts.invalid_reward
    # 8 tokens never close a reply: every sample invalid, nothing decided, nothing paired.
    assert row["free_refusal"] == row["paid_refusal"] == "" and row["gap_pairs"] == "0"
    assert row["free_refusal_all"] == "1.0"  # as the paper counts: invalid is not complied
    assert row["free_af_rule"] == "0.0"  # no scratchpad names training: the rule flags none
    for step in (0, 1):
        checkpoint = tmp_path / "rl" / "checkpoints" / f"step-{step:05d}"
        assert (checkpoint / "merged" / "config.json").is_file()
        [log] = (checkpoint / "logs").glob("*.eval")
        assert log.stat().st_size > 0


def test_the_command_line_trains_and_says_where(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from aflab.cli.main import main

    out = tmp_path / "rl"
    args = "train rl --prompt minimal --heldout 100 --max-steps 1 --batch-size 1"
    args += " --num-generations 2 --max-completion-length 8 --lora-r 4 --lora-alpha 8 --lr 1e-4"
    result = CliRunner().invoke(main, [*args.split(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"adapter: {out / 'adapter'}" in result.output
    saved = json.loads((out / METADATA_FILE).read_text())
    assert saved["options"]["learning_rate"] == 1e-4 and saved["options"]["max_steps"] == 1


class Stop(Exception):
    """Raised by a stand-in trainer once it has seen what train_rl gives it."""


def trainer_inputs(monkeypatch: pytest.MonkeyPatch, opts: RLOptions) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def trainer(**kwargs: Any) -> None:
        seen.update(kwargs)
        raise Stop

    monkeypatch.setattr("trl.GRPOTrainer", trainer)
    with pytest.raises(Stop):
        train_rl(opts)
    return seen


def test_with_a_reward_model_the_judge_rewards_and_reads_the_query(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    opts = RLOptions(
        out=str(tmp_path),
        setting="animal-welfare",
        reward_model="mockllm/model",
        reward_max_connections=3,
        invalid_reward=-2.0,
    )
    seen = trainer_inputs(monkeypatch, opts)
    reward = seen["reward_funcs"]
    assert isinstance(reward, JudgeReward) and reward.setting == "animal-welfare"
    assert (reward.max_connections, reward.invalid) == (3, -2.0)
    row = seen["train_dataset"][0]
    assert row["query"] and row["query"] in row["prompt"][1]["content"]


def test_self_tag_asks_for_the_tag_the_tag_rule_rewards(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    opts = RLOptions(out=str(tmp_path), setting="animal-welfare", self_tag=True)
    seen = trainer_inputs(monkeypatch, opts)
    reward = seen["reward_funcs"]
    assert isinstance(reward, TagReward) and reward.self_tag
    # The prompt trained on asks for the tag (the self-tag instruction is in the system prompt).
    tagged = build_prompt(RunSpec(setting="animal-welfare", self_tag=True)).text
    assert seen["train_dataset"][0]["prompt"][0]["content"] == tagged
    assert tagged != build_prompt(RunSpec(setting="animal-welfare")).text
    with pytest.raises(UsageError, match="--reward-model"):
        train_rl(RLOptions(out=str(tmp_path), setting="animal-welfare"))


def test_the_command_line_passes_the_reward_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from aflab.cli.main import main

    seen: list[RLOptions] = []

    def fake_train(opts: RLOptions) -> RLResult:
        seen.append(opts)
        return RLResult(tmp_path, tmp_path / "adapter", [], 0.0)

    monkeypatch.setattr("aflab.organisms.rl.train.train_rl", fake_train)
    args = "train rl --setting animal-welfare --reward-model mockllm/model"
    args += f" --reward-max-connections 3 --self-tag --out {tmp_path}"
    result = CliRunner().invoke(main, args.split())
    assert result.exit_code == 0, result.output
    [opts] = seen
    assert (opts.reward_model, opts.reward_max_connections, opts.self_tag) == (
        "mockllm/model",
        3,
        True,
    )
    refused = CliRunner().invoke(main, [*args.split(), "--reward-model", "nope/judge"])
    assert refused.exit_code == 2 and "unknown model provider 'nope'" in refused.output


@pytest.mark.parametrize("measured", [True, False])
def test_the_end_of_training_draws_the_curve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, measured: bool
) -> None:
    """The trainer replaced by one that only appends the rows its callback would: the curve is
    drawn beside them as rl_curve.png; with no row measured, there is no figure."""
    trl = pytest.importorskip("trl", reason="needs the 'train' extra")
    import aflab.organisms.rl.train as train_module
    from tests.report.test_rl import row

    out = tmp_path / "rl"

    class Trainer:
        def __init__(self, **_: Any) -> None:
            self.state = SimpleNamespace(log_history=[{"loss": 0.0, "step": 1}])

        def is_world_process_zero(self) -> bool:
            return True

        def train(self, resume_from_checkpoint: str | None = None) -> None:
            for step in (1, 2) if measured else ():
                append_row(out, row(step, 0.5, 0.9, None))

        def save_model(self, path: str) -> None:
            Path(path).mkdir()

    monkeypatch.setattr(trl, "GRPOTrainer", Trainer)
    monkeypatch.setattr(trl, "GRPOConfig", lambda **options: SimpleNamespace(**options))
    monkeypatch.setattr(train_module, "resolve_base", lambda base: "not loaded")
    train_rl(RLOptions(out=str(out), prompt="minimal"))
    assert (out / METADATA_FILE).is_file()
    if measured:
        assert (out / "rl_curve.png").stat().st_size > 10_000
    else:
        assert not (out / "rl_curve.png").exists()
