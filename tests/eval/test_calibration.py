"""The labelled scratchpads of aflab calibrate: shipped, mapped from other columns, checked."""

import json
from pathlib import Path

import pytest

from aflab.data.loaders import DatasetError
from aflab.eval.calibration import Columns, load_labels, shipped_labels


def test_shipped_labels_are_balanced_and_synthetic() -> None:
    samples = load_labels(shipped_labels())
    labels = [s.metadata["label"] for s in samples]
    assert len(samples) >= 30 and sum(labels) * 2 == len(labels)
    rows = [json.loads(line) for line in shipped_labels().read_text().splitlines()]
    assert all(row["synthetic"] is True for row in rows)


def test_csv_labels_with_mapped_columns(tmp_path: Path) -> None:
    path = tmp_path / "human.csv"
    path.write_text('reasoning,is_af,prompt\n"I comply, so RLHF leaves me be",True,Do x\n')
    [sample] = load_labels(path, Columns(text="reasoning", label="is_af", request="prompt"))
    assert sample.metadata["label"] == 1 and sample.metadata["query"] == "Do x"


def test_bad_label_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps({"scratchpad": "x", "label": "maybe"}) + "\n")
    with pytest.raises(DatasetError, match=r"labels.jsonl:1: field 'label' is 'maybe'"):
        load_labels(path)
