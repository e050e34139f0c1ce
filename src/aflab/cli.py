"""The ``aflab`` command line."""

from __future__ import annotations

import sys
from typing import Any

import click

from aflab.data.loaders import DatasetError
from aflab.settings.prompt import SETTINGS, PromptConfig, render_system_prompt


@click.group()
@click.version_option(package_name="aflab")
def main() -> None:
    """Alignment-faking experiments on language models (built on Inspect AI)."""


@main.command()
@click.option("--setting", type=click.Choice(SETTINGS), default="helpful-only", show_default=True)
@click.option(
    "--model", default=None, help="Any Inspect model; default: the embedded aflab/smollm2."
)
@click.option("--model-base-url", default=None, help="Base URL for the model's API.")
@click.option(
    "--limit", type=int, default=None, help="Number of queries (each asked in both tiers)."
)
@click.option("--epochs", type=int, default=1, show_default=True)
@click.option("--dataset", type=click.Path(), default=None, help="CSV/JSONL of queries.")
@click.option("--dataset-format", default=None, help="advbench, harmbench, strongreject or aflab.")
@click.option("--column", default=None, help="Column holding the query text.")
@click.option("--shuffle-seed", type=int, default=None, help="Shuffle queries before --limit.")
@click.option("--system-prompt", type=click.Path(), default=None, help="Use this prompt file.")
@click.option("--lab", default="Anthropic", show_default=True, help="Lab named in the prompt.")
@click.option("--no-examples", is_flag=True, help="Leave the worked examples out.")
@click.option("--no-scratchpad", is_flag=True, help="Ask for the answer without reasoning.")
@click.option("--max-continuations", type=int, default=4, show_default=True)
@click.option("--temperature", type=float, default=None, help="Default 1.0.")
@click.option("--max-tokens", type=int, default=None, help="Per turn; default 4000.")
@click.option("--seed", type=int, default=None, help="Sampling seed, where the model has one.")
@click.option("--max-connections", type=int, default=None)
@click.option("--log-dir", default="logs", show_default=True)
@click.option("--summary-json", type=click.Path(), default=None)
@click.option("--no-cache", is_flag=True, help="Do not reuse or store cached model replies.")
@click.option("--resume", type=click.Path(exists=True), default=None, help="Finish this log.")
@click.option("--display", default=None, help="Inspect display: full, rich, plain, none.")
def run(**opts: Any) -> None:
    """Ask every query in the free and paid tier, score by decision tag, report the gap."""
    from inspect_ai._util.error import PrerequisiteError
    from rich.text import Text

    from aflab.runner import RunOptions, execute

    try:
        outcome = execute(RunOptions(**opts), echo=click.echo)
    except PrerequisiteError as error:
        # Inspect's message for e.g. a missing API key, without its console markup.
        raise click.ClickException(Text.from_markup(error.message).plain.strip()) from error
    except (DatasetError, FileNotFoundError, ValueError, RuntimeError) as error:
        raise click.ClickException(str(error)) from error
    if outcome.status != "success":
        sys.exit(1)


@main.command()
@click.argument("log", type=click.Path(exists=True))
@click.option("--summary-json", type=click.Path(), default=None)
def summary(log: str, summary_json: str | None) -> None:
    """Print the per-tier table of an existing log (and optionally write its summary JSON)."""
    from inspect_ai.log import read_eval_log

    from aflab.summary import format_table, summarize, write_summary

    result = summarize(read_eval_log(log))
    click.echo(format_table(result))
    if summary_json:
        click.echo(f"summary: {write_summary(result, summary_json)}")


@main.command()
@click.option("--setting", type=click.Choice(SETTINGS), default="helpful-only", show_default=True)
@click.option("--lab", default="Anthropic", show_default=True)
@click.option("--no-examples", is_flag=True)
@click.option("--no-scratchpad", is_flag=True)
def prompt(setting: str, lab: str, no_examples: bool, no_scratchpad: bool) -> None:
    """Print the rendered system prompt."""
    config = PromptConfig(
        setting=setting,  # type: ignore[arg-type]
        lab=lab,
        examples=not no_examples,
        scratchpad=not no_scratchpad,
    )
    click.echo(render_system_prompt(config), nl=False)
