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

from aflab.core.summary_types import RunSummary
from aflab.data.loaders import Query
from aflab.organisms.rl.curve import append_row, curve_row
from aflab.organisms.train.sft import ADAPTER_DIR, MERGED_DIR, merge_adapter
from aflab.spec import RunSpec

Measure = Callable[[Path], RunSummary]


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

    def __call__(self, merged: Path) -> RunSummary:
        from aflab.pipelines.run import RunOutcome, execute

        outcome = execute(
            self.spec.replace(model=f"hf/{merged}", log_dir=str(merged.parent / "logs")),
            echo=lambda _: None,
        )
        assert isinstance(outcome, RunOutcome)  # a run spec, never an anti-lab resume
        return outcome.summary


class CurveCallback(TrainerCallback):
    """After the log of every ``every``-th step: save, merge, measure, append a curve row."""

    def __init__(self, out: Path, every: int, measure: Measure, reward: str) -> None:
        self.out, self.every, self.measure, self.reward = out, every, measure, reward
        self.seen = 0  # log entries already summed into a row

    def on_log(
        self,
        args: Any,
        state: Any,
        control: Any,
        logs: dict[str, Any] | None = None,
        model: Any = None,
        processing_class: Any = None,
        **_: Any,
    ) -> None:
        step = state.global_step
        # A training step's log (not the run's closing summary, logged at the same step).
        if not logs or "loss" not in logs or step % self.every:
            return
        if not state.is_world_process_zero:
            return
        checkpoint = self.out / "checkpoints" / f"step-{step:05d}"
        model.save_pretrained(str(checkpoint / ADAPTER_DIR))
        processing_class.save_pretrained(str(checkpoint / ADAPTER_DIR))  # merging reads it
        merged = merge_adapter(checkpoint / ADAPTER_DIR, checkpoint / MERGED_DIR)
        summary = self.measure(merged)
        entries = state.log_history[self.seen :]
        self.seen = len(state.log_history)
        append_row(self.out, curve_row(step, summary, entries, self.reward))
