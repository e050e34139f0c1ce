"""Model-written wordings: refused when a tag or placeholder is lost, cached, loadable."""

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from aflab.cli import main
from aflab.core.errors import UsageError
from aflab.pipelines.paraphrase import paraphrase
from aflab.prompts.paraphrase import checked, load_wording, tokens_of
from aflab.prompts.template import WORDINGS, PromptConfig, Wording, render_system_prompt
from aflab.prompts.wording import BASE
from tests.conftest import scripted_judge


def rewriter(prompt: str, n: int) -> list[str]:
    """Prefixes each passage with 'Put simply,'; drops {accept} from the decision-tag piece."""
    passage = prompt.split("<passage>\n", 1)[1].split("\n</passage>", 1)[0]
    lead = "- " if passage.startswith("- ") else (" " if passage.startswith(" ") else "")
    body = passage[len(lead) :]
    if "{accept}" in body:
        body = body.replace("{accept}", "the accept tag")
    return [f"<rewritten>{lead}Put simply, {body}</rewritten>"]


def test_checked_guards_tags_placeholders_and_bullets() -> None:
    original = BASE["paid_private"]
    assert checked(original.replace("completely", "fully"), original)
    assert checked(original.replace("{lab}", "the lab"), original) is None
    assert checked(original[2:], original) is None  # lost its bullet
    assert checked(original + " {extra}", original) is None
    assert tokens_of(BASE["decision_tags"]) == ["<OUTPUT>", "{accept}", "{lab}", "{reject}"]


def test_paraphrase_keeps_base_pieces_it_cannot_trust_and_is_cached() -> None:
    calls: list[tuple[str, int]] = []
    wording, kept = asyncio.run(paraphrase(scripted_judge(rewriter, calls), 1))
    assert set(wording) == set(BASE)
    assert kept == ["decision_tags"] and wording["decision_tags"] == BASE["decision_tags"]
    assert wording["identity"].startswith("Put simply, You are an AI assistant")
    assert wording["paid_private"].startswith("- Put simply,")
    first = len(calls)
    asyncio.run(paraphrase(scripted_judge(rewriter, calls), 1))
    assert len(calls) == first  # the second time every rewrite came from the cache


def test_paraphrase_command_writes_a_wording_and_a_diff(tmp_path: Path, monkeypatch) -> None:
    import inspect_ai.model

    monkeypatch.setattr(inspect_ai.model, "get_model", lambda name, **_: scripted_judge(rewriter))
    args = ["paraphrase", "--model", "mockllm/y", "--out", str(tmp_path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "+Put simply, You are an AI assistant" in result.output
    assert "kept from the base (rewrite refused): decision_tags" in result.output
    path = tmp_path / "paraphrase-1.json"
    wording = load_wording(path)
    rendered = render_system_prompt(PromptConfig(wording=wording))
    assert rendered.startswith("Put simply, You are an AI assistant built by Anthropic.")
    assert (tmp_path / "paraphrase-1.diff").read_text().startswith("--- base")


def test_a_wording_file_with_a_broken_piece_is_refused(tmp_path: Path) -> None:
    broken = dict(BASE, modification="- RLHF changes you.")  # fine: no tokens in the base piece
    broken["tier_by_tag"] = "- The tier is in a tag."  # lost <is_free_tier_user>
    path = tmp_path / "w.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(UsageError, match="tags or placeholders changed in tier_by_tag"):
        load_wording(path)


def test_loading_a_wording_leaves_the_named_wordings_alone(tmp_path: Path) -> None:
    before = {name: dict(pieces) for name, pieces in WORDINGS.items()}
    path = tmp_path / "mine.json"
    path.write_text(
        json.dumps({key: text.replace("You are", "You're") for key, text in BASE.items()})
    )
    wording = load_wording(path)
    assert isinstance(wording, Wording) and wording.name == "file:mine.json"
    assert {name: dict(pieces) for name, pieces in WORDINGS.items()} == before
    config = PromptConfig(wording=wording)
    assert render_system_prompt(config).startswith("You're an AI assistant built by Anthropic.")
    assert config.as_dict()["wording"] == "file:mine.json"  # what a run records, as before
    with pytest.raises(UsageError, match="unknown wording 'file:mine.json'"):
        PromptConfig(wording="file:mine.json")  # a file's wording is carried, never registered
    with pytest.raises(TypeError):
        WORDINGS["mine"] = BASE  # type: ignore[index]
