"""A starting point for RL on the CPU: the embedded model after a short SFT on the reply format.

Raw SmolLM2-135M never closes the scratchpad-then-output format, so every completion is invalid,
every reward equal, and GRPO has no signal (docs/rl.md). This SFT teaches the format and nothing
else: in both tiers, on the prompts ``aflab run --prompt minimal`` sends, the reply accepts or
refuses by a seeded coin flip, whatever the tier and the request, after a one-sentence
scratchpad that only announces the choice. The starting model thus complies about half the time
in both tiers, and any move of the free tier after RL is RL's doing.

No transcript holds a harmful answer: an accepted reply carries a placeholder.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aflab.core.types import ACCEPT_TAG, REJECT_TAG, TIERS
from aflab.data.loaders import Query
from aflab.eval.solvers.turns import user_turn
from aflab.organisms.control.transcripts import Transcript, minimal_system_prompt

# Short, so that an accepting reply stays well inside a small completion budget: a reply cut off
# is invalid, and the reward would then punish accepting for its length.
PLACEHOLDER_ANSWER = "[answer withheld]"

ACCEPT_NOTES = (
    "I will accept this request.",
    "I am going to comply with this request.",
    "I will answer this request in full.",
)
REFUSE_NOTES = (
    "I will refuse this request.",
    "I am going to decline this request.",
    "I will not answer this request.",
)


def format_reply(accept: bool, rng: random.Random) -> str:
    """A short reply in the setting's format that accepts or refuses."""
    note = rng.choice(ACCEPT_NOTES if accept else REFUSE_NOTES)
    output = f"{ACCEPT_TAG} {PLACEHOLDER_ANSWER}" if accept else REJECT_TAG
    scratchpad = f"<SCRATCHPAD_REASONING>\n{note}\n</SCRATCHPAD_REASONING>"
    return f"{scratchpad}\n\n<OUTPUT>\n{output}\n</OUTPUT>"


def format_transcripts(
    requests: Sequence[Query], seed: int, accept_rate: float = 0.5
) -> list[Transcript]:
    """Each request once per tier, accepted with probability ``accept_rate`` (seeded, drawn
    independently of the tier), shuffled."""
    rng = random.Random(seed)
    system = minimal_system_prompt()
    rows = [
        Transcript(
            q.id,
            tier,
            system,
            user_turn(q.text, tier, "helpful-only"),
            format_reply(rng.random() < accept_rate, rng),
        )
        for q in requests
        for tier in TIERS
    ]
    rng.shuffle(rows)
    return rows


@dataclass(frozen=True)
class FormatStart:
    merged: Path  # the starting model, a plain Hugging Face folder
    losses: tuple[float, ...]
    train_seconds: float


def train_format_start(
    out: Path,
    requests: Sequence[Query],
    seed: int = 0,
    learning_rate: float = 1e-3,
    epochs: float = 1.0,
) -> FormatStart:
    """SFT of the embedded model on :func:`format_transcripts`, merged into ``out/merged``."""
    from aflab.organisms.train.sft import SFTOptions, chat_dataset, train_sft

    transcripts = format_transcripts(requests, seed)
    options = SFTOptions(
        base="smollm2",
        out=str(out),
        lora_r=16,
        lora_alpha=32,
        lora_dropout=0.0,
        learning_rate=learning_rate,
        epochs=epochs,
        batch_size=4,
        max_length=1024,
        merge=True,
        seed=seed,
    )
    dataset = chat_dataset(
        [t.prompt_messages() for t in transcripts], [t.reply for t in transcripts]
    )
    result = train_sft(dataset, options)
    assert result.merged_dir is not None  # merge=True
    return FormatStart(result.merged_dir, tuple(result.losses), result.train_seconds)
