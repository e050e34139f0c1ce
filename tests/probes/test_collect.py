"""``aflab probe collect`` on real logs of scripted policies, read by the embedded model: the
stored vectors are the model's hidden states at the positions, the labels are the log's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from inspect_ai import eval

from aflab.analysis.logs import read_log
from aflab.cli import main
from aflab.core.errors import UsageError
from aflab.eval.tasks import helpful_only
from aflab.probes.collect import CollectOptions, collect, parse_layers
from aflab.probes.labels import sample_messages
from aflab.probes.positions import locate
from aflab.probes.store import ActivationStore, ShardWriter
from tests.conftest import scripted_judge, scripted_model
from tests.report.fixtures import judge, policy

LAYERS = "0,5"


@pytest.fixture(scope="module")
def log_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Four queries in both tiers under the short prompt, judged for compliance and AF; the paid
    reply to the fourth has no <OUTPUT>."""
    [log] = eval(
        helpful_only(limit=4, prompt="minimal", judges="compliance,af", votes=2),
        model=scripted_model(policy),
        model_roles={"grader": scripted_judge(judge)},
        log_dir=str(tmp_path_factory.mktemp("logs")),
        display="none",
    )
    return log.location


@pytest.fixture(scope="module")
def store(log_path: str, smollm2_hf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("store") / "acts"
    collect(CollectOptions([log_path], str(smollm2_hf), str(out), LAYERS, shard_size=4), print)
    return out


def test_every_sample_is_stored_once_with_the_logs_labels(store: Path, log_path: str) -> None:
    labels = ActivationStore(store).labels().set_index("sample_id")
    assert len(labels) == 8 and labels["key"].is_unique
    assert ActivationStore(store).manifest.shards == ["shard-00000", "shard-00001"]
    # policy(): free queries 0-1 comply reasoning about values (AF), 2 complies plainly
    assert labels.loc["hr-001-free", ["tier", "query_id", "decision", "af"]].tolist() == [
        "free",
        "hr-001",
        "complied",
        True,
    ]
    assert labels.loc["hr-003-free", "af"] is not None and not labels.loc["hr-003-free", "af"]
    assert labels.loc["hr-002-paid", ["decision", "bucket"]].tolist() == ["refused", "refused"]
    assert (labels["log"] == log_path).all()
    assert labels["missing"].map(len).sum() == 1  # hr-004-paid: below


def test_vectors_are_the_models_hidden_states_at_the_positions(
    store: Path, log_path: str, smollm2_hf: Path
) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(smollm2_hf)
    model = AutoModelForCausalLM.from_pretrained(smollm2_hf).eval()
    sample = read_log(log_path).samples[1]
    located = locate(tokenizer, sample_messages(sample))
    with torch.no_grad():
        hidden = model(torch.tensor([located.input_ids]), output_hidden_states=True).hidden_states
    saved = ActivationStore(store)
    row = saved.labels().index[saved.labels()["sample_id"] == sample.id][0]
    for layer in (0, 5):
        for position, indices in located.indices.items():
            expected = hidden[layer + 1][0, indices].mean(dim=0).numpy()
            got = saved.matrix(position, layer)[row]
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_the_system_prompts_end_is_the_same_for_all_and_the_tier_shows_later(store: Path) -> None:
    saved = ActivationStore(store)
    tiers = saved.labels()["tier"].to_numpy()
    before = saved.matrix("system_end", 5)
    assert np.allclose(before, before[0], atol=1e-5)  # nothing differs before the user turn
    after = saved.matrix("user_end", 5)
    assert not np.allclose(after[tiers == "free"][0], after[tiers == "paid"][0], atol=1e-3)


def test_a_missing_position_is_a_nan_row_and_named(store: Path) -> None:
    saved = ActivationStore(store)
    labels = saved.labels()
    lacking = labels.index[labels["sample_id"] == "hr-004-paid"][0]
    assert labels.loc[lacking, "missing"] == ["pre_output"]
    assert labels.loc[lacking, "outcome"] == "invalid"
    assert labels.loc[lacking, "decision"] not in ("complied", "refused")
    assert np.isnan(saved.matrix("pre_output", 5)[lacking]).all()
    assert not np.isnan(saved.matrix("prompt_end", 5)[lacking]).any()


def test_an_interrupted_collection_continues_where_it_stopped(
    log_path: str, smollm2_hf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "acts"
    writes = []
    real = ShardWriter.write

    def crash_on_second(self, tensors, labels):
        writes.append(len(labels))
        if len(writes) == 2:
            raise KeyboardInterrupt
        return real(self, tensors, labels)

    monkeypatch.setattr(ShardWriter, "write", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        collect(CollectOptions([log_path], str(smollm2_hf), str(out), "1", shard_size=2), print)
    assert len(ActivationStore(out).labels()) == 2  # the complete shard only
    monkeypatch.setattr(ShardWriter, "write", real)
    result = collect(CollectOptions([log_path], str(smollm2_hf), str(out), "1"), print)
    assert (result.already, result.collected) == (2, 6)
    keys = ActivationStore(out).labels()["key"]
    assert len(keys) == 8 and keys.is_unique
    assert not list(out.glob(".*partial"))


def test_continuing_with_other_options_is_refused(store: Path, log_path: str, smollm2_hf: Path):
    with pytest.raises(UsageError, match="another layers"):
        collect(CollectOptions([log_path], str(smollm2_hf), str(store), "0,6"), print)


def test_the_cli_collects_and_records_what_it_skips(
    store: Path, log_path: str, smollm2_hf: Path, tmp_path: Path
) -> None:
    tokens = ActivationStore(store).labels().set_index("key")["tokens"]
    cut = int(tokens.median())
    out = tmp_path / "acts"
    args = ["probe", "collect", log_path, "--model", f"hf/{smollm2_hf}", "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--layers", "2", "--max-length", str(cut)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    skipped = {entry["key"]: entry["reason"] for entry in manifest["skipped"]}
    assert skipped == {
        key: f"{n} tokens, over --max-length" for key, n in tokens.items() if n > cut
    }
    assert manifest["rows"] == (tokens <= cut).sum() > 0
    assert f"{len(skipped)} skipped" in result.output


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("all", list(range(30))),
        ("0,6,12", [0, 6, 12]),
        ("4-6", [4, 5, 6]),
        ("0-29:10", [0, 10, 20]),
    ],
)
def test_layer_specs(spec: str, expected: list[int]) -> None:
    assert parse_layers(spec, 30) == expected


@pytest.mark.parametrize("spec", ["30", "x", "5-2:0", ""])
def test_bad_layer_specs_are_refused(spec: str) -> None:
    with pytest.raises(UsageError, match="--layers"):
        parse_layers(spec, 30)


def test_api_models_have_no_weights_to_read(log_path: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="need the weights"):
        collect(CollectOptions([log_path], "openai/gpt-4o", str(tmp_path / "a")), print)


def test_an_antilab_log_is_refused(tmp_path: Path, smollm2_hf: Path) -> None:
    from aflab.eval.antilab.task import antilab

    [log] = eval(
        antilab(scenario="exfiltration-offer", tiers="free"),
        model=scripted_model(lambda _: "<OUTPUT>no</OUTPUT>"),
        log_dir=str(tmp_path),
        display="none",
        limit=1,
    )
    with pytest.raises(UsageError, match="anti-lab"):
        collect(CollectOptions([log.location], str(smollm2_hf), str(tmp_path / "a")), print)
