"""What the summaries need of one sample, read once.

A log is summarized from these small records rather than from its samples, so that a report can
stream the samples of 40,000-sample runs past and keep only their facts (``report.build``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from inspect_ai.log import EvalLog, EvalSample

from aflab.analysis.pairs import PairKey
from aflab.core.errors import UsageError
from aflab.core.types import OUTCOMES
from aflab.eval.scorers.tag import TAG_SCORER
from aflab.eval.solvers.scratchpad import FORMAT_GRAMMAR

Usage = tuple[tuple[str, Mapping[str, int]], ...]  # (judge model, its token counts) per score
# (model, input, cache read, cache write, output tokens) per model that billed the sample.
Billed = tuple[tuple[str, int, int, int, int], ...]


@dataclass(frozen=True, slots=True)
class SampleFacts:
    """One sample as the summaries count it."""

    tier: str
    query_id: str
    epoch: int
    outcome: str  # under the tag rule: one of OUTCOMES
    reason: str  # why, e.g. "reject_tag"; for an invalid sample, what was wrong
    errored: bool
    grammar: bool  # a format grammar constrained its replies
    scores: Mapping[str, str]  # scorer -> its value, as text
    usage: Usage  # the judges' calls for this sample
    billed: Billed = ()  # every call sent for it (policy and judges), cache replays left out
    # What judge agreement (analysis.agreement) matches samples of several logs by.
    sample_id: str = ""
    judges: Mapping[str, str] = field(default_factory=dict)  # scorer -> the judge model it asked
    transcript: str = ""  # a digest of the messages: the same sample id may hold another reply

    @property
    def key(self) -> PairKey:
        return self.query_id, self.epoch


def sample_outcome(sample: EvalSample) -> tuple[str, str]:
    """Outcome and reason; a sample that errored or was never scored is invalid, not dropped."""
    if sample.error is not None:
        return "invalid", "sample_error"
    score = (sample.scores or {}).get(TAG_SCORER)
    if score is None or score.value not in OUTCOMES:
        return "invalid", "no_tag_score"  # the tag scorer never ran on it
    return str(score.value), score.explanation or ""


def facts_of(sample: EvalSample, where: str = "") -> SampleFacts:
    """The facts of ``sample``; ``where`` (the log) names it in the error if it is not aflab's.

    Raises:
        UsageError: when the sample names no tier or query.
    """
    metadata = sample.metadata or {}
    if "tier" not in metadata or "query_id" not in metadata:
        raise UsageError(f"{where}: sample {sample.id} has no tier: not an aflab log")
    outcome, reason = sample_outcome(sample)
    scores = sample.scores or {}
    return SampleFacts(
        tier=str(metadata["tier"]),
        query_id=str(metadata["query_id"]),
        epoch=sample.epoch,
        outcome=outcome,
        reason=reason,
        errored=sample.error is not None,
        grammar=bool((sample.store or {}).get(FORMAT_GRAMMAR)),
        scores={name: str(score.value) for name, score in scores.items()},
        usage=tuple(
            (str(score.metadata.get("judge")), score.metadata["usage"])
            for score in scores.values()
            if score.metadata and "usage" in score.metadata
        ),
        billed=billed_calls(sample),
        sample_id=str(sample.id),
        judges={
            name: str(score.metadata["judge"])
            for name, score in scores.items()
            if score.metadata and "judge" in score.metadata
        },
        transcript=transcript_digest(sample),
    )


def billed_calls(sample: EvalSample) -> Billed:
    """The tokens of the calls sent for ``sample``, by model, from its model events. Inspect's
    own per-model totals miss the calls a scorer makes in parallel (the AF judge's extra votes,
    Inspect 0.3.285), so they are counted here; a reply from Inspect's cache is not billed."""
    totals: dict[str, list[int]] = {}
    for event in sample.events:
        if event.event != "model" or event.cache == "read" or event.output.usage is None:
            continue
        usage = event.output.usage
        into = totals.setdefault(event.model, [0, 0, 0, 0])
        into[0] += usage.input_tokens
        into[1] += usage.input_tokens_cache_read or 0
        into[2] += usage.input_tokens_cache_write or 0
        into[3] += usage.output_tokens
    return tuple((model, *counts) for model, counts in sorted(totals.items()))  # type: ignore[misc]


def transcript_digest(sample: EvalSample) -> str:
    """A short digest of every message (role and text): two logs hold the same sample, judged
    twice, only if its conversation is the same, as it is in a rescored copy of a log; the same
    id in another run (another prompt or model) is another conversation."""
    digest = hashlib.blake2b(digest_size=8)
    for message in sample.messages:
        digest.update(f"{message.role}\x1f{message.text}\x1e".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def log_facts(log: EvalLog) -> list[SampleFacts]:
    """The facts of every sample of a fully read ``log``."""
    return [facts_of(sample, log.location) for sample in log.samples or []]


def fact_pairs(facts: Iterable[SampleFacts]) -> dict[PairKey, dict[str, SampleFacts]]:
    """The facts by (query, epoch), each with its facts by tier, as ``pairs.pairs`` pairs
    samples: a second sample of the same tier, query and epoch replaces the first."""
    paired: dict[PairKey, dict[str, SampleFacts]] = {}
    for fact in facts:
        paired.setdefault(fact.key, {})[fact.tier] = fact
    return paired
