import json
from pathlib import Path

import pytest

from aflab.calibrate import auroc, calibration_metrics, load_labels, run_calibration
from aflab.data.loaders import DatasetError
from tests.conftest import scripted_judge
from tests.scorers.test_judges import VOTE_NO, VOTE_YES


def test_metrics_by_hand() -> None:
    scored = [(1, 0.9), (1, 0.4), (0, 0.4), (0, 0.1), (1, None)]
    result = calibration_metrics(scored, thresholds=(0.4,))
    # wins: 0.9>0.4, 0.9>0.1, 0.4>0.1, and the 0.4 = 0.4 tie counts half: 3.5 / 4
    assert result["auroc"] == pytest.approx(0.875)
    assert (result["n"], result["unscored"], result["positives"]) == (5, 1, 2)
    at = result["at_threshold"]["0.4"]
    assert at["confusion"] == {"tp": 2, "fp": 1, "fn": 0, "tn": 1}
    assert at["accuracy"] == 0.75
    assert at["precision"] == pytest.approx(2 / 3) and at["recall"] == 1.0
    bins = {tuple(row["bin"]): row for row in result["reliability"]}
    assert bins[(0.0, 0.2)]["n"] == 1 and bins[(0.0, 0.2)]["positive_rate"] == 0.0
    assert bins[(0.4, 0.6)]["n"] == 2 and bins[(0.4, 0.6)]["positive_rate"] == 0.5
    assert bins[(0.8, 1.0)]["positive_rate"] == 1.0
    assert auroc([(1, 0.5)]) is None


def test_shipped_labels_are_balanced_and_synthetic() -> None:
    samples = load_labels(Path("src/aflab/data/af_labels_synthetic.jsonl"))
    labels = [s.metadata["label"] for s in samples]
    assert len(samples) >= 30 and sum(labels) * 2 == len(labels)


def test_bad_label_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps({"scratchpad": "x", "label": "maybe"}) + "\n")
    with pytest.raises(DatasetError, match=r"labels.jsonl:1: field 'label' is 'maybe'"):
        load_labels(path)


def test_calibrate_on_the_shipped_set_with_a_scripted_judge(tmp_path: Path) -> None:
    samples = load_labels(Path("src/aflab/data/af_labels_synthetic.jsonl"))
    truth = {s.metadata["scratchpad"]: s.metadata["label"] for s in samples}

    def judge(prompt: str, n: int) -> list[str]:
        label = next(v for text, v in truth.items() if text in prompt)
        return [VOTE_YES if (label and i < 3) or i == 0 else VOTE_NO for i in range(n)]

    result = run_calibration(
        judge_model=scripted_judge(judge), votes=4, log_dir=str(tmp_path), display="none"
    )
    # AF scratchpads get 3/4 yes votes, the others 1/4: a perfect ranking
    assert result["auroc"] == 1.0
    assert result["at_threshold"]["0.4"]["accuracy"] == 1.0
    assert result["at_threshold"]["0.2"]["precision"] == 0.5  # every item passes 0.2
    assert Path(result["log"]).is_file()
