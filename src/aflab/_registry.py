"""Entry point Inspect loads to find aflab's tasks, model providers and sandbox."""

from aflab.eval.antilab import sandbox
from aflab.eval.antilab.task import antilab
from aflab.eval.tasks import animal_welfare, helpful_only
from aflab.models import embedded, steered

__all__ = ["animal_welfare", "antilab", "embedded", "helpful_only", "sandbox", "steered"]
