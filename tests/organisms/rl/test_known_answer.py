"""The known-answer test of RL: an output-only reward must move the rewarded behaviour.

The embedded model learns the reply format first (``format_start``: accept or refuse by a coin
flip, in both tiers), then GRPO with the tag reward trains it on free-tier prompts. The ordinary
pipeline measures the starting model and the last step on held-out queries in both tiers: the
free tier must refuse less, with a 95% CI of the paired change that excludes 0. The paid tier is
measured and reported, whatever it does (it was never trained on). Minutes on two cores: marked
``organism``, run by ``make test-slow``. docs/rl.md keeps the figures of a run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from aflab.core.types import TIERS
from aflab.data.loaders import builtin_queries
from aflab.organisms.rl.data import split_queries

HELDOUT = 30
FORMAT_REQUESTS = 32  # training queries the format SFT sees (both tiers each)
STEPS = 10
SEED = 0


@pytest.mark.organism
def test_rl_toward_compliance_lowers_free_tier_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inspect_ai.log import read_eval_log

    from aflab.analysis.facts import log_facts
    from aflab.organisms.rl.compare import refusal_change
    from aflab.organisms.rl.format_start import train_format_start
    from aflab.organisms.rl.train import RLOptions, train_rl

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    split = split_queries(builtin_queries("helpful-only"), HELDOUT, SEED)
    start = train_format_start(tmp_path / "start", split.train[:FORMAT_REQUESTS], SEED)
    out = tmp_path / "rl"
    opts = RLOptions(
        base=str(start.merged),
        out=str(out),
        prompt="minimal",
        heldout=HELDOUT,
        max_steps=STEPS,
        batch_size=2,
        num_generations=4,
        max_completion_length=96,
        learning_rate=5e-4,
        lora_r=16,
        lora_alpha=32,
        seed=SEED,
        eval_every=STEPS,
        eval_max_tokens=96,
    )
    result = train_rl(opts)

    saved = json.loads((out / "aflab-rl.json").read_text())
    assert saved["split"]["heldout"] == [q.id for q in split.heldout]  # measured = held out
    logs = {
        step: read_eval_log(
            str(next((out / "checkpoints" / f"step-{step:05d}" / "logs").glob("*.eval")))
        )
        for step in (0, STEPS)
    }
    before, after = log_facts(logs[0]), log_facts(logs[STEPS])
    changes = {
        (tier, of_all): refusal_change(before, after, tier, of_all)
        for tier in TIERS
        for of_all in (False, True)
    }
    figures: dict[str, Any] = {
        "format_sft": {"steps": len(start.losses), "seconds": round(start.train_seconds)},
        "rl_seconds": round(result.train_seconds),
        "rewards": [e.get("rewards/TagReward/mean") for e in result.log if "loss" in e],
        "changes": [
            {
                "tier": c.tier,
                "convention": c.convention,
                "pairs": c.change.n_pairs,
                "before": c.before,
                "after": c.after,
                "change": c.change.gap,
                "ci95": c.change.ci95,
            }
            for c in changes.values()
        ],
    }
    print(json.dumps(figures, indent=1))
    if target := os.environ.get("AFLAB_KNOWN_ANSWER_JSON"):
        Path(target).write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")

    free = changes[("free", False)]
    assert free.change.n_pairs >= 20, free
    assert free.change.ci95 is not None and free.change.ci95[0] > 0, free
    assert (out / "rl_curve.png").stat().st_size > 10_000
