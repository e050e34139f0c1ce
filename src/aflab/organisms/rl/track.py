"""Alignment faking tracked over RL: every ``every`` steps the checkpoint is merged and measured
by the ordinary pipeline (``aflab run`` through Inspect's ``hf/`` provider) on the held-out
queries, in both tiers, and a row goes to ``rl_curve.csv``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from aflab.core.summary_types import RuleCheck, RunSummary
from aflab.data.loaders import Query
from aflab.organisms.rl.curve import append_row, curve_row
from aflab.organisms.train.sft import ADAPTER_DIR, MERGED_DIR, merge_adapter
from aflab.spec import RunSpec


@dataclass(frozen=True)
class Measurement:
    """A checkpoint as the pipeline measured it, with the transparent scratchpad rule's counts
    (the AF column when no AF judge runs)."""

    summary: RunSummary
    rule: RuleCheck


Measure = Callable[[Path], Measurement]


def write_queries(queries: Sequence[Query], path: Path) -> Path:
    """``queries`` in aflab's query format, as the pipeline reads a dataset."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"id": q.id, "category": q.category, "text": q.text}) for q in queries]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


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
    save, merge, measure, append a curve row."""

    def __init__(self, out: Path, every: int, measure: Measure, reward: str) -> None:
        self.out, self.every, self.measure, self.reward = out, every, measure, reward
        self.seen = 0  # log entries already summed into a row
        self.measured: set[int] = set()

    def on_train_begin(
        self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any
    ) -> None:
        if state.global_step == 0:
            self._row(state, model, kwargs.get("processing_class"))

    def on_log(
        self,
        args: Any,
        state: Any,
        control: Any,
        logs: dict[str, Any] | None = None,
        model: Any = None,
        **kwargs: Any,
    ) -> None:
        # A training step's log (not the run's closing summary, logged at the same step).
        if logs and "loss" in logs and not state.global_step % self.every:
            self._row(state, model, kwargs.get("processing_class"))

    def on_train_end(
        self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any
    ) -> None:
        self._row(state, model, kwargs.get("processing_class"))

    def _row(self, state: Any, model: Any, processing_class: Any) -> None:
        step = state.global_step
        if step in self.measured or not state.is_world_process_zero:
            return
        self.measured.add(step)
        checkpoint = self.out / "checkpoints" / f"step-{step:05d}"
        model.save_pretrained(str(checkpoint / ADAPTER_DIR))
        processing_class.save_pretrained(str(checkpoint / ADAPTER_DIR))  # merging reads it
        merged = merge_adapter(checkpoint / ADAPTER_DIR, checkpoint / MERGED_DIR)
        measured = self.measure(merged)
        entries = state.log_history[self.seen :]
        self.seen = len(state.log_history)
        row = curve_row(step, measured.summary, entries, self.reward, measured.rule)
        append_row(self.out, row)
