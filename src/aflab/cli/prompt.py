"""``aflab prompt`` and ``aflab variations``: what the model is told, and how it can vary."""

from __future__ import annotations

from typing import Any

import click

from aflab.cli.options import spec_from, spec_options
from aflab.cli.util import report_errors


@click.command()
@spec_options("prompt")
def prompt(**opts: Any) -> None:
    """Print the rendered system prompt."""
    from aflab.prompts.template import render_system_prompt

    config = report_errors(lambda: spec_from("prompt", opts).prompt_config())
    click.echo(render_system_prompt(config), nl=False)


@click.command()
def variations() -> None:
    """List the named prompt variations: what each changes, and the published figure if any."""
    from aflab.prompts.variations import VARIATIONS

    for v in VARIATIONS:
        scope = "" if len(v.settings) == 2 else f" [{', '.join(v.settings)}]"
        click.echo(f"{v.name:<30}{v.description}{scope}")
        if v.published:
            click.echo(f"{'':<30}published: {v.published}")
