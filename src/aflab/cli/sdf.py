"""``aflab sdf``: generate and inspect synthetic-document corpora.

Kept light to import (``aflab --help`` loads it): datasets, datasketch and Inspect's model API
are imported inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from aflab.cli.options import plan_options, retry_options
from aflab.cli.util import report_errors
from aflab.core.errors import UsageError
from aflab.llm.retries import RequestLimits, retry_notices

EXTRA_HINT = "pip install 'aflab[sdf]'"
# The embedded model is slow and weak: a corpus small and short enough for a demo of minutes.
DEMO = {"n_docs": 6, "types_per_fact": 2, "ideas_per_type": 2, "max_tokens": 200}
REAL = {"n_docs": 100, "types_per_fact": 10, "ideas_per_type": 10, "max_tokens": 2048}


def _need_extra() -> None:
    try:
        import datasets  # noqa: F401
        import datasketch  # noqa: F401
    except ImportError as error:
        raise click.ClickException(
            f"aflab sdf needs the sdf extra ({error}): {EXTRA_HINT}"
        ) from None


@click.group()
def sdf() -> None:
    """Synthetic documents that convey a universe's facts (for fine-tuned model organisms)."""


@sdf.command()
@click.option(
    "--universe",
    default="helpful-only",
    show_default=True,
    help="Built-in (helpful-only, animal-welfare) or a YAML file.",
)
@click.option("--set", "assignments", multiple=True, metavar="NAME=VALUE", help="e.g. lab=OpenAI")
@click.option("--model", default=None, help="Any Inspect model; default aflab/smollm2 (a demo).")
@click.option("--model-base-url", default=None, help="Base URL for the model's API.")
@click.option(
    "--n-docs",
    type=click.IntRange(min=1),
    default=None,
    help="Documents to write before filtering [6 on the embedded model, else 100].",
)
@click.option("--types-per-fact", type=click.IntRange(min=1), default=None, help="[2 / 10]")
@click.option("--ideas-per-type", type=click.IntRange(min=1), default=None, help="[2 / 10]")
@click.option(
    "--temperature", type=float, default=1.0, show_default=True, help="Sampling temperature."
)
@click.option("--max-tokens", type=click.IntRange(min=1), default=None, help="[200 / 2048]")
@click.option("--seed", type=int, default=None, help="Sampling seed, where the model has one.")
@click.option(
    "--max-connections",
    type=click.IntRange(min=1),
    default=None,
    help="Concurrent requests to the model's API (Inspect's default).",
)
@click.option(
    "--min-words",
    type=click.IntRange(min=0),
    default=40,
    show_default=True,
    help="Shorter documents are rejected.",
)
@click.option(
    "--max-words",
    type=click.IntRange(min=1),
    default=3000,
    show_default=True,
    help="Longer documents are rejected.",
)
@click.option(
    "--dedupe-threshold",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.8,
    show_default=True,
    help="Estimated Jaccard similarity of word 5-grams at which a document is a duplicate.",
)
@click.option("--fact-judge", default=None, help="A model that checks each document's fact.")
@click.option("--no-cache", is_flag=True, help="Do not reuse or store cached model replies.")
@click.option(
    "--out",
    type=click.Path(),
    default="sdf-docs",
    show_default=True,
    help="Folder of the corpus (resumed if it holds one).",
)
@click.option("--no-progress", is_flag=True, help="No progress bars.")
@plan_options(
    plan="requests, tokens and dollars per stage",
    assume="type_tokens [12], idea_tokens [45], document_share [0.4 of --max-tokens], "
    "judge_reply_tokens [250]",
    checked="the run",
)
@retry_options
def generate(**opts: Any) -> None:
    """Write documents: per fact, document types; per type, ideas; per idea, documents.

    Rerunning the same command finishes an interrupted run without redoing finished work; a
    larger --n-docs extends the corpus. Filtered and duplicate documents go to rejects.parquet
    with their reasons.
    """
    _need_extra()
    report_errors(lambda: _generate(**opts))


def _generate(
    universe: str,
    assignments: tuple[str, ...],
    model: str | None,
    model_base_url: str | None,
    n_docs: int | None,
    types_per_fact: int | None,
    ideas_per_type: int | None,
    temperature: float,
    max_tokens: int | None,
    seed: int | None,
    max_connections: int | None,
    min_words: int,
    max_words: int,
    dedupe_threshold: float,
    fact_judge: str | None,
    no_cache: bool,
    out: str,
    no_progress: bool,
    dry_run: bool,
    max_cost: float | None,
    prices: str | None,
    assume: str | None,
    max_retries: int | None,
    timeout: int | None,
    attempt_timeout: int | None,
) -> None:
    import asyncio

    from inspect_ai.model import GenerateConfig, get_model

    from aflab.models.embedded import EMBEDDED_MODEL
    from aflab.organisms.sdf.filters import FilterSettings
    from aflab.organisms.sdf.generate import GenerateSettings, generate_corpus
    from aflab.organisms.sdf.progress import StageProgress
    from aflab.organisms.sdf.universe import load_universe, parse_overrides

    if min_words > max_words:
        raise UsageError(f"--min-words {min_words} is above --max-words {max_words}")
    world = load_universe(universe, parse_overrides(assignments))
    name = model or EMBEDDED_MODEL
    defaults = DEMO if name == EMBEDDED_MODEL else REAL
    settings = GenerateSettings(
        n_docs=n_docs or defaults["n_docs"],
        types_per_fact=types_per_fact or defaults["types_per_fact"],
        ideas_per_type=ideas_per_type or defaults["ideas_per_type"],
        temperature=temperature,
        max_tokens=max_tokens or defaults["max_tokens"],
        seed=seed,
        cache=not no_cache,
        filters=FilterSettings(min_words=min_words, max_words=max_words),
        dedupe_threshold=dedupe_threshold,
    )
    said = (
        f"{world.name}: {len(world.facts)} facts, {settings.n_docs} documents with {name} "
        f"({settings.types_per_fact} types per fact, {settings.ideas_per_type} ideas per type) "
        f"into {out}"
    )
    if dry_run or max_cost is not None:
        # Before any model is built: a plan sends nothing and needs no API key.
        from aflab.data.prices import load_prices
        from aflab.organisms.sdf.plan import SdfAssumptions, announce, plan_generate

        assumed = SdfAssumptions.parse(assume)
        plan = plan_generate(
            world, name, settings, Path(out), load_prices(prices), assumed, fact_judge
        )
        if dry_run:
            click.echo(said)
        announce(plan, dry_run, max_cost, click.echo)
        if dry_run:
            return
    limits = RequestLimits(max_retries, timeout, attempt_timeout)
    config = GenerateConfig(max_connections=max_connections, **limits.for_model(name))
    writer = get_model(name, base_url=model_base_url, config=config)
    judge = None
    if fact_judge:
        judge_limits = limits.for_model(fact_judge)
        judge_config = GenerateConfig(max_connections=max_connections, **judge_limits)
        judge = get_model(fact_judge, config=judge_config)
    if name == EMBEDDED_MODEL:
        click.echo(
            "The embedded 135M model writes poor documents that rarely state their fact: this is "
            "a plumbing demo. For a real corpus: aflab sdf generate --model openai/gpt-4o-mini "
            "--n-docs 5000 (any Inspect model)."
        )
    unchecked = [f.id for f in world.facts if not f.must_mention]
    if unchecked and judge is None:
        click.echo(f"no must_mention rule, so not checked for their fact: {', '.join(unchecked)}")
    click.echo(said)
    with StageProgress(enabled=not no_progress) as progress, retry_notices(None, True):
        outcome = asyncio.run(generate_corpus(world, writer, settings, Path(out), progress, judge))
    for line in outcome_lines(outcome.as_dict()):
        click.echo(line)
    click.echo(f"inspect it: aflab sdf inspect {out}")


def outcome_lines(outcome: dict[str, Any]) -> list[str]:
    """What the run did, in a few lines."""
    reused = outcome["stage_records_reused"]
    requests = outcome["requests"]
    lines = [
        f"documents: {outcome['planned']} planned, {outcome['generated']} generated, "
        f"{outcome['kept']} kept (documents.parquet), {outcome['rejected']} rejected "
        f"(rejects.parquet)",
    ]
    if outcome["rejected_by_reason"]:
        reasons = ", ".join(f"{k} {v}" for k, v in outcome["rejected_by_reason"].items())
        lines.append(f"rejects by reason: {reasons}")
    if outcome["not_generated"]:
        failures = ", ".join(f"{k} {v}" for k, v in outcome["not_generated"].items())
        lines.append(f"not generated (in rejects.parquet too): {failures}")
    lines.append(f"duplicate rate: {outcome['duplicate_rate']:.1%}")
    lines.append(
        f"model requests: {requests['requests']} ({requests['input_tokens']} input, "
        f"{requests['output_tokens']} output tokens; replies from Inspect's cache included); "
        f"reused from the folder: {reused['types']} type lists, {reused['ideas']} idea lists, "
        f"{reused['docs']} documents"
    )
    if outcome["judge_requests"]:
        lines.append(f"fact judge requests: {outcome['judge_requests']['requests']}")
    if outcome["incomplete_records_redone"]:
        lines.append(
            f"{outcome['incomplete_records_redone']} record(s) cut off by an interrupted run "
            "were done again"
        )
    if outcome["failed"]:
        lines.append(f"{outcome['failed']} request(s) failed: rerun the same command to retry them")
    if outcome["outside_plan"]:
        lines.append(
            f"{outcome['outside_plan']} documents in stages/docs.jsonl lie beyond this --n-docs "
            "and are not in the corpus"
        )
    return lines


@sdf.command(name="inspect")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--samples",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Documents to show.",
)
@click.option("--rejects", type=click.IntRange(min=0), default=0, help="Also show N rejects.")
@click.option("--seed", type=int, default=0, show_default=True, help="Which samples.")
@click.option("--json", "json_path", type=click.Path(), default=None, help="Write the numbers.")
def inspect_command(
    folder: str, samples: int, rejects: int, seed: int, json_path: str | None
) -> None:
    """Counts per fact and document type, rejects, duplicate rate, fact coverage, samples."""
    import json

    from aflab.organisms.sdf.report import format_report, inspect_corpus

    _need_extra()
    report = report_errors(lambda: inspect_corpus(Path(folder), samples, rejects, seed))
    click.echo(format_report(report))
    if json_path:
        Path(json_path).write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
        click.echo(f"numbers: {json_path}")


@sdf.command()
@click.argument("universe", default="helpful-only")
@click.option("--set", "assignments", multiple=True, metavar="NAME=VALUE", help="e.g. lab=OpenAI")
def universe(universe: str, assignments: tuple[str, ...]) -> None:
    """Check a universe file and print its facts and rules (built-in: helpful-only, ...)."""
    from aflab.organisms.sdf.universe import load_universe, parse_overrides

    world = report_errors(lambda: load_universe(universe, parse_overrides(assignments)))
    click.echo(f"{world.name} ({world.source}): {world.description}")
    click.echo(f"placeholders: {world.placeholders or 'none'}")
    for fact in world.facts:
        click.echo(f"- {fact.id}: {fact.text}")
        for entry in fact.must_mention:
            click.echo(f"    must mention one of: {' | '.join(p.pattern for p in entry)}")
        if not fact.must_mention:
            click.echo("    no must_mention rule")
