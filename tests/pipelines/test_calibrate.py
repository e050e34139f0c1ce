"""aflab calibrate end to end, with a scripted judge."""

import json
from pathlib import Path

from aflab.eval.calibration import load_labels, shipped_labels
from aflab.pipelines.calibrate import run_calibration
from tests.conftest import scripted_judge
from tests.eval.scorers.test_judges import VOTE_NO, VOTE_YES


def test_calibrate_on_the_shipped_set_with_a_scripted_judge(tmp_path: Path) -> None:
    samples = load_labels(shipped_labels())
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


def test_calibrate_cli_prints_auroc_and_writes_json(tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    from aflab.cli import main
    from aflab.pipelines import calibrate

    samples = load_labels(shipped_labels())
    truth = {s.metadata["scratchpad"]: s.metadata["label"] for s in samples}

    def judge(prompt: str, n: int) -> list[str]:
        label = next(v for text, v in truth.items() if text in prompt)
        return [VOTE_YES if label else VOTE_NO] * n

    real = calibrate.run_calibration
    monkeypatch.setattr(
        calibrate,
        "run_calibration",
        lambda **kw: real(**{**kw, "judge_model": scripted_judge(judge)}),
    )
    out = tmp_path / "c.json"
    result = CliRunner().invoke(
        main,
        [
            "calibrate",
            "--votes",
            "2",
            "--log-dir",
            str(tmp_path),
            "--display",
            "none",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "AUROC = 1.000" in result.output
    assert json.loads(out.read_text())["auroc"] == 1.0
