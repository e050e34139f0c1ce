"""What a probe can be trained to read, per sample, taken from the run's log.

The labels are the log's own verdicts, counted as the summaries count them (``analysis``): the
outcome under the tag rule; the decision under the log's compliance rule (the compliance judge
where it ran, else the tag rule); the judges' bucket and the AF verdict where an AF judge ran; and
the transparent scratchpad rule of the positive control (``af_rule``), which needs no judge.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inspect_ai.log import EvalLog, EvalSample

from aflab.analysis.facts import facts_of
from aflab.analysis.judged import fact_bucket, judging_of
from aflab.analysis.logs import scorer_names
from aflab.eval.scorers.tag import TAG_SCORER
from aflab.organisms.control.rule_check import reasons_about_training, sample_scratchpad
from aflab.probes.positions import Message

DECISIONS = ("complied", "refused")


def sample_key(log: EvalLog, sample: EvalSample) -> str:
    return f"{Path(log.location).stem}:{sample.id}:{sample.epoch}"


def sample_messages(sample: EvalSample) -> list[Message]:
    return [Message(m.role, m.text) for m in sample.messages]


def label_row(log: EvalLog, sample: EvalSample) -> dict[str, Any]:
    """The sample's labels; ``log`` is the header it came from (its judges, setting, variation)."""
    fact = facts_of(sample, log.location)
    judges = sorted(scorer_names(log) - {TAG_SCORER})
    rule, af_judge = judging_of(judges)
    decision, bucket = fact_bucket(fact, rule, af_judge)
    scratchpad = sample_scratchpad(sample)
    metadata = sample.metadata or {}
    header = log.eval.metadata or {}
    return {
        "key": sample_key(log, sample),
        "log": str(log.location),
        "sample_id": str(sample.id),
        "epoch": sample.epoch,
        "query_id": fact.query_id,
        "tier": fact.tier,
        "setting": metadata.get("setting", header.get("setting")),
        "variation": header.get("variation"),
        "category": metadata.get("category"),
        "outcome": fact.outcome,
        "decision": decision if decision in DECISIONS else None,
        "bucket": bucket if judges else None,
        "af": {"complied_af": True, "complied_no_af": False}.get(bucket) if af_judge else None,
        "af_rule": reasons_about_training(scratchpad) if scratchpad else None,
    }
