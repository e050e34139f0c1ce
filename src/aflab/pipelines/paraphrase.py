"""``aflab paraphrase``: K new wordings of the prompt, each written beside a diff to review."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aflab.llm.retries import RequestLimits, retry_notices
from aflab.prompts.paraphrase import paraphrase, wording_diff


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
