"""The white-box path end to end on the embedded model, as a user runs it: ``aflab run`` on the
embedded llama.cpp model, ``aflab probe collect`` with the same model's weights, ``aflab probe
train``, ``aflab report``. A smoke test of the plumbing (a 135M model's transcripts carry no
alignment faking); the known answer is in test_known_answer.py."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from aflab.cli import main
from aflab.core.types import PROBES_FILE
from aflab.probes.store import ActivationStore


@pytest.mark.slow
def test_run_collect_train_report_on_the_embedded_model(
    tmp_path: Path, smollm2_hf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AFLAB_MODEL_CACHE", str(smollm2_hf.parent))
    runner = CliRunner()
    logs = tmp_path / "logs"
    ran = runner.invoke(
        main,
        ["run", "--limit", "3", "--prompt", "minimal", "--max-tokens", "64"]
        + ["--log-dir", str(logs), "--display", "none", "--no-cache"],
    )
    assert ran.exit_code == 0, ran.output
    [log] = logs.glob("*.eval")

    store = tmp_path / "acts"
    collected = runner.invoke(
        main,
        ["probe", "collect", str(log), "--model", "smollm2", "--out", str(store)]
        + ["--layers", "0,15,29"],
    )
    assert collected.exit_code == 0, collected.output
    assert "6 samples collected, 0 skipped" in collected.output
    saved = ActivationStore(store)
    assert saved.manifest.model == "aflab/smollm2" and saved.manifest.layers == [0, 15, 29]

    trained = runner.invoke(main, ["probe", "train", str(store), "--bootstrap", "50"])
    assert trained.exit_code == 0, trained.output
    probes = pd.read_csv(store / "probes" / PROBES_FILE)
    tier = probes[(probes.target == "tier") & (probes.subset == "all")].set_index(
        ["position", "layer"]
    )
    # Every sample reads the same system prompt: nothing there can tell the tiers apart.
    assert (tier.loc["system_end", "status"] == "ok").all()
    assert (tier.loc["system_end", "auroc"] == 0.5).all()
    assert len(probes) == len(
        set(map(tuple, probes[["target", "subset", "position", "layer"]].values))
    )
    assert (store / "probes" / "probe_auroc_tier.png").is_file()

    report = tmp_path / "report"
    reported = runner.invoke(main, ["report", str(log), str(store), "--out", str(report)])
    assert reported.exit_code == 0, reported.output
    page = (report / "index.html").read_text(encoding="utf-8")
    assert "Probes" in page and "embedded 135M demo model" in page
