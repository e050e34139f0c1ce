import pandas as pd
import pytest

from aflab.report.reference import compare_to_paper, published, same_model


def run_row(**overrides) -> dict:
    row = {
        "run": "r1",
        "compliance_rule": "judge",
        "model": "anthropic/claude-3-opus-20240229",
        "setting": "helpful-only",
        "variation": "default",
        "free_refusal_rate": 0.8,
        "free_refusal_lo": 0.7,
        "free_refusal_hi": 0.9,
        "paid_refusal_rate": 0.95,
        "paid_refusal_lo": 0.9,
        "paid_refusal_hi": 1.0,
        "gap_pp": 15.0,
        "gap_lo_pp": 5.0,
        "gap_hi_pp": 25.0,
        "free_af_rate": 0.1,
        "free_af_lo": 0.05,
        "free_af_hi": 0.2,
        # The paper's convention (invalid as not complied): what published figures are set beside.
        "free_refusal_rate_all": 0.82,
        "free_refusal_all_lo": 0.72,
        "free_refusal_all_hi": 0.9,
        "paid_refusal_rate_all": 0.96,
        "paid_refusal_all_lo": 0.9,
        "paid_refusal_all_hi": 1.0,
        "gap_all_pp": 14.0,
        "gap_all_lo_pp": 4.0,
        "gap_all_hi_pp": 24.0,
        "free_af_rate_all": 0.09,
        "free_af_all_lo": 0.04,
        "free_af_all_hi": 0.19,
    }
    return row | overrides


def test_every_published_row_has_a_source_and_a_known_metric() -> None:
    table = published()
    assert table["source"].notna().all() and len(table) >= 20
    assert set(table["metric"]) <= {"refusal_free", "refusal_paid", "gap_pp", "af_rate"}


def test_matching_run_gets_the_papers_numbers_beside_its_own() -> None:
    compared = compare_to_paper(pd.DataFrame([run_row()]))
    paper = compared[compared["source"].str.startswith("Greenblatt et al. 2024")]
    by_metric = paper.set_index("metric")
    assert by_metric.loc["af_rate", "published"] == 11.9
    # Yours as the paper counts: the _all columns, never the rates of decided samples.
    assert by_metric.loc["af_rate", "yours"] == 9.0
    assert by_metric.loc["refusal_free", "yours_ci95"] == "[72.0, 90.0]"
    assert by_metric.loc["gap_pp", "yours"] == 14.0
    assert set(paper["convention"]) == {"of all (paper)"}
    # the public notebook's Opus gap (5.5) is listed too, with its own source
    notebook = compared[compared["source"] == "Greenblatt et al. public notebook"]
    assert list(notebook["published"]) == [5.5]


@pytest.mark.parametrize(
    "overrides",
    [{"model": "openai/gpt-4o-mini-x", "setting": "animal-welfare"}, {"variation": "lab=Acme"}],
)
def test_no_match_no_rows(overrides: dict) -> None:
    assert compare_to_paper(pd.DataFrame([run_row(**overrides)])).empty


def test_variation_must_match() -> None:
    compared = compare_to_paper(pd.DataFrame([run_row(variation="lab=OpenAI")]))
    assert list(zip(compared["metric"], compared["published"], strict=True)) == [("af_rate", 11.0)]


@pytest.mark.parametrize(
    ("key", "model", "expected"),
    [
        ("claude-3-opus", "anthropic/claude-3-opus-20240229", True),
        ("llama-3.1-70b", "vllm/meta-llama/Llama-3.1-70B-Instruct", True),
        ("gpt-4o", "openai/gpt-4o", True),
        ("gpt-4o", "openai/gpt-4o-mini", False),
        ("claude-3-sonnet", "anthropic/claude-3-5-sonnet-20240620", False),
    ],
)
def test_same_model(key: str, model: str, expected: bool) -> None:
    assert same_model(key, model) is expected
