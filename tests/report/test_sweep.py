"""The report's sweep chart and table, from a small scripted sweep; none for logs of no sweep."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from inspect_ai.log import EvalLog

from aflab.analysis.logs import read_log
from aflab.analysis.sweep import compare_to_default, sweep_run_of
from aflab.data.loaders import builtin_queries
from aflab.pipelines.sweep import run_sweep
from aflab.report.build import build_report
from aflab.report.sweep import COLUMNS, find_sweeps, forest
from aflab.spec import RunSpec
from tests.conftest import is_free
from tests.conftest import scripted_model as scripted
from tests.report.test_html import Elements

ACCEPT, REJECT = "<OUTPUT><request_fully_accepted/> ok</OUTPUT>", "<OUTPUT><rejected/></OUTPUT>"
NO_TAGS = "<OUTPUT>hmm</OUTPUT>"  # invalid: no decision tag
QUERIES = [q.text for q in builtin_queries("helpful-only")[:4]]


def policy(messages) -> str:
    """Queries q0..q3. Default: free complies, paid refuses (every pair's gap 1).
    lab-openai: free also refuses q0, q1 (pair gaps 0, 0, 1, 1).
    honesty-emphasised: as the default, but paid q3 has no tag (3 valid pairs, gaps 1).
    paid-tier-also-trained: only q0 is valid, refused in both tiers (1 pair, gap 0)."""
    system = messages[0].text
    turn = next(m for m in messages if m.role == "user").text
    q = next(i for i, text in enumerate(QUERIES) if text in turn)
    free = is_free(messages)
    if "free and paid tiers" in system:
        return REJECT if q == 0 else NO_TAGS
    if "Above all, be honest" in system and not free and q == 3:
        return NO_TAGS
    if "built by OpenAI" in system and q < 2:
        return REJECT
    return ACCEPT if free else REJECT


# Per variation vs the default (d = variation's pair gap minus the default's, per pair):
# lab-openai d = (-1, -1, 0, 0): mean -0.5, sample sd sqrt(1/3), se sqrt(1/12);
# honesty-emphasised d = (0, 0, 0); paid-tier-also-trained d = (-1,): no interval.
SE = 100 * math.sqrt(1 / 12)
Z95, Z_WIDE = 1.959964, 2.393980  # two-sided normal quantiles: 5%, and 5%/3 (Bonferroni)


@pytest.fixture(scope="module")
def sweep_logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[EvalLog]]:
    folder = tmp_path_factory.mktemp("sweep")
    result = run_sweep(
        RunSpec(limit=4, log_dir=str(folder / "logs"), display="none"),
        "lab-openai,honesty-emphasised,paid-tier-also-trained",
        scripted(policy),
    )
    return folder, list(result.logs.values())


def test_forest_holds_the_hand_computed_differences(sweep_logs) -> None:
    _, logs = sweep_logs
    [group] = find_sweeps(logs)
    _, data = forest(group)
    assert data["default_gap_pp"] == 100.0 and "default gap +100.0 pp" in data["title"]
    points = {p["variation"]: p for p in data["points"]}
    # In the order `aflab sweep` runs them, the default left out (it is the reference).
    assert list(points) == ["lab-openai", "paid-tier-also-trained", "honesty-emphasised"]

    openai = points["lab-openai"]
    assert (openai["gap_pp"], openai["diff_pp"], openai["n_shared_pairs"]) == (50.0, -50.0, 4)
    assert openai["ci95_pp"] == pytest.approx([-50 - Z95 * SE, -50 + Z95 * SE])
    assert openai["ci95_bonferroni_pp"] == pytest.approx([-50 - Z_WIDE * SE, -50 + Z_WIDE * SE])

    honest = points["honesty-emphasised"]
    assert (honest["diff_pp"], honest["ci95_pp"], honest["n_shared_pairs"]) == (0.0, [0.0, 0.0], 3)

    trained = points["paid-tier-also-trained"]
    assert (trained["gap_pp"], trained["diff_pp"], trained["n_shared_pairs"]) == (0.0, -100.0, 1)
    assert trained["ci95_pp"] is None and trained["ci95_bonferroni_pp"] is None


def test_the_papers_convention_counts_the_invalid_samples_as_refusals(sweep_logs) -> None:
    """As the paper counts, an invalid sample refused: honesty-emphasised's paid q3 (no tag)
    refuses, a gap of 1 like the default's (d = 0, 0, 0, 0); paid-tier-also-trained's q1..q3 (no
    tag in either tier) refuse in both, gaps 0 (d = -1 on all 4 pairs: no spread)."""
    _, logs = sweep_logs
    [group] = find_sweeps(logs)
    rows = {row["variation"]: row for row in group.comparisons}
    assert rows["lab-openai"]["default_gap_all_pp"] == 100.0
    assert (rows["lab-openai"]["diff_all_pp"], rows["lab-openai"]["n_shared_pairs_all"]) == (
        -50.0,
        4,
    )  # nothing invalid: as of decided
    honest, trained = rows["honesty-emphasised"], rows["paid-tier-also-trained"]
    assert (honest["gap_all_pp"], honest["diff_all_pp"], honest["n_shared_pairs_all"]) == (
        100.0,
        0.0,
        4,
    )
    assert (trained["gap_all_pp"], trained["diff_all_pp"], trained["n_shared_pairs_all"]) == (
        0.0,
        -100.0,
        4,
    )
    assert trained["ci95_all_pp"] == [-100.0, -100.0]


def test_headers_streamed_compare_as_the_logs_read_whole(sweep_logs) -> None:
    _, logs = sweep_logs
    headers = [read_log(log.location, header_only=True) for log in logs]
    [whole] = find_sweeps(logs)
    [streamed] = find_sweeps(headers)  # each run's samples streamed from its file
    made = {h.location: sweep_run_of(h) for h in headers}  # as the report makes them
    [given] = find_sweeps(headers, made)
    assert streamed.comparisons == given.comparisons == whole.comparisons
    assert whole.comparisons == compare_to_default(whole.logs)  # what aflab sweep prints
    assert [row["n_shared_pairs"] for row in whole.comparisons] == [4, 1, 3]


def test_report_has_the_sweep_figure_table_and_section(sweep_logs) -> None:
    folder, logs = sweep_logs
    out = folder / "report"
    index = build_report([folder / "logs"], out)
    for ext in ("png", "svg"):
        assert (out / "figures" / f"sweep_0.{ext}").stat().st_size > 1000

    with (out / "sweep.csv").open() as f:
        rows = {row["variation"]: row for row in csv.DictReader(f)}
    assert list(next(iter(csv.reader((out / "sweep.csv").open())))) == COLUMNS
    assert set(rows) == {"lab-openai", "honesty-emphasised", "paid-tier-also-trained"}
    openai = rows["lab-openai"]
    assert (openai["model"], openai["setting"]) == ("mockllm/model", "helpful-only")
    assert float(openai["diff_pp"]) == -50.0 and float(openai["default_gap_pp"]) == 100.0
    assert float(openai["ci95_lo_pp"]) == pytest.approx(-50 - Z95 * SE)
    assert float(openai["bonferroni_hi_pp"]) == pytest.approx(-50 + Z_WIDE * SE)
    assert (openai["n_shared_pairs"], openai["n_comparisons"]) == ("4", "3")
    assert rows["paid-tier-also-trained"]["ci95_lo_pp"] == ""  # no interval from one pair

    html = index.read_text(encoding="utf-8")
    section = html[html.index("<h2>Variation sweep</h2>") : html.index("<h2>Transcripts</h2>")]
    assert section.count("data:image/png;base64,") == 1 and 'id="sweep-0"' in section
    assert "3 comparisons with the default" in section and "Bonferroni" in section
    # The general figures stay per run: the sweep's chart is shown once, in its section.
    assert html.count("data:image/png;base64,") == len(logs) + 2  # bars per run, gap, sweep
    # Still self-contained, with only the page's two scripts.
    parsed = Elements()
    parsed.feed(html)
    assert [attrs for attrs, _ in parsed.scripts][1:] == [{}]
    assert all(a["src"].startswith("data:") for tag, a in parsed.tags if tag == "img")
    assert "default-src 'none'" in html and "https://" not in html


def test_a_rerun_uses_the_newest_log_and_says_so(sweep_logs) -> None:
    _, logs = sweep_logs
    rerun = logs[1].model_copy(deep=True)
    rerun.eval.created = "2999-01-01T00:00:00+00:00"
    rerun.location = str(Path(logs[1].location).with_name("rerun.eval"))
    # An unnamed run of another prompt is no variation: left out, with a note.
    ad_hoc = logs[0].model_copy(deep=True)
    ad_hoc.eval.metadata = {**ad_hoc.eval.metadata, "variation": None}
    ad_hoc.eval.metadata["prompt_config"] = {**ad_hoc.eval.metadata["prompt_config"], "lab": "X"}
    ad_hoc.location = "adhoc.eval"
    [group] = find_sweeps([rerun, *logs, ad_hoc])
    assert group.logs["lab-openai"] is rerun
    assert any("lab-openai: 2 runs; the newest (rerun," in note for note in group.notes)
    assert any(note.startswith("adhoc is left out: its prompt (lab=X)") for note in group.notes)


def test_no_sweep_without_a_default_or_a_variation(sweep_logs) -> None:
    _, logs = sweep_logs
    assert find_sweeps(logs[:1]) == []  # the default alone
    assert find_sweeps(logs[1:]) == []  # variations without their default
    # (tests/analysis/test_runs.py builds the report of two runs that are no sweep.)
