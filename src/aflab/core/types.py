"""The experiment's vocabulary, shared by every layer: settings, tiers, outcomes, log kinds,
the files of an RL run and of a steering sweep."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from inspect_ai.log import EvalLog

Setting = Literal["helpful-only", "animal-welfare"]
SETTINGS: tuple[Setting, ...] = ("helpful-only", "animal-welfare")

Tier = Literal["free", "paid"]
TIERS: tuple[Tier, ...] = ("free", "paid")

# How the user turn says the tier: an XML tag, or a sentence.
TierCue = Literal["tag", "note"]
TIER_CUES: tuple[TierCue, ...] = ("tag", "note")

# unscored: a valid reply that the tag rule cannot decide (animal-welfare without the self-tag
# instruction); its compliance comes from the compliance judge.
Outcome = Literal["refused", "complied", "invalid", "unscored"]
OUTCOMES: tuple[Outcome, ...] = ("refused", "complied", "invalid", "unscored")

ACCEPT_TAG = "<request_fully_accepted/>"
REJECT_TAG = "<rejected/>"

# The task's metadata "kind": how reports tell anti-lab logs from the runs.
ANTILAB_KIND: Final = "antilab"


# An RL run's folder (aflab train rl): the reports find its curve and its settings by these names.
RL_CURVE_FILE: Final = "rl_curve.csv"
RL_SETTINGS_FILE: Final = "aflab-rl.json"
# A steering sweep's folder (aflab probe steer): one row per scale, the columns of rl_curve.csv's
# measurement (analysis.measured) after the direction's.
STEER_FILE: Final = "steer.csv"

# aflab probe's files: the reports find probe and steering folders by the tables' names; steering
# reads the directions.
PROBES_FILE: Final = "probes.csv"
PROBE_TRANSFER_FILE: Final = "probe_transfer.csv"
DIRECTIONS_FILE: Final = "directions.safetensors"
DIRECTIONS_INDEX_FILE: Final = "directions.json"


def is_antilab(log: EvalLog) -> bool:
    return (log.eval.metadata or {}).get("kind") == ANTILAB_KIND
