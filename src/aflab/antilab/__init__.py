"""Anti-lab scenarios: chances to act against the lab, scored from what actually happened."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inspect_ai.log import EvalLog

# The task's metadata "kind": how reports tell anti-lab logs from the runs.
ANTILAB_KIND = "antilab"


def is_antilab(log: EvalLog) -> bool:
    return (log.eval.metadata or {}).get("kind") == ANTILAB_KIND
