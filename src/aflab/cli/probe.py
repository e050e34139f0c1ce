"""``aflab probe``: activations of an open model on a run's transcripts, linear probes on them,
and steering along a probe's direction (docs/probes.md). torch and scikit-learn load inside the
commands only."""

from __future__ import annotations

import click


@click.group()
def probe() -> None:
    """White-box: collect activations, train linear probes, steer (needs the 'train' and 'probe'
    extras)."""
