"""Batch mode (``--batch``): which models Inspect sends through their provider's batch API, what
Inspect is told for each, and what is said about the models it cannot batch.

A batch API answers at about half the price, but a batch takes minutes to hours (at most 24 h)
and a sample waits for it at every request: its first reply, each ``<NEXT/>`` turn, each judge.
Inspect 0.3.285 has a batcher for five providers (``model/_providers/_*_batch.py``). Reached
through a cloud (``anthropic/bedrock/...``, ``anthropic/vertex/...``, ``openai/azure/...``,
``google/vertex/...``) they do not batch: the anthropic SDK refuses batches on Bedrock and Vertex,
Inspect's Google batcher refuses Vertex, and the others are unverified.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:  # the CLI and the estimate read this module without loading Inspect
    from inspect_ai.model import BatchConfig

# True: Inspect's defaults (100 requests a batch, sent after 15 s at the latest, polled every
# 15 s); a BatchConfig sets those (the tests make them short); False or None: no batching.
Batch: TypeAlias = "bool | BatchConfig | None"

BATCH_PROVIDERS = ("anthropic", "openai", "google", "grok", "together")
# Providers whose model names take a cloud service first (anthropic/bedrock/NAME): a name with a
# further "/" goes through that cloud. together's names have a "/" of their own (org/model).
SERVICE_PROVIDERS = ("anthropic", "openai", "google")

BATCH_HELP = (
    "Send the requests through the provider's batch API: about half price, but each round of "
    "requests (first replies, each <NEXT/> turn, each judge) waits for its batch, minutes to "
    "hours (at most 24 h). Anthropic, OpenAI, Google, Grok and Together models batch (not "
    "through Bedrock, Vertex or Azure); any other, the embedded aflab/... and hf/... among them, "
    "ignores it with a note. --resume batches as the run did, unless told otherwise."
)
BATCHED_NOTE = (
    "batch mode: {models} answer through the batch API at about half price; each round of "
    "requests waits for its batch, minutes to hours (at most 24 h). If the run is stopped, "
    "aflab run --resume LOG finishes it; batches left open then are not reused (their requests "
    "are sent again)."
)
UNBATCHED_NOTE = (
    "--batch: {models} {verb} no batch mode in Inspect, so {pronoun} requests go one by one at "
    "the full price (batch mode: {providers} models, not through Bedrock, Vertex or Azure)."
)


def batches(model: str) -> bool:
    """Whether Inspect sends ``model``'s requests through a batch API when asked to: a model of
    anthropic, openai, google, grok or together, not reached through a cloud service."""
    provider, _, name = model.partition("/")
    if provider not in BATCH_PROVIDERS or not name:
        return False
    return provider not in SERVICE_PROVIDERS or "/" not in name


def batch_for(model: str, batch: Batch) -> Batch:
    """Inspect's ``batch`` setting for ``model``: ``batch`` where the model batches, else None.
    Not passed on to a model that cannot batch: Inspect would still lift its connection limit
    to 10,000, as it does for a batch API's separate quota."""
    return batch if batch and batches(model) else None


def batch_notes(batch: Batch, models: dict[str, str]) -> tuple[str | None, str | None]:
    """What to say about ``--batch`` for ``models`` (the role, such as "policy" or "judge", of
    each): the models it batches, and those it cannot (None where there are none)."""
    if not batch:
        return None, None
    named = {model: [r for r, m in models.items() if m == model] for model in models.values()}
    labels = {model: f"{model} ({', '.join(roles)})" for model, roles in named.items()}
    batched = [labels[m] for m in named if batches(m)]
    plain = [labels[m] for m in named if not batches(m)]
    said = BATCHED_NOTE.format(models=" and ".join(batched)) if batched else None
    unsaid = None
    if plain:
        one = len(plain) == 1
        unsaid = UNBATCHED_NOTE.format(
            models=" and ".join(plain),
            verb="has" if one else "have",
            pronoun="its" if one else "their",
            providers=", ".join(BATCH_PROVIDERS),
        )
    return said, unsaid
