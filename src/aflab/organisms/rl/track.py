"""Alignment faking tracked over RL: every ``every`` steps the checkpoint is merged and measured
by the ordinary pipeline (``aflab run`` through Inspect's ``hf/`` provider) on the held-out
queries, in both tiers, and a row goes to ``rl_curve.csv``.

A resumed run measures no step that already has a row: the steps between the trainer checkpoint
it continues from and the last row are trained again, but their rows (and ``checkpoints/``)
stay those of the first pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from aflab.core.summary_types import RuleCheck, RunSummary
from aflab.organisms.rl.curve import append_row, curve_row, curve_steps
from aflab.organisms.train.sft import ADAPTER_DIR, MERGED_DIR, merge_adapter
from aflab.spec import RunSpec


@dataclass(frozen=True)
class Measurement:
    """A checkpoint as the pipeline measured it, with the transparent scratchpad rule's counts
    (the AF column when no AF judge runs)."""

    summary: RunSummary
    rule: RuleCheck


Measure = Callable[[Path], Measurement]
MODEL_DIR = "model"  # a full fine-tune's weights: a plain model, nothing to merge


@dataclass(frozen=True)
class PipelineMeasure:
    """Measure a merged checkpoint with ``spec`` (its model replaced by the checkpoint's)."""

    spec: RunSpec

    def __call__(self, merged: Path) -> Measurement:
        from inspect_ai.log import read_eval_log

        from aflab.organisms.control.rule_check import rule_check
        from aflab.pipelines.run import RunOutcome, execute

        outcome = execute(
            self.spec.replace(model=f"hf/{merged}", log_dir=str(merged.parent / "logs")),
            echo=lambda _: None,
        )
        assert isinstance(outcome, RunOutcome)  # a run spec, never an anti-lab resume
        samples = read_eval_log(str(outcome.log_path)).samples or []
        return Measurement(outcome.summary, rule_check(samples))


class CurveCallback(TrainerCallback):
    """The starting model (step 0), every ``every``-th step (after its log) and the last step:
    save, merge, measure, append a curve row.

    ``save`` writes the policy to a folder (the trainer's ``save_model``) and is called on every
    rank, since under ZeRO-3 it gathers the shards; rank 0 alone merges and measures. ``full``:
    the policy is a whole model, saved as such and measured without a merge.
    """

    def __init__(
        self,
        out: Path,
        every: int,
        measure: Measure,
        reward: str,
        save: Callable[[str], None],
        full: bool = False,
    ) -> None:
        self.out, self.every, self.measure, self.reward = out, every, measure, reward
        self.save, self.full = save, full
        self.measured = -1  # the step of the last row (-1: none); log entries up to it are in rows

    def on_train_begin(self, args: Any, state: Any, control: Any, **_: Any) -> None:
        # Read on every rank, so that all agree on which steps save (a collective under ZeRO-3).
        self.measured = max(curve_steps(self.out), default=-1)
        self._row(state)  # the starting model, unless a resumed run has its row already

    def on_log(
        self,
        args: Any,
        state: Any,
        control: Any,
        logs: dict[str, Any] | None = None,
        **_: Any,
    ) -> None:
        # A training step's log (not the run's closing summary, logged at the same step).
        if logs and "loss" in logs and not state.global_step % self.every:
            self._row(state)

    def on_train_end(self, args: Any, state: Any, control: Any, **_: Any) -> None:
        self._row(state)

    def _row(self, state: Any) -> None:
        step = state.global_step
        if step <= self.measured:
            return
        checkpoint = self.out / "checkpoints" / f"step-{step:05d}"
        weights = checkpoint / (MODEL_DIR if self.full else ADAPTER_DIR)
        self.save(str(weights))  # with the tokenizer, which merging reads
        since, self.measured = self.measured, step
        if not state.is_world_process_zero:
            return
        merged = weights if self.full else merge_adapter(weights, checkpoint / MERGED_DIR)
        measured = self.measure(merged)
        entries = [e for e in state.log_history if since < e.get("step", 0) <= step]
        row = curve_row(step, measured.summary, entries, self.reward, measured.rule)
        append_row(self.out, row)
