"""The GPU routes and resumption of ``aflab train rl``, checked without a GPU: the GRPOConfig each
option makes, the refusals, and the curve's bookkeeping across a resume."""

from __future__ import annotations

import csv
import json
from dataclasses import fields, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from trl import GRPOConfig

from aflab.analysis.summary import summarize
from aflab.core.errors import UsageError
from aflab.data.loaders import builtin_queries
from aflab.organisms.control.rule_check import rule_check
from aflab.organisms.rl.curve import CURVE_FILE, append_row, curve_row
from aflab.organisms.rl.data import split_queries
from aflab.organisms.rl.track import CurveCallback, Measurement
from aflab.organisms.rl.train import (
    KEEP_CHECKPOINTS,
    MEASURE_TIMEOUT_S,
    METADATA_FILE,
    RLOptions,
    check_options,
    grpo_kwargs,
    last_checkpoint,
    peft_config,
    resume_point,
    train_rl,
)

GRPO_FIELDS = {f.name for f in fields(GRPOConfig)}


def kwargs(cuda: bool = False, bf16_ok: bool = False, **options: Any) -> dict[str, Any]:
    made = grpo_kwargs(RLOptions(**options), cuda=cuda, bf16_ok=bf16_ok)
    assert set(made) <= GRPO_FIELDS  # a misspelt name would only fail on the GPU machine
    return made


def test_on_the_cpu_the_defaults_build_a_config(tmp_path: Path) -> None:
    made = kwargs(out=str(tmp_path), batch_size=3, num_generations=2)
    config = GRPOConfig(**made)
    assert config.use_cpu and not config.bf16
    # TRL would turn it on; on the CPU it only costs time.
    assert not config.gradient_checkpointing and not config.activation_checkpointing
    assert config.per_device_train_batch_size == 6 and config.num_generations == 2
    assert config.output_dir == str(tmp_path / "trainer") and config.save_strategy == "no"
    assert not config.use_vllm and config.ddp_timeout == 1800
    assert config.model_init_kwargs == {"dtype": "float32"}


def test_auto_precision_follows_the_device_bf16() -> None:
    # A CPU with AVX512-BF16 or AMX trains in bf16, as train sft does; one without, in fp32.
    assert kwargs(bf16_ok=True)["bf16"] and kwargs(bf16_ok=True)["use_cpu"]
    assert kwargs(bf16_ok=True)["model_init_kwargs"] == {"dtype": "bfloat16"}
    assert not kwargs(bf16_ok=True, precision="fp32")["bf16"]


def test_on_a_gpu_bf16_and_gradient_checkpointing_are_the_defaults() -> None:
    made = kwargs(cuda=True, bf16_ok=True)
    assert made["bf16"] and not made["use_cpu"] and made["activation_checkpointing"]
    assert made["model_init_kwargs"] == {"dtype": "bfloat16"}  # the LoRA's frozen base
    assert not kwargs(cuda=True, bf16_ok=False)["bf16"]  # a GPU without bf16
    assert not kwargs(cuda=True, bf16_ok=True, precision="fp32")["bf16"]


def test_precision_and_checkpointing_can_be_forced(tmp_path: Path) -> None:
    made = kwargs(out=str(tmp_path), precision="bf16", gradient_checkpointing=True)
    assert made["bf16"] and made["activation_checkpointing"]
    config = GRPOConfig(**made)  # bf16 autocast on the CPU is allowed
    assert config.bf16 and config.gradient_checkpointing
    assert not kwargs(cuda=True, gradient_checkpointing=False)["activation_checkpointing"]


def test_a_full_fine_tune_has_no_lora_and_fp32_master_weights() -> None:
    assert peft_config(RLOptions(full=True)) is None
    lora = peft_config(RLOptions(lora_r=4, lora_alpha=8))
    assert (lora.r, lora.lora_alpha, lora.target_modules) == (4, 8, "all-linear")
    made = kwargs(cuda=True, bf16_ok=True, full=True)
    assert made["bf16"] and made["model_init_kwargs"] == {"dtype": "float32"}


def test_checkpoints_every_n_steps_and_a_long_timeout_while_measuring(tmp_path: Path) -> None:
    made = kwargs(out=str(tmp_path), save_every=5, eval_every=10)
    config = GRPOConfig(**made)
    assert config.save_strategy == "steps" and config.save_steps == 5
    assert config.save_total_limit == KEEP_CHECKPOINTS
    assert config.ddp_timeout == MEASURE_TIMEOUT_S


def test_vllm_options_reach_trl() -> None:
    colocate = kwargs(cuda=True, use_vllm=True, vllm_gpu_memory_utilization=0.5)
    assert colocate["use_vllm"] and colocate["vllm_mode"] == "colocate"
    assert colocate["vllm_gpu_memory_utilization"] == 0.5
    url = "http://10.0.0.2:8000"
    server = kwargs(cuda=True, use_vllm=True, vllm_mode="server", vllm_server_url=url)
    assert server["vllm_mode"] == "server" and server["vllm_server_base_url"] == url
    assert "vllm_gpu_memory_utilization" not in server  # the server sets its own
    assert kwargs(cuda=True)["ds3_gather_for_generation"]
    assert not kwargs(cuda=True, zero3_gather=False)["ds3_gather_for_generation"]


def test_vllm_is_refused_where_it_cannot_run() -> None:
    wanted = RLOptions(use_vllm=True)
    with pytest.raises(UsageError, match="--use-vllm needs a CUDA GPU"):
        check_options(wanted, cuda=False, vllm=True)
    with pytest.raises(UsageError, match="pip install vllm"):
        check_options(wanted, cuda=True, vllm=False)
    with pytest.raises(UsageError, match="--zero3-gather"):
        check_options(replace(wanted, zero3_gather=False), cuda=True, vllm=True)
    check_options(wanted, cuda=True, vllm=True)
    check_options(RLOptions(), cuda=False, vllm=False)


def test_the_command_line_refuses_vllm_on_this_machine(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from aflab.cli.main import main

    out = tmp_path / "rl"
    result = CliRunner().invoke(main, ["train", "rl", "--use-vllm", "--out", str(out)])
    assert result.exit_code == 1
    assert "--use-vllm needs a CUDA GPU" in result.output
    assert not out.exists()  # refused before anything was written


def test_the_command_line_defaults_are_the_settings_defaults() -> None:
    from aflab.cli.train import rl

    # The plan's options (--dry-run and the budget's) are not training settings.
    plan = {"dry_run": False, "max_cost": None, "prices": None, "assume": None}

    def training(args: list[str]) -> dict[str, Any]:
        params = rl.make_context("rl", args).params
        assert {name: params.pop(name) for name in plan} == plan
        return params

    assert RLOptions(**training(["--out", "o"])) == RLOptions(out="o")
    flipped = ["--out", "o", "--full", "--no-gradient-checkpointing", "--no-zero3-gather"]
    params = training([*flipped, "--save-every", "3", "--resume"])
    assert RLOptions(**params) == RLOptions(
        out="o",
        full=True,
        gradient_checkpointing=False,
        zero3_gather=False,
        save_every=3,
        resume=True,
    )


def fake_checkpoint(folder: Path, step: int, complete: bool = True) -> Path:
    checkpoint = folder / f"checkpoint-{step}"
    checkpoint.mkdir(parents=True)
    if complete:
        (checkpoint / "trainer_state.json").write_text("{}")
    return checkpoint


def test_the_last_complete_checkpoint_is_resumed(tmp_path: Path) -> None:
    assert last_checkpoint(tmp_path / "none") is None
    fake_checkpoint(tmp_path, 9)
    ten = fake_checkpoint(tmp_path, 10)  # by number, not by name
    fake_checkpoint(tmp_path, 11, complete=False)  # cut short while saving
    assert last_checkpoint(tmp_path) == ten


def saved_run(out: Path, opts: RLOptions, step: int) -> None:
    """What a run that died after checkpoint ``step`` leaves: its settings and a checkpoint."""
    queries = builtin_queries(opts.setting)
    record = {
        "options": {**vars(opts)},
        "split": split_queries(queries, opts.heldout, opts.seed).record(),
    }
    out.mkdir(parents=True)
    (out / METADATA_FILE).write_text(json.dumps(record))
    fake_checkpoint(out / "trainer", step)


def test_a_resume_is_refused_without_checkpoint_or_with_other_settings(tmp_path: Path) -> None:
    out = tmp_path / "rl"
    opts = RLOptions(out=str(out), heldout=10, max_steps=20, resume=True)
    split = split_queries(builtin_queries(opts.setting), opts.heldout, opts.seed)
    with pytest.raises(UsageError, match="no checkpoint in .*--save-every"):
        train_rl(opts)  # refused before the model loads
    saved_run(out, opts, step=5)
    assert resume_point(opts, split) == out / "trainer" / "checkpoint-5"
    with pytest.raises(UsageError, match=r"started with --seed 0 \(not 1\), --heldout 10"):
        train_rl(replace(opts, seed=1, heldout=11))
    with pytest.raises(UsageError, match="started with --prompt 'full'"):
        train_rl(replace(opts, prompt="minimal"))
    with pytest.raises(UsageError, match="at step 5; --max-steps must exceed it"):
        train_rl(replace(opts, max_steps=5))
    (out / METADATA_FILE).unlink()
    with pytest.raises(UsageError, match="aflab-rl.json is missing"):
        resume_point(opts, split)


def test_a_fresh_run_is_refused_where_an_earlier_run_left_its_work(tmp_path: Path) -> None:
    out = tmp_path / "rl"
    opts = RLOptions(out=str(out), heldout=10)
    split = split_queries(builtin_queries(opts.setting), opts.heldout, opts.seed)
    assert resume_point(opts, split) is None
    fake_checkpoint(out / "trainer", 3)
    with pytest.raises(UsageError, match="holds an earlier run.*--resume"):
        train_rl(opts)
    (out / "trainer" / "checkpoint-3" / "trainer_state.json").unlink()
    (out / CURVE_FILE).write_text("step\n3\n")
    with pytest.raises(UsageError, match="holds an earlier run"):
        resume_point(opts, split)


def test_the_settings_are_saved_before_training_starts(tmp_path: Path, monkeypatch) -> None:
    from trl import GRPOTrainer

    def dies(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("died in training")

    monkeypatch.setattr(GRPOTrainer, "train", dies)
    out = tmp_path / "rl"
    opts = RLOptions(out=str(out), prompt="minimal", heldout=100, lora_r=4, lora_alpha=8)
    with pytest.raises(RuntimeError, match="died in training"):
        train_rl(opts)
    saved = json.loads((out / METADATA_FILE).read_text())
    assert saved["options"]["heldout"] == 100 and saved["options"]["seed"] == 0
    assert len(saved["split"]["heldout"]) == 100 and saved["split"]["train"]
    assert saved["finished"] is False and saved["log"] == []


class Recorder:
    """A measurement that answers with a fixed summary and remembers what it measured."""

    def __init__(self, summary: Any) -> None:
        self.summary, self.measured = summary, []

    def __call__(self, merged: Path) -> Measurement:
        self.measured.append(merged)
        return Measurement(self.summary, rule_check([]))


def test_after_a_resume_no_step_is_measured_or_summed_twice(tmp_path: Path, report_logs) -> None:
    """The run died after the row of step 4 and the trainer checkpoint of step 2: steps 3-4 are
    trained again, not measured again, and step 6's row sums steps 5-6 only."""
    _, logs = report_logs
    summary = summarize(logs[0])
    for step in (2, 4):
        append_row(tmp_path, curve_row(step, summary, [], "TagReward"))
    saved: list[str] = []
    recorder = Recorder(summary)
    callback = CurveCallback(tmp_path, 2, recorder, "TagReward", save=saved.append, full=True)
    restored = [{"step": s, "loss": 0.0, "rewards/TagReward/mean": -1.0} for s in (1, 2)]
    state = SimpleNamespace(global_step=2, log_history=restored, is_world_process_zero=True)
    callback.on_train_begin(None, state, None)
    for step, reward in ((3, -1.0), (4, -1.0), (5, 0.0), (6, 1.0)):
        entry = {"step": step, "loss": 0.0, "rewards/TagReward/mean": reward}
        state.global_step = step
        state.log_history.append(entry)
        callback.on_log(None, state, None, logs=entry)
    step_6 = tmp_path / "checkpoints" / "step-00006" / "model"
    assert saved == [str(step_6)] and recorder.measured == [step_6]
    with (tmp_path / CURVE_FILE).open() as file:
        rows = list(csv.DictReader(file))
    assert [r["step"] for r in rows] == ["2", "4", "6"]
    assert rows[-1]["reward_steps"] == "2" and float(rows[-1]["reward_mean"]) == 0.5


def test_a_resumed_run_continues_at_the_next_step(tmp_path: Path, report_logs, monkeypatch) -> None:
    """The start and one step saved and measured, then resumed to two: step 2 is trained once,
    its curve row sums step 2 alone, and the settings name the checkpoint resumed from."""
    from aflab.organisms.rl import track

    _, logs = report_logs
    # Merging and measuring a checkpoint are tested in test_train; here only their bookkeeping.
    recorder = Recorder(summarize(logs[0]))
    monkeypatch.setattr(track, "PipelineMeasure", lambda spec: recorder)
    monkeypatch.setattr(track, "merge_adapter", lambda adapter, target: target)
    out = tmp_path / "rl"
    opts = RLOptions(
        out=str(out),
        prompt="minimal",
        heldout=100,
        max_steps=1,
        batch_size=1,
        num_generations=2,
        max_completion_length=8,
        lora_r=4,
        lora_alpha=8,
        save_every=1,
        eval_every=1,
    )
    train_rl(opts)
    result = train_rl(replace(opts, max_steps=2, resume=True))
    assert [e["step"] for e in result.log if "loss" in e] == [1, 2]
    assert (out / "trainer" / "checkpoint-2" / "trainer_state.json").is_file()
    saved = json.loads((out / METADATA_FILE).read_text())
    assert saved["resumed_from"] == [str(out / "trainer" / "checkpoint-1")]
    assert saved["finished"] and saved["options"]["max_steps"] == 2
    with (out / CURVE_FILE).open() as file:
        rows = list(csv.DictReader(file))
    assert [(r["step"], r["reward_steps"]) for r in rows] == [("0", "0"), ("1", "1"), ("2", "1")]
    checkpoints = out / "checkpoints"
    assert (checkpoints / "step-00002" / "adapter" / "adapter_config.json").is_file()
    assert recorder.measured == [
        checkpoints / "step-00000" / "merged",
        checkpoints / "step-00001" / "merged",
        checkpoints / "step-00002" / "merged",
    ]
