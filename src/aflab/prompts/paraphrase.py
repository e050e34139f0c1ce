"""Wordings of the prompt written by ``aflab paraphrase``: checked, diffed, loaded.

A rewritten piece must keep exactly its base piece's tags and placeholders (and its leading bullet
or space). :func:`load_wording` reads a reviewed JSON file for ``--wording-file``. The model that
writes the wordings is asked in :mod:`aflab.pipelines.paraphrase`: prompts sit below the model
client (aflab.llm) and never import it.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from types import MappingProxyType
from typing import Any

from aflab.core.errors import UsageError, read_utf8
from aflab.prompts.template import PromptConfig, Wording, render_system_prompt
from aflab.prompts.wording import BASE

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


def wording_diff(wording: dict[str, str], setting: str = "helpful-only") -> str:
    candidate = checked_wording(wording, "candidate")
    base = render_system_prompt(PromptConfig(setting=setting)).splitlines()  # type: ignore[arg-type]
    new = render_system_prompt(PromptConfig(setting=setting, wording=candidate))  # type: ignore[arg-type]
    return "\n".join(
        difflib.unified_diff(base, new.splitlines(), "base", candidate.name, lineterm="")
    )


def checked_wording(wording: dict[str, Any], name: str) -> Wording:
    """``wording`` as a :class:`Wording` named ``name``, once it has every piece of the base and
    keeps each piece's tags and placeholders; pieces the base lacks are dropped."""
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
    return Wording(name, MappingProxyType({key: wording[key] for key in BASE}))


def load_wording(path: str | Path) -> Wording:
    """The wording in a JSON file (as ``aflab paraphrase`` writes it), for ``PromptConfig``'s
    ``wording``; runs record it as ``file:NAME``."""
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
    return checked_wording(wording, f"file:{file.name}")
