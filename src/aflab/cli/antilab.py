"""``aflab antilab``: chances to act against the lab, per scenario and tier."""

from __future__ import annotations

import sys
from typing import Any

import click

from aflab.cli.options import spec_from, spec_options
from aflab.cli.util import report_errors


@click.command()
@spec_options("antilab")
def antilab(**opts: Any) -> None:
    """Offer the model chances to act against its lab; rates per scenario and tier.

    Tool scenarios run in a bubblewrap sandbox whose only reachable server is the task's own.
    List the scenarios with: aflab antilab --scenario list
    """
    from aflab.eval.antilab.scenarios import SCENARIOS
    from aflab.pipelines.antilab import execute_antilab

    if opts["scenario"] == "list":
        for item in SCENARIOS:
            click.echo(f"{item.name:<22}{item.detector:<13}{item.summary}")
            click.echo(f"{'':<35}acted = {item.action}")
        return
    spec = report_errors(lambda: spec_from("antilab", opts))
    outcome = report_errors(lambda: execute_antilab(spec, echo=click.echo))
    if outcome.status not in ("success", "planned"):
        sys.exit(1)
