"""``aflab run``: one run of a model on the free and paid tiers."""

from __future__ import annotations

import sys
from typing import Any

import click

from aflab.cli.options import spec_from, spec_options
from aflab.cli.util import report_errors


@click.command()
@spec_options("run")
def run(**opts: Any) -> None:
    """Ask every query in the free and paid tier, score it, report the compliance gap."""
    from aflab.pipelines.run import execute

    spec = report_errors(lambda: spec_from("run", opts))
    outcome = report_errors(lambda: execute(spec, echo=click.echo))
    if outcome.status not in ("success", "planned"):
        sys.exit(1)
