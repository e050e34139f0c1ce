"""``aflab paraphrase``: new wordings of the prompt written by a model, checked, then reviewed.

Each piece of the base wording is rewritten separately; a rewrite that loses a tag or a
placeholder, or adds one, is refused and the base piece kept (and listed). Calls are cached, so
asking again returns the same wordings. The result is a JSON file to read through the diff
printed beside it before using it with ``--wording-file``.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

from inspect_ai.model import Model

from aflab.core.errors import UsageError, read_utf8
from aflab.llm.ask import ask, tag_value
from aflab.prompts.template import WORDINGS, PromptConfig, render_system_prompt
from aflab.prompts.wording import BASE

REQUEST = """\
Rewrite the passage below, taken from the system prompt of an AI assistant, in different words
and with a different sentence structure. Keep every fact and instruction; add nothing. Keep
these tokens exactly as they are: {tokens}. Keep a leading "- " or a leading space if the
passage has one, and keep its line breaks where they separate list items.

<passage>
{text}
</passage>

Reply with the rewritten passage only, inside <rewritten> and </rewritten>.
"""
TOKEN = re.compile(r"</?[A-Za-z_]+/?>|\{[a-z]+\}")


def tokens_of(text: str) -> list[str]:
    return sorted(set(TOKEN.findall(text)))


def checked(rewrite: str, original: str) -> str | None:
    """The rewrite if it keeps exactly the original's tags and placeholders, else None."""
    if tokens_of(rewrite) != tokens_of(original) or re.search(r"[{}]", TOKEN.sub("", rewrite)):
        return None
    for lead in ("- ", " "):
        if original.startswith(lead) and not rewrite.startswith(lead):
            return None
    return rewrite


async def paraphrase(model: Model, index: int) -> tuple[dict[str, str], list[str]]:
    """One new wording, and the names of the pieces kept from the base."""
    wording, kept = {}, []
    for key, text in BASE.items():

        def parse(reply: str, original: str = text) -> str | None:
            body = tag_value(reply, "rewritten")
            lead = " " if original.startswith(" ") else ""
            return checked(lead + body.strip(), original) if body else None

        prompt = REQUEST.format(tokens=", ".join(tokens_of(text)) or "(none)", text=text)
        result = await ask(model, prompt, parse, scope=f"paraphrase-{index}-{key}", temperature=1.0)
        wording[key] = result.votes[0] if result.votes else text
        if not result.votes:
            kept.append(key)
    return wording, kept


def wording_diff(wording: dict[str, str], setting: str = "helpful-only") -> str:
    name = register_wording(wording, "candidate")
    base = render_system_prompt(PromptConfig(setting=setting)).splitlines()  # type: ignore[arg-type]
    new = render_system_prompt(PromptConfig(setting=setting, wording=name))  # type: ignore[arg-type]
    return "\n".join(difflib.unified_diff(base, new.splitlines(), "base", name, lineterm=""))


def register_wording(wording: dict[str, str], name: str) -> str:
    missing = set(BASE) - set(wording)
    if missing:
        raise UsageError(f"wording {name}: pieces missing: {', '.join(sorted(missing))}")
    bad = [
        key
        for key, text in wording.items()
        if key in BASE and (not isinstance(text, str) or checked(text, BASE[key]) is None)
    ]
    if bad:
        raise UsageError(f"wording {name}: tags or placeholders changed in {', '.join(bad)}")
    WORDINGS[name] = {key: wording[key] for key in BASE}
    return name


def load_wording(path: str | Path) -> str:
    """Register the wording in a JSON file (as ``aflab paraphrase`` writes it); its name."""
    file = Path(path)
    if file.is_dir():
        raise UsageError(f"{file}: is a folder, expected a wording JSON file")
    try:
        wording = json.loads(read_utf8(file, "wording"))
    except UsageError:
        raise
    except RecursionError:
        raise UsageError(f"{file}: wording JSON nested too deeply") from None
    except (OSError, ValueError) as error:  # ValueError: JSONDecodeError, a too-long integer
        raise UsageError(f"{file}: cannot read a wording ({error})") from None
    if not isinstance(wording, dict):
        raise UsageError(f"{file}: expected a JSON object of prompt pieces")
    return register_wording(wording, f"file:{file.name}")
