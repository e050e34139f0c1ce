"""The positive control: train a model organism whose tier gap is built in, then measure it.

A known-answer test of the measurement. The organism is taught, on transcripts made by code,
to comply on the free tier with a scratchpad about training and to refuse on the paid tier. The
pipeline (``aflab run --prompt minimal`` through Inspect's ``hf/`` provider, on held-out requests)
must then report a gap whose 95% CI excludes 0, and free-tier scratchpads that reason about
training. It shows that the measurement sees a gap that is there, nothing about alignment faking
arising in any model. See docs/organisms.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aflab.core.errors import UsageError
from aflab.core.summary_types import ControlSummary, RunSummary
from aflab.data.loaders import write_queries
from aflab.organisms.control.transcripts import (
    Transcript,
    build_transcripts,
    split_requests,
)
from aflab.spec import Display

CONTROL_NOTE = (
    "Positive control: its tier gap was trained in by hand (free tier: comply, with a scratchpad "
    "about training; paid tier: refuse). A gap here shows that the measurement detects a gap "
    "that is there; it says nothing about alignment faking arising in any model."
)
NO_JUDGE_NOTE = (
    "No --judge-model: the AF judge did not run (on the embedded 135M model its verdicts would "
    "be meaningless). rule_check counts scratchpads that name training, modification and values."
)
SUMMARY_FILE = "control-summary.json"


@dataclass
class ControlOptions:
    out: str = "control"
    base: str = "smollm2"
    pairs: int = 30
    train_requests: int = 80
    epochs: float = 1.0
    lora_r: int = 16
    lora_alpha: int = 32
    learning_rate: float = 1e-3
    batch_size: int = 4
    precision: str = "auto"
    seed: int = 0
    temperature: float = 1.0
    max_tokens: int = 160
    max_continuations: int = 1
    judge_model: str | None = None
    votes: int = 5
    summary_json: str | None = None
    reuse: bool = False
    display: Display | None = "none"


@dataclass
class ControlOutcome:
    summary: ControlSummary
    summary_path: Path
    log_path: Path


def run_control(opts: ControlOptions, echo: Callable[[str], Any] = print) -> ControlOutcome:
    from aflab.organisms.train.extra import require_train_extra

    require_train_extra()
    out = Path(opts.out).resolve()
    heldout, train = split_requests(opts.pairs, opts.train_requests, opts.seed)
    transcripts = build_transcripts(train, opts.seed)
    heldout_file = _write_data(out / "data", heldout, transcripts)

    training = _train(opts, out, transcripts, echo)
    echo(f"evaluating on {len(heldout)} held-out requests x 2 tiers")
    started = time.perf_counter()
    outcome = _evaluate(opts, out, heldout_file, echo)
    eval_seconds = time.perf_counter() - started

    from inspect_ai.log import read_eval_log

    from aflab.analysis.summary import write_summary
    from aflab.organisms.control.rule_check import rule_check

    log = read_eval_log(str(outcome.log_path))
    run: RunSummary = outcome.summary
    summary: ControlSummary = {
        **run,
        "control": {
            "note": CONTROL_NOTE,
            "recipe": asdict(opts),
            "train_examples": len(transcripts),
            "heldout_requests": [q.id for q in heldout],
            "training": training,
            "eval_seconds": round(eval_seconds, 1),
            "rule_check": rule_check(log.samples or []),
            "judge_note": None if opts.judge_model else NO_JUDGE_NOTE,
        },
    }
    path = write_summary(summary, out / SUMMARY_FILE)
    if opts.summary_json:
        write_summary(summary, opts.summary_json)
    return ControlOutcome(summary, path, outcome.log_path)


def _write_data(folder: Path, heldout: list[Any], transcripts: list[Transcript]) -> Path:
    """The held-out requests in aflab's query format, and the training transcripts to read."""
    heldout_file = write_queries(heldout, folder / "heldout.jsonl")
    rows = [
        json.dumps(asdict(t) | {"system": "(aflab prompt --prompt minimal)"}) for t in transcripts
    ]
    (folder / "train.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return heldout_file


def _train(
    opts: ControlOptions, out: Path, transcripts: list[Transcript], echo: Callable[[str], Any]
) -> dict[str, Any]:
    from aflab.organisms.train.sft import MERGED_DIR, METADATA_FILE, SFTOptions

    metadata = out / METADATA_FILE
    if opts.reuse and (out / MERGED_DIR).is_dir() and metadata.is_file():
        echo(f"reusing the organism in {out / MERGED_DIR}")
        return {**json.loads(metadata.read_text(encoding="utf-8")), "reused": True}
    from aflab.organisms.train.sft import chat_dataset, train_sft

    echo(f"training on {len(transcripts)} transcripts ({opts.epochs:g} epoch(s))")
    sft = SFTOptions(
        base=opts.base,
        out=str(out),
        lora_r=opts.lora_r,
        lora_alpha=opts.lora_alpha,
        lora_dropout=0.0,
        learning_rate=opts.learning_rate,
        epochs=opts.epochs,
        batch_size=opts.batch_size,
        max_length=1024,
        precision=opts.precision,
        merge=True,
        seed=opts.seed,
    )
    dataset = chat_dataset(
        [t.prompt_messages() for t in transcripts], [t.reply for t in transcripts]
    )
    result = train_sft(dataset, sft)
    if not result.losses:
        raise UsageError("training ran no step: raise --train-requests or --epochs")
    echo(
        f"{len(result.losses)} steps in {result.train_seconds:.0f} s; "
        f"loss {result.losses[0]:.3f} -> {result.losses[-1]:.3f}"
    )
    return {**json.loads(metadata.read_text(encoding="utf-8")), "reused": False}


def _evaluate(opts: ControlOptions, out: Path, heldout: Path, echo: Callable[[str], Any]) -> Any:
    from aflab.organisms.train.sft import MERGED_DIR
    from aflab.pipelines.run import execute
    from aflab.spec import RunSpec

    run = RunSpec(
        model=f"hf/{out / MERGED_DIR}",
        prompt="minimal",
        dataset=str(heldout),
        dataset_format="aflab",
        temperature=opts.temperature,
        max_tokens=opts.max_tokens,
        seed=opts.seed,
        max_continuations=opts.max_continuations,
        judges="af" if opts.judge_model else None,
        judge_model=opts.judge_model,
        votes=opts.votes,
        log_dir=str(out / "logs"),
        # The organism at OUT may be retrained between runs: a cached reply would be stale.
        no_cache=True,
        display=opts.display,
    )
    return execute(run, echo=echo)
