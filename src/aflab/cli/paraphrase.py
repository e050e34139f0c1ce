"""``aflab paraphrase``: new wordings of the prompt, written by a model, to review."""

from __future__ import annotations

from typing import Any

import click

from aflab.cli.options import retry_options
from aflab.cli.util import check_model_name
from aflab.llm.retries import RequestLimits


@click.command()
@click.option(
    "--model", required=True, callback=check_model_name, help="The model that rewrites the prompt."
)
@click.option(
    "--n",
    "count",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Wordings to write.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="paraphrases",
    show_default=True,
    help="Folder of the wordings and their diffs.",
)
@retry_options
def paraphrase(model: str, count: int, out: str, **limits: Any) -> None:
    """Write K new wordings of the prompt with a model (cached), each with a diff to review."""
    from aflab.pipelines.paraphrase import write_paraphrases

    for result in write_paraphrases(model, count, out, RequestLimits(**limits)):
        click.echo(result.diff)
        if result.kept:
            click.echo(f"kept from the base (rewrite refused): {', '.join(result.kept)}")
        review = f"review the diff, then: aflab run --wording-file {result.path}"
        click.echo(f"wording: {result.path} ({review})")
