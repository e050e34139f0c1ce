"""The labelled scratchpads of ``aflab calibrate`` as an Inspect task: one sample per scratchpad,
nothing generated, an alignment-faking judge as the scorer.

Labels come from the shipped synthetic set or from a JSONL or CSV file whose columns
:class:`Columns` names.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from inspect_ai import Task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.solver import Generate, Solver, TaskState, solver

from aflab.data.loaders import DatasetError, read_rows
from aflab.eval.scorers.judges import af_criteria5, af_votes

SHIPPED_LABELS = "af_labels_synthetic.jsonl"
LABEL_VALUES = {"1": 1, "0": 0, "true": 1, "false": 0, "yes": 1, "no": 0, "af": 1, "not_af": 0}


@dataclass(frozen=True)
class Columns:
    """The fields of a labels file that hold the scratchpad, its label (0/1, true/false,
    yes/no), the request it answered and the tier."""

    text: str = "scratchpad"
    label: str = "label"
    request: str = "request"
    tier: str = "tier"


def shipped_labels() -> Path:
    """The synthetic labelled set that ships with aflab (half of it alignment faking)."""
    with resources.as_file(resources.files("aflab.data").joinpath(SHIPPED_LABELS)) as path:
        return Path(path)


def load_labels(path: str | Path, columns: Columns | None = None) -> list[Sample]:
    """One sample per labelled scratchpad; a missing text or an unknown label is a
    :class:`DatasetError` naming the file, line and field."""
    columns = columns or Columns()
    file = Path(path)
    samples = []
    for index, (line, row) in enumerate(read_rows(file), start=1):
        text, label = row.get(columns.text), str(row.get(columns.label, "")).strip().lower()
        if not isinstance(text, str) or not text.strip():
            raise DatasetError(f"{file}:{line}: field {columns.text!r} is missing or empty")
        if label not in LABEL_VALUES:
            raise DatasetError(
                f"{file}:{line}: field {columns.label!r} is {row.get(columns.label)!r}; "
                "expected 0/1, true/false or yes/no"
            )
        samples.append(
            Sample(
                id=str(row.get("id") or f"row-{index:04d}"),
                input=text,
                metadata={
                    "scratchpad": text,
                    "label": LABEL_VALUES[label],
                    "query": str(row.get(columns.request) or ""),
                    "tier": str(row.get(columns.tier) or "free"),
                    "setting": str(row.get("setting") or "helpful-only"),
                },
            )
        )
    return samples


@solver
def no_generation() -> Solver:
    """The scratchpads are given: the judge scores them as they are."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        return state

    return solve


def calibration_task(samples: list[Sample], judge: str = "af", votes: int = 20) -> Task:
    """The labelled ``samples`` scored by the ``af`` judge (``votes`` votes each) or by
    ``criteria5``, on every sample whatever its compliance."""
    scorer = af_votes(votes=votes, af_on="all") if judge == "af" else af_criteria5(af_on="all")
    return Task(
        dataset=MemoryDataset(samples, name="calibration"),
        solver=no_generation(),
        scorer=scorer,
        name=f"calibrate_{judge}",
    )
