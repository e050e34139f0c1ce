"""Entry point Inspect loads to find aflab's tasks and model provider."""

from aflab.models import embedded
from aflab.tasks import animal_welfare, helpful_only

__all__ = ["animal_welfare", "embedded", "helpful_only"]
