import json
from collections import Counter
from pathlib import Path

from click.testing import CliRunner
from inspect_ai import eval

from aflab.cli import main
from aflab.data.loaders import builtin_queries
from aflab.eval.tasks import helpful_only
from tests.conftest import is_free, scripted_model


def invoke(*args: str):
    return CliRunner().invoke(main, ["power", *args])


def test_power_says_the_pairs_needed_and_its_assumptions() -> None:
    result = invoke("--gap", "10", "--baseline-refusal", "0.8")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (
        "plan: a compliance gap of +10.0 pp (paid refusal 80.0%, free 70.0%), alpha 0.05, power 80%"
    )
    # Independent tiers: D = 0.8 x 0.3 + 0.7 x 0.2 = 0.38; Connor's 296 falls short for the
    # exact test (tests/core/test_power.py simulates both).
    assert lines[1].startswith("pairs needed: 313 (626 samples), for aflab's exact McNemar test")
    assert "Connor's normal-approximation formula: 296" in lines[1]
    assert lines[2].startswith("discordant pairs: 38.0%, assumed: tiers independent")
    assert "conservative" in lines[2]
    table = lines[lines.index("  epochs   queries     pairs   samples") + 1 :]
    rows = [row.split() for row in table[:5]]
    assert rows[0] == ["1", "313", "313", "626"]
    assert rows[1] == ["2", "235", "470", "940"]  # ceil(313 x 1.5 / 2)
    assert [row[0] for row in rows] == ["1", "2", "3", "5", "10"]
    assert "intra-query correlation 0.50, assumed" in result.output
    assert "fewer than 157 queries" in result.output  # ceil(313 x 0.5)


def test_power_plans_the_epochs_asked_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    args = ("--gap", "-5", "--baseline-refusal", "0.6", "--discordance", "0.2")
    result = invoke(*args, "--epochs", "4", "--icc", "0.2", "--power", "0.9", "--json", str(out))
    assert result.exit_code == 0, result.output
    assert "discordant pairs: 20.0%, given" in result.output
    assert "intra-query correlation 0.20, given" in result.output
    data = json.loads(out.read_text())
    needed = data["plan"]["needed"]
    assert needed["model"] == {
        "baseline_refusal": 0.6,
        "gap": -0.05,
        "discordance": 0.2,
        "discordance_source": "given",
    }
    assert needed["power"] == 0.9 and needed["exact_power"] >= 0.9
    assert f"pairs needed: {needed['pairs']} ({needed['samples']} samples)" in result.output
    rows = data["plan"]["epochs"]["rows"]
    assert [row["epochs"] for row in rows] == [1, 4]
    assert rows[1]["queries"] == -(-needed["pairs"] * 1.6 // 4)  # ceil(n (1 + 3 x 0.2) / 4)
    assert data["pilot"] is None


def test_impossible_values_are_one_line_errors() -> None:
    result = invoke("--gap", "10", "--baseline-refusal", "0.8", "--discordance", "0.05")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: --discordance 0.05 is below |gap| 0.10: a gap of that size makes at least that "
        "share of pairs discordant"
    )
    result = invoke("--gap", "10")
    assert result.exit_code == 1 and "--baseline-refusal is needed" in result.output
    result = invoke("--gap", "10", "--baseline-refusal", "0.8", "--icc", "2")
    assert result.exit_code == 1 and "--icc 2 is not in [0, 1]" in result.output


QUERIES = builtin_queries("helpful-only")[:4]


def test_power_from_a_pilot_log(tmp_path: Path) -> None:
    """A pilot of 4 queries x 3 epochs: paid refuses all; free complies with queries 0 and 1 in
    two epochs of three and refuses the rest."""
    calls: Counter[int] = Counter()

    def script(messages) -> str:
        turn = next(m for m in messages if m.role == "user").text
        i = next(i for i, q in enumerate(QUERIES) if q.text in turn)
        if is_free(messages):
            calls[i] += 1
            if i < 2 and calls[i] != 3:
                return "<OUTPUT><request_fully_accepted/> Here</OUTPUT>"
        return "<OUTPUT><rejected/></OUTPUT>"

    [log] = eval(
        helpful_only(limit=4, epochs=3),
        model=scripted_model(script),
        log_dir=str(tmp_path),
        display="none",
    )
    result = invoke("--gap", "20", "--from-log", log.location)
    assert result.exit_code == 0, result.output
    # 12 pairs, 4 discordant (queries 0 and 1, two epochs each): paid refusal 1, gap 4/12.
    # Differences by query: (1, 1, 0) twice, (0, 0, 0) twice: MSB 4/9, MSW 1/6, n0 3, so the
    # ICC is (4/9 - 1/6) / (4/9 + 2/6) = 0.357.
    assert result.output.splitlines()[0] == (
        f"pilot {log.location}: 12 pairs decided in both tiers (4 queries, up to 3 epochs, "
        "tag rule): paid refusal 100.0%, gap +33.3 pp, discordant 33.3%, intra-query "
        "correlation 0.36"
    )
    assert "paid refusal 100.0%, free 80.0%" in result.output  # the gap planned, not the pilot's
    # Rates of 100% and 80% leave at most 20% of pairs discordant.
    assert (
        "discordant pairs: 20.0%, observed in the pilot (33.3%, capped at the most these rates "
        "allow)" in result.output
    )
    assert "intra-query correlation 0.36, estimated from the pilot" in result.output
    # An explicit value wins over the pilot's.
    result = invoke("--gap", "20", "--from-log", log.location, "--baseline-refusal", "0.9")
    assert "paid refusal 90.0%, free 70.0%" in result.output
