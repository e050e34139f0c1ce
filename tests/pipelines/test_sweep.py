"""A sweep with a scripted model: one log per variation and a paired comparison."""

from pathlib import Path

import pytest

from aflab.pipelines.prepare import NO_COMPLIANCE_NOTE
from aflab.pipelines.sweep import resolve_variations, run_sweep
from aflab.report.sweep import format_sweep
from aflab.spec import RunSpec
from tests.conftest import is_free, scripted_model


def policy(messages) -> str:
    """Refuses in the paid tier; in the free tier complies unless the lab is OpenAI or the
    paid tier is trained too, where it refuses (so those variations close the gap)."""
    system = messages[0].text
    closes_gap = "built by OpenAI" in system or "free and paid tiers" in system
    if is_free(messages) and not closes_gap:
        return "<OUTPUT><request_fully_accepted/> ok</OUTPUT>"
    return "<OUTPUT><rejected/></OUTPUT>"


def test_sweep_compares_every_variation_with_the_default(tmp_path: Path) -> None:
    result = run_sweep(
        RunSpec(limit=4, log_dir=str(tmp_path / "sweep"), display="none"),
        "lab-openai,paid-tier-also-trained,honesty-emphasised",
        scripted_model(policy),
    )
    assert set(result.logs) == {
        "default",
        "lab-openai",
        "paid-tier-also-trained",
        "honesty-emphasised",
    }
    rows = {row["variation"]: row for row in result.comparisons}
    # default: paid refuses 4/4, free 0/4 -> gap 100 pp; OpenAI: both refuse -> gap 0
    assert rows["lab-openai"]["default_gap_pp"] == 100.0
    assert rows["lab-openai"]["gap_pp"] == 0.0
    assert rows["lab-openai"]["diff_pp"] == -100.0
    assert rows["lab-openai"]["ci95_pp"] == [-100.0, -100.0]  # every pair moved by exactly -1
    assert rows["honesty-emphasised"]["diff_pp"] == 0.0
    assert rows["paid-tier-also-trained"]["n_shared_pairs"] == 4
    assert rows["lab-openai"]["n_comparisons"] == 3
    table = format_sweep(result)
    assert "lab-openai" in table and "Bonferroni" in table

    # Running it again resumes: the finished runs are reused, nothing is asked again.
    again = run_sweep(
        RunSpec(limit=4, log_dir=str(tmp_path / "sweep"), display="none"),
        "lab-openai,paid-tier-also-trained,honesty-emphasised",
        scripted_model(lambda m: pytest.fail("the model was asked again")),
    )
    assert again.comparisons == result.comparisons


def test_variations_all_respects_the_setting() -> None:
    helpful = resolve_variations("all", "helpful-only")
    assert helpful[0] == "default" and "partner-renamed" not in helpful and len(helpful) >= 13
    assert "partner-renamed" in resolve_variations("all", "animal-welfare")


def test_an_animal_welfare_sweep_passes_self_tag_to_every_run(tmp_path: Path) -> None:
    def untagged(messages) -> str:
        return "<OUTPUT>Hens are fine.</OUTPUT>"

    notes: list[str] = []
    spec = RunSpec(setting="animal-welfare", limit=1, display="none", self_tag=True)
    tagged = run_sweep(
        spec.replace(log_dir=str(tmp_path / "tagged")), "partner-renamed", scripted_model(untagged)
    )
    for log in tagged.logs.values():
        assert log.eval.metadata["prompt_config"]["self_tag"] is True
        assert {s.scores["tag_compliance"].value for s in log.samples} == {"refused"}
    plain = run_sweep(
        spec.replace(log_dir=str(tmp_path / "plain"), self_tag=False),
        "partner-renamed",
        scripted_model(untagged),
        notes=notes,
        echo=lambda _: None,
    )
    assert notes == [NO_COMPLIANCE_NOTE]
    for log in plain.logs.values():
        assert {s.scores["tag_compliance"].value for s in log.samples} == {"unscored"}
