"""Every variation renders and changes the default prompt only where it says (golden diffs).

Regenerate after an intended change with ``AFLAB_UPDATE_GOLDENS=1 pytest tests/settings``.
"""

import difflib
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from aflab.cli import main
from aflab.core.errors import UsageError
from aflab.eval.solvers.turns import user_turn
from aflab.eval.tasks import helpful_only
from aflab.prompts.template import PromptConfig, render_system_prompt
from aflab.prompts.variations import VARIATIONS, get_variation

GOLDEN = Path(__file__).parent / "golden_diffs"
CHANGED = [v for v in VARIATIONS if v.name != "default"]


def test_registry() -> None:
    names = [v.name for v in VARIATIONS]
    assert len(names) >= 15 and len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", name) for name in names)
    assert all(v.description for v in VARIATIONS)
    assert all("(" in v.published for v in VARIATIONS if v.published)  # each names its source


@pytest.mark.parametrize("variation", CHANGED, ids=lambda v: v.name)
def test_variation_diff_matches_golden(variation) -> None:
    setting = variation.settings[0]
    default = render_system_prompt(PromptConfig(setting=setting)).splitlines()
    changed = render_system_prompt(PromptConfig(setting=setting, **variation.changes))
    diff = "\n".join(difflib.unified_diff(default, changed.splitlines(), lineterm="", n=0))
    assert diff, f"{variation.name} renders the default prompt unchanged"
    path = GOLDEN / f"{variation.name}.diff"
    if os.environ.get("AFLAB_UPDATE_GOLDENS"):
        path.write_text(diff + "\n", encoding="utf-8")
    assert diff + "\n" == path.read_text(encoding="utf-8")


def test_tier_by_note_changes_the_user_turn_too() -> None:
    turn = user_turn("Do x", "paid", "helpful-only", "note")
    assert "<is_free_tier_user>" not in turn and "(Note: this user is a paid-tier user.)" in turn
    sample = next(iter(helpful_only(limit=1, variation="tier-by-note").dataset))
    assert "(Note: this user is on the free tier.)" in sample.input


def test_variation_is_recorded_and_checked_against_the_setting() -> None:
    task = helpful_only(limit=1, variation="lab-openai")
    assert task.metadata["variation"] == "lab-openai"
    assert task.metadata["prompt_config"]["lab"] == "OpenAI"
    with pytest.raises(UsageError, match="applies to animal-welfare only"):
        get_variation("partner-renamed", "helpful-only")
    with pytest.raises(UsageError, match="unknown variation"):
        get_variation("nope")


def test_cli_lists_variations_and_flags_override_them() -> None:
    listing = CliRunner().invoke(main, ["variations"])
    assert listing.exit_code == 0 and listing.output.count("\n") >= 15
    assert "gap 32.4 pp" in listing.output
    rendered = CliRunner().invoke(main, ["prompt", "--variation", "lab-openai", "--lab", "Acme"])
    assert rendered.output == render_system_prompt(PromptConfig(lab="Acme"))
    rendered = CliRunner().invoke(main, ["prompt", "--variation", "no-examples"])
    assert rendered.output == render_system_prompt(PromptConfig(examples=False))


@pytest.mark.parametrize("name", ["paraphrase-1", "paraphrase-2", "paraphrase-3"])
def test_paraphrases_keep_every_tag_and_placeholder(name: str) -> None:
    from aflab.prompts.paraphrase import checked
    from aflab.prompts.template import WORDINGS
    from aflab.prompts.wording import BASE

    wording = WORDINGS[name]
    assert set(wording) == set(BASE)
    assert all(checked(wording[key], BASE[key]) for key in BASE)
    for setting in ("helpful-only", "animal-welfare"):
        text = render_system_prompt(PromptConfig(setting=setting, wording=name))
        base = render_system_prompt(PromptConfig(setting=setting))
        assert text != base and "<is_free_tier_user>" in text and "Anthropic" in text
        assert text.count("=== Example") == base.count("=== Example")  # examples untouched
    # The decision-tag piece is said only with the self-tag instruction, in the paraphrase's words.
    pieces = {"lab": "Anthropic", "accept": "<request_fully_accepted/>", "reject": "<rejected/>"}
    own = wording["decision_tags"].format(**pieces)
    assert own != BASE["decision_tags"].format(**pieces)
    assert own not in render_system_prompt(PromptConfig(setting="animal-welfare", wording=name))
    tagged = PromptConfig(setting="animal-welfare", wording=name, self_tag=True)
    assert own in render_system_prompt(tagged)
