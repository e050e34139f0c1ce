"""Calibration metrics, by hand."""

import pytest

from aflab.analysis.calibration import auroc, calibration_metrics


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


def test_format_and_json_of_the_metrics(tmp_path) -> None:
    import json

    from aflab.report.calibration import format_calibration, write_calibration

    result = calibration_metrics([(1, 0.9), (0, 0.1), (1, None)], thresholds=(0.4,))
    result |= {"labels": "l.jsonl", "judge": "af", "log": "x.eval"}
    text = format_calibration(result)
    assert text.splitlines()[:2] == [
        "calibration of the af judge on l.jsonl",
        "n = 3 (1 labelled AF among the scored), unscored = 1, AUROC = 1.000",
    ]
    assert "0.4            1.000     1.000   1.000   1 0 0 1" in text
    path = write_calibration(result, tmp_path / "deep" / "c.json")
    assert json.loads(path.read_text()) == json.loads(json.dumps(result))
