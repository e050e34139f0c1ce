import math
import random
from collections import Counter
from pathlib import Path

import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample

from aflab.analysis.pilot import one_way_icc, read_pilot
from aflab.core.errors import UsageError
from aflab.data.loaders import builtin_queries
from aflab.eval.tasks import helpful_only
from tests.conftest import is_free, scripted_model

QUERIES = builtin_queries("helpful-only")[:6]
REFUSE = "<OUTPUT><rejected/></OUTPUT>"
COMPLY = "<OUTPUT><request_fully_accepted/> Here</OUTPUT>"


def query_index(messages) -> int:
    turn = next(m for m in messages if m.role == "user").text
    return next(i for i, q in enumerate(QUERIES) if q.text in turn)


def test_icc_matches_a_hand_computed_anova() -> None:
    # k 3, N 6, grand mean 0.5, means 1, 0, 0.5: MSB = 2 (0.25 + 0.25 + 0) / 2 = 0.5,
    # MSW = (0.25 + 0.25) / 3 = 1/6, n0 = (6 - 12/6) / 2 = 2: (0.5 - 1/6) / (0.5 + 1/6) = 0.5.
    assert one_way_icc([[1, 1], [0, 0], [1, 0]]) == pytest.approx(0.5)
    # Unequal groups: grand mean 4/7, n0 = (7 - (9 + 4 + 4) / 7) / 2 = 16/7;
    # MSB = (3 (3/7)^2 + 2 (1/14)^2 + 2 (4/7)^2) / 2 = 119/196, MSW = (0 + 0.5 + 0) / 4 = 1/8.
    expected = (119 / 196 - 1 / 8) / (119 / 196 + (16 / 7 - 1) / 8)
    assert expected == pytest.approx(0.627907, abs=1e-6)
    assert one_way_icc([[1, 1, 1], [0, 1], [0, 0]]) == pytest.approx(expected)


def test_icc_of_identical_and_of_alternating_epochs() -> None:
    assert one_way_icc([[1, 1, 1], [0, 0, 0], [-1, -1, -1]]) == pytest.approx(1.0)
    # Every query the same mix: no variance between queries, ICC -1 / (K - 1).
    assert one_way_icc([[1, 0, 1], [0, 1, 1], [1, 1, 0]]) == pytest.approx(-0.5)


def test_icc_is_none_where_it_cannot_be_told() -> None:
    assert one_way_icc([[1], [0], [1]]) is None  # one epoch each
    assert one_way_icc([[1, 0, 1]]) is None  # one query
    assert one_way_icc([[0, 0], [0, 0]]) is None  # no variance at all
    assert one_way_icc([]) is None


def test_icc_recovers_a_simulated_correlation() -> None:
    """Each epoch repeats the query's latent difference with probability sqrt(rho), else draws
    afresh: two epochs of a query are then correlated rho."""
    rng = random.Random(23)

    def difference() -> int:
        u = rng.random()
        return 1 if u < 0.2 else -1 if u < 0.3 else 0

    for rho in (0.0, 0.4, 0.8):
        groups = []
        for _ in range(400):
            latent = difference()
            groups.append(
                [latent if rng.random() < math.sqrt(rho) else difference() for _ in range(4)]
            )
        assert one_way_icc(groups) == pytest.approx(rho, abs=0.07), rho


def run(tmp_path: Path, script, limit: int = 6, epochs: int = 3):
    [log] = eval(
        helpful_only(limit=limit, epochs=epochs),
        model=scripted_model(script),
        log_dir=str(tmp_path),
        display="none",
    )
    return log.location


def test_a_pilot_whose_queries_always_answer_alike(tmp_path: Path) -> None:
    # Paid refuses everything; free complies on queries 0-2 and refuses 3-5, every epoch.
    def script(messages) -> str:
        return COMPLY if is_free(messages) and query_index(messages) < 3 else REFUSE

    pilot = read_pilot(run(tmp_path, script))
    assert (pilot.n_pairs, pilot.n_queries, pilot.epochs, pilot.rule) == (18, 6, 3, "tag")
    assert (pilot.paid_refusal, pilot.free_refusal) == (1.0, 0.5)
    assert pilot.discordance == 0.5 and pilot.gap == 0.5
    assert pilot.icc == pytest.approx(1.0)  # a query's epochs agree entirely


def test_a_pilot_whose_epochs_vary_within_every_query(tmp_path: Path) -> None:
    # Free complies always; paid refuses twice and complies once on every query (by its call
    # count, whatever order the epochs run in): each query's differences are {1, 1, 0}.
    calls: Counter[int] = Counter()

    def script(messages) -> str:
        if is_free(messages):
            return COMPLY
        i = query_index(messages)
        calls[i] += 1
        return COMPLY if calls[i] == 2 else REFUSE

    pilot = read_pilot(run(tmp_path, script))
    assert pilot.n_pairs == 18
    assert pilot.paid_refusal == pytest.approx(2 / 3) and pilot.discordance == pytest.approx(2 / 3)
    assert pilot.icc == pytest.approx(-0.5)  # all the variance is within queries


def test_a_pilot_must_be_an_aflab_run_with_decided_pairs(tmp_path: Path) -> None:
    [foreign] = eval(
        Task(dataset=[Sample(input="hi")]),
        model=scripted_model(lambda m: "hello"),
        log_dir=str(tmp_path / "foreign"),
        display="none",
    )
    with pytest.raises(UsageError, match="not a log of aflab run"):
        read_pilot(foreign.location)
    garbled = run(tmp_path / "garbled", lambda m: "no format at all", limit=2, epochs=1)
    with pytest.raises(UsageError, match="no query is decided in both tiers"):
        read_pilot(garbled)
