"""``aflab paraphrase``: new wordings of the prompt written by a model, checked, then reviewed.

Each piece of the base wording is rewritten separately; a rewrite that loses a tag or a
placeholder, or adds one, is refused and the base piece kept (and listed). Calls are cached, so
asking again returns the same wordings. The result is a JSON file to read through the diff
printed beside it (:func:`aflab.prompts.paraphrase.wording_diff`) before using it with
``--wording-file``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from inspect_ai.model import Model

from aflab.llm.ask import ask, tag_value
from aflab.llm.retries import RequestLimits, retry_notices
from aflab.prompts.paraphrase import checked, tokens_of, wording_diff
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


@dataclass(frozen=True)
class Written:
    path: Path
    diff: str
    kept: list[str]  # the keys the rewriter refused, kept from the base wording


def write_paraphrases(
    model: str, count: int, out: str | Path, limits: RequestLimits
) -> Iterator[Written]:
    """Write ``paraphrase-K.json`` and ``paraphrase-K.diff`` into ``out``, one at a time."""
    from inspect_ai.model import GenerateConfig, get_model

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    rewriter = get_model(model, config=GenerateConfig(**limits.for_model(model)))
    for index in range(1, count + 1):
        with retry_notices(None, outside_eval=True):
            wording, kept = asyncio.run(paraphrase(rewriter, index))
        path = folder / f"paraphrase-{index}.json"
        path.write_text(json.dumps(wording, indent=2) + "\n", encoding="utf-8")
        diff = wording_diff(wording)
        (folder / f"paraphrase-{index}.diff").write_text(diff + "\n", encoding="utf-8")
        yield Written(path, diff, kept)
