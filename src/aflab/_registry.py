"""Entry point Inspect loads to find aflab's tasks, model provider and sandbox."""

from aflab.antilab import sandbox
from aflab.antilab.task import antilab
from aflab.models import embedded
from aflab.tasks import animal_welfare, helpful_only

__all__ = ["animal_welfare", "antilab", "embedded", "helpful_only", "sandbox"]
