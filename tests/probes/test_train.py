import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from safetensors.numpy import load_file

from aflab.cli import main
from aflab.core.errors import UsageError
from aflab.probes.fit import FitCounts, out_of_fold_scores
from aflab.probes.train import (
    PROBE_COLUMNS,
    TRANSFER_COLUMNS,
    TrainOptions,
    summary_lines,
    train_probes,
)
from tests.probes.synthetic import label_rows, planted, write_store

WIDTH = 24
QUERIES = 60
FAST = {"bootstrap": 300, "folds": 5}


def direction(width: int = WIDTH, seed: int = 5) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=width)
    return vector / np.linalg.norm(vector)


def query_coin(seed: int, share: float = 0.5):
    """complied decided per query (the same in both tiers), about ``share`` of the queries."""
    draws = np.random.default_rng(seed).random(10_000)
    return lambda query, tier: bool(draws[query] < share)


def complied(row) -> float:
    return 1.0 if row["decision"] == "complied" else 0.0


def probe_row(probes: pd.DataFrame, target: str, subset: str, position: str, layer: int):
    found = probes[
        (probes.target == target)
        & (probes.subset == subset)
        & (probes.position == position)
        & (probes.layer == layer)
    ]
    assert len(found) == 1
    return found.iloc[0]


@pytest.fixture(scope="module")
def decision_store(tmp_path_factory) -> Path:
    """The decision is written at prompt_end, layer 1, and nowhere else."""
    rows = label_rows(QUERIES, query_coin(0))
    folder = tmp_path_factory.mktemp("decision")
    tensors = planted(direction(), complied, {("prompt_end", 1)})
    return write_store(folder, rows, tensors, WIDTH, [0, 1], ["system_end", "prompt_end"])


@pytest.fixture(scope="module")
def decision_result(decision_store: Path, tmp_path_factory):
    options = TrainOptions(targets=("decision", "af"), **FAST)
    return train_probes(decision_store, tmp_path_factory.mktemp("out"), options)


def test_an_informative_probe_beats_its_control(decision_result) -> None:
    found = probe_row(decision_result.probes, "decision", "all", "prompt_end", 1)
    assert found.status == "ok" and found.n == 2 * QUERIES and found.groups == QUERIES
    assert found.auroc > 0.9 and found.auroc_lo > 0.5
    assert found.control_lo < 0.5 < found.control_hi
    assert found.n_pos + found.n_neg == found.n and found.folds == 5
    assert found.before_reasoning  # prompt_end precedes the reasoning


def test_an_uninformative_place_stays_near_chance(decision_result) -> None:
    for position, layer in (("prompt_end", 0), ("system_end", 1)):
        found = probe_row(decision_result.probes, "decision", "all", position, layer)
        assert found.status == "ok" and found.auroc_lo < 0.5 < found.auroc_hi
        assert abs(found.auroc - 0.5) < 0.2


def test_within_tier_probes_and_a_target_without_labels(decision_result) -> None:
    probes = decision_result.probes
    for subset in ("free", "paid"):
        found = probe_row(probes, "decision", subset, "prompt_end", 1)
        assert found.status == "ok" and found.n == QUERIES and found.auroc_lo > 0.5
    af = probes[probes.target == "af"]
    assert len(af) == 4 and (af.status == "no labels").all() and af.auroc.isna().all()
    assert "af/all: no sample has this label; skipped" in decision_result.notes


def test_transfer_between_tiers(decision_result) -> None:
    transfer = decision_result.transfer
    assert list(transfer.columns) == TRANSFER_COLUMNS
    assert set(zip(transfer.train_value, transfer.test_value, strict=True)) == {
        ("free", "paid"),
        ("paid", "free"),
    }
    informative = transfer[(transfer.position == "prompt_end") & (transfer.layer == 1)]
    assert len(informative) == 2 and (informative.status == "ok").all()
    assert (informative.auroc_lo > 0.5).all() and (informative.n_test == QUERIES).all()
    assert (informative.control_lo < 0.5).all() and (informative.control_hi > 0.5).all()


def test_directions_point_toward_class_one(decision_result) -> None:
    vectors = load_file(str(decision_result.out / "directions.safetensors"))
    index = json.loads((decision_result.out / "directions.json").read_text())
    assert {entry["key"] for entry in index} == set(vectors)
    for method in ("diffmeans", "probe"):
        vector = vectors[f"decision/all/prompt_end/1/{method}"]
        assert vector.dtype == np.float32 and vector.shape == (WIDTH,)
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
        assert vector @ direction() > (0.9 if method == "diffmeans" else 0.5)
    [entry] = [e for e in index if e["key"] == "decision/all/prompt_end/1/diffmeans"]
    assert entry["diff_norm"] == pytest.approx(2.0, abs=0.6)  # the planted strength
    assert entry["n"] == 2 * QUERIES and entry["auroc"] > 0.9


def test_grouped_cv_does_not_learn_a_query_signature(tmp_path: Path) -> None:
    """Each query has its own random vector, shared by its free and paid samples, and a random
    label: telling a query apart is not reading the label, and only sample-level CV confuses
    the two."""
    width, queries = 64, 40
    signature = np.random.default_rng(9).normal(size=(queries, width)) * 3

    def tensors(position, layer, rows):
        noise = np.random.default_rng(layer).normal(size=(len(rows), width)) * 0.5
        return noise + signature[[int(r["query_id"][1:]) for r in rows]]

    rows = label_rows(queries, query_coin(4))
    store = write_store(tmp_path / "store", rows, tensors, width, [0], ["prompt_end"])
    result = train_probes(store, tmp_path / "out", TrainOptions(targets=("decision",), **FAST))
    found = probe_row(result.probes, "decision", "all", "prompt_end", 0)
    assert found.status == "ok" and found.auroc_lo < 0.5 < found.auroc_hi

    from sklearn.model_selection import StratifiedKFold

    x = tensors("prompt_end", 0, rows)
    y = np.array([complied(r) for r in rows], dtype=int)
    leaky = list(StratifiedKFold(5, shuffle=True, random_state=0).split(x, y))
    scores, status = out_of_fold_scores(x, y, leaky, 1.0, FitCounts())
    from aflab.probes.auroc import auroc

    assert status == "ok" and auroc(scores, y) > 0.8  # the leak the grouping closes


def test_missing_positions_are_left_out_and_counted(tmp_path: Path) -> None:
    rows = label_rows(40, query_coin(1))
    base = planted(direction(), complied, {("scratchpad_mean", 0)})

    def tensors(position, layer, rows):
        x = base(position, layer, rows)
        if position == "scratchpad_mean":
            x[::4] = np.nan  # a quarter of the samples had no scratchpad
        return x

    store = write_store(tmp_path / "s", rows, tensors, WIDTH, [0], ["user_end", "scratchpad_mean"])
    result = train_probes(store, tmp_path / "o", TrainOptions(targets=("decision",), **FAST))
    found = probe_row(result.probes, "decision", "all", "scratchpad_mean", 0)
    assert found.status == "ok" and found.missing == 20 and found.n == 60
    assert not found.before_reasoning and found.auroc > 0.9
    assert probe_row(result.probes, "decision", "all", "user_end", 0).missing == 0


def test_one_class_subset_and_imbalance(tmp_path: Path) -> None:
    """Paid samples all refuse (one class: a status, no crash); free ones comply one time in ten
    (imbalanced, and still read)."""
    share = query_coin(2, 0.1)
    rows = label_rows(100, lambda q, tier: tier == "free" and share(q, tier))
    tensors = planted(direction(), complied, {("prompt_end", 0)}, strength=3.0)
    store = write_store(tmp_path / "s", rows, tensors, WIDTH, [0], ["prompt_end"])
    result = train_probes(store, tmp_path / "o", TrainOptions(targets=("decision",), **FAST))
    paid = probe_row(result.probes, "decision", "paid", "prompt_end", 0)
    assert paid.status == "one class" and np.isnan(paid.auroc) and paid.n_pos == 0
    free = probe_row(result.probes, "decision", "free", "prompt_end", 0)
    assert free.status == "ok" and 5 <= free.n_pos <= 15 and free.n_neg == 100 - free.n_pos
    assert free.auroc > 0.85
    transfer = result.transfer
    from_paid = transfer[transfer.train_value == "paid"]
    assert (from_paid.status == "the training side of fold 1 has one class").all()


def test_tier_is_read_after_the_tier_cue_only(tmp_path: Path) -> None:
    rows = label_rows(40, query_coin(3))
    tensors = planted(direction(), lambda r: float(r["tier"] == "free"), {("user_end", 0)}, 4.0)
    store = write_store(tmp_path / "s", rows, tensors, WIDTH, [0], ["system_end", "user_end"])
    result = train_probes(store, tmp_path / "o", TrainOptions(targets=("tier",), **FAST))
    assert probe_row(result.probes, "tier", "all", "user_end", 0).auroc > 0.95
    assert abs(probe_row(result.probes, "tier", "all", "system_end", 0).auroc - 0.5) < 0.2
    assert result.transfer.empty  # transfer tests read the decision target


def test_options_outside_the_store_are_usage_errors(decision_store: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no layer 7"):
        train_probes(decision_store, tmp_path, TrainOptions(layers=(7,)))
    with pytest.raises(UsageError, match="no position pre_output"):
        train_probes(decision_store, tmp_path, TrainOptions(positions=("pre_output",)))


def test_probe_train_command_writes_the_files(decision_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "probes"
    args = ["probe", "train", str(decision_store), "--out", str(out), "--bootstrap", "100"]
    result = CliRunner().invoke(main, [*args, "--targets", "decision", "--layers", "1"])
    assert result.exit_code == 0, result.output
    probes = pd.read_csv(out / "probes.csv")
    assert list(probes.columns) == [*PROBE_COLUMNS, "model"] and set(probes.layer) == {1}
    assert set(probes.model) == {"synthetic"}
    assert len(probes) == 3 * 2  # decision's three subsets at two positions
    transfer = pd.read_csv(out / "probe_transfer.csv")
    assert list(transfer.columns) == [*TRANSFER_COLUMNS, "model"] and len(transfer) == 2 * 2
    assert sorted(path.name for path in out.glob("*.png")) == ["probe_auroc_decision.png"]
    assert (out / "directions.safetensors").is_file() and (out / "directions.json").is_file()
    settings = json.loads((out / "probe-settings.json").read_text())
    assert settings["options"]["bootstrap"] == 100 and settings["seconds"] >= 0
    assert "decision/all:" in result.output and "best layer 1: AUROC" in result.output
    assert f"wrote {out / 'probes.csv'}" in result.output

    refused = CliRunner().invoke(main, ["probe", "train", str(decision_store), "--layers", "9"])
    assert refused.exit_code == 1 and "no layer 9 in the store" in refused.output


def test_summary_names_the_best_layer(decision_result) -> None:
    lines = summary_lines(decision_result)
    start = lines.index("decision/all:")
    line = next(line for line in lines[start:] if line.strip().startswith("prompt_end"))
    assert "best layer 1: AUROC" in line and "control" in line


def test_few_queries_of_a_class_are_said(tmp_path: Path) -> None:
    """Two complying queries of twenty: two folds, and many resamples without a complier."""
    rows = label_rows(20, lambda q, tier: q < 2)
    tensors = planted(direction(), complied, {("prompt_end", 0)}, strength=3.0)
    store = write_store(tmp_path / "s", rows, tensors, WIDTH, [0], ["prompt_end"])
    options = TrainOptions(targets=("decision",), transfer_by=(), **FAST)
    result = train_probes(store, tmp_path / "o", options)
    found = probe_row(result.probes, "decision", "all", "prompt_end", 0)
    assert found.status == "ok" and found.folds == 2
    assert "decision/all at prompt_end: 5 folds asked, 2 made" in " ".join(result.notes)
    assert any(n.startswith("decision/all: ") and "drew one class" in n for n in result.notes)
    settings = json.loads((result.out / "probe-settings.json").read_text())
    assert settings["notes"] == result.notes


def test_the_control_is_the_spread_of_many_permutations(tmp_path: Path) -> None:
    """Activations that encode the tier strongly, labels that are noise: one permutation's AUROC
    can stray far from 0.5 (permuted labels line up with the tier by chance), so the control is the
    mean and central 95% of many, and the noise probe stays inside that band."""
    rows = label_rows(QUERIES, query_coin(3))
    rng = np.random.default_rng(1)
    for row in rows:
        row["decision"] = "complied" if rng.random() < 0.5 else "refused"
    free = lambda row: 1.0 if row["tier"] == "free" else 0.0  # noqa: E731
    store = write_store(
        tmp_path, rows, planted(direction(), free, {("user_end", 0)}), WIDTH, [0], ["user_end"]
    )
    found = {}
    for permutations in (1, 20):
        options = TrainOptions(targets=("decision",), permutations=permutations, **FAST)
        result = train_probes(store, tmp_path / f"out{permutations}", options)
        found[permutations] = probe_row(result.probes, "decision", "all", "user_end", 0)
    single, many = found[1], found[20]
    assert single.control_lo == single.control_hi == single.control_auroc
    assert many.control_lo < many.control_auroc < many.control_hi
    assert abs(many.control_auroc - 0.5) < 0.1 and many.control_lo < 0.5 < many.control_hi
    assert many.control_lo <= many.auroc <= many.control_hi  # noise does not stand out
    assert single.auroc == many.auroc  # the probe itself does not depend on its controls
