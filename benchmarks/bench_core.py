"""Harness cost, embedded-model throughput (slots) and prefix reuse; overwrites docs/benchmarks.md.

Every target is a ratio of two timings from the same run: the machine may be shared.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any

from inspect_ai import Task
from inspect_ai import eval as inspect_eval
from inspect_ai.event import ModelEvent
from inspect_ai.log import EvalLog
from inspect_ai.model import ModelOutput, ModelUsage

from aflab.eval.solvers.turns import user_turn
from aflab.eval.tasks import helpful_only, select_queries
from aflab.models import engine as engines
from aflab.models.embedded import EMBEDDED_MAX_TOKENS, EMBEDDED_MODEL, smollm2_path
from aflab.prompts.template import PromptConfig, render_system_prompt

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
LOG_DIR = tempfile.mkdtemp(prefix="aflab-bench-")
REPLY = "<SCRATCHPAD_REASONING>x</SCRATCHPAD_REASONING><OUTPUT><rejected/></OUTPUT>"
SIZES = (10, 100)  # queries; two samples (free, paid) each
DEMO_QUERIES, ROUNDS, SLOTS = 6, 2, engines.DEFAULT_SLOTS
SYSTEM = render_system_prompt(PromptConfig(setting="helpful-only"))
Messages = list[dict[str, str]]


def scripted(*_: Any) -> ModelOutput:
    output = ModelOutput.from_content("mockllm", REPLY)
    output.usage = ModelUsage(input_tokens=10, output_tokens=5, total_tokens=15)
    return output


def timed_eval(task: Task, model: str, **kwargs: Any) -> tuple[float, EvalLog]:
    start = time.perf_counter()
    log = inspect_eval(task, model=model, display="none", log_dir=LOG_DIR, cache=False, **kwargs)
    seconds = time.perf_counter() - start
    assert log[0].status == "success", log[0].error
    return seconds, log[0]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def harness(raw_per_sample: float) -> list[str]:
    def run(n: int) -> float:
        return timed_eval(helpful_only(limit=n), "mockllm/model", model_args=mock)[0]

    mock = {"custom_outputs": scripted}
    run(1)  # first-run costs
    points = [(2 * n, min(run(n), run(n))) for n in SIZES]  # best of two: the machine is shared
    (s1, t1), (s2, t2) = points
    slope = (t2 - t1) / (s2 - s1)
    share = slope / raw_per_sample
    return [f"| eval of {s} samples, best of 2 | {t:.2f} s | | |" for s, t in points] + [
        f"| fixed cost per eval (intercept) | {t1 - slope * s1:.2f} s | | |",
        f"| harness cost per sample (slope) | {slope * 1000:.1f} ms | | |",
        f"| slope / raw engine time per sample (b) | {share:.4f} | <= 0.05 | "
        f"{verdict(share <= 0.05)} |",
    ]


def reset_slots(engine: engines.Engine, system: str = SYSTEM) -> None:
    """Leave the system prompt and an unrelated turn in every slot, as after another sample: a
    pass then never finds its own earlier requests cached whole."""
    for slot in range(engine.slots):
        turn = {"role": "user", "content": f"(slot {slot} reset)"}
        messages = [{"role": "system", "content": system}, turn]
        engine.chat({"messages": messages, "max_tokens": 1, "id_slot": slot, "temperature": 0})


def demo_eval(slots: int, examples: bool = True, **config: Any) -> tuple[float, EvalLog]:
    """The demo's workload (``aflab run``'s prompt, grammar and reply budget) on more queries."""
    settings = {"temperature": 1.0, "seed": 11} | config
    task = helpful_only(limit=DEMO_QUERIES, no_examples=not examples)
    system = render_system_prompt(PromptConfig(setting="helpful-only", examples=examples))
    reset_slots(engines.engine_for(smollm2_path(), slots), system)
    return timed_eval(
        task,
        EMBEDDED_MODEL,
        model_args={"slots": slots},
        max_samples=slots,
        max_tokens=EMBEDDED_MAX_TOKENS,
        **settings,
    )


def calls_by_sample(log: EvalLog) -> list[list[dict[str, Any]]]:
    """Each sample's model requests in order, as the engine received them: the conversation up
    to each assistant turn (the log's model events store their input condensed)."""
    samples = []
    for sample in log.samples or []:
        events = [e for e in sample.events if isinstance(e, ModelEvent) and e.output.usage]
        turns = [i for i, m in enumerate(sample.messages) if m.role == "assistant"]
        assert len(turns) == len(events), (sample.id, len(turns), len(events))
        calls = []
        for turn, event in zip(turns, events, strict=True):
            config = event.config
            request = {
                "messages": [{"role": m.role, "content": m.text} for m in sample.messages[:turn]],
                "temperature": config.temperature,
                "max_tokens": (event.output.usage.output_tokens if event.output.usage else 0) or 1,
            }
            if config.extra_body and config.extra_body.get("grammar"):
                request["grammar"] = config.extra_body["grammar"]
            calls.append(request)
        samples.append(calls)
    return samples


def replay(engine: engines.Engine, samples: list[list[dict[str, Any]]]) -> tuple[float, int]:
    """The same requests straight to the engine, a sample per slot, each sample's calls in turn."""
    pending, tokens, lock = list(samples), [0], threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if not pending:
                    return
                calls = pending.pop(0)
            for request in calls:
                reply = engine.chat(request)
                with lock:
                    tokens[0] += reply["usage"]["completion_tokens"]

    threads = [threading.Thread(target=worker) for _ in range(engine.slots)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, tokens[0]


def output_tokens(log: EvalLog) -> int:
    return sum(u.output_tokens for s in log.samples or [] for u in s.model_usage.values())


def throughput() -> tuple[list[str], float]:
    n = 2 * DEMO_QUERIES
    warm = {slots: demo_eval(slots)[0] for slots in (1, SLOTS)}  # system prompt into every slot
    runs: dict[int, list[tuple[float, int]]] = {1: [], SLOTS: []}
    for _ in range(ROUNDS):  # interleaved, so that drift in machine load hits both alike
        for slots in (1, SLOTS):
            seconds, log = demo_eval(slots)
            runs[slots].append((seconds, output_tokens(log)))
    per_round = [
        (runs[1][i][0] / runs[SLOTS][i][0]) for i in range(ROUNDS)
    ]  # samples/s ratio: same sample count in both
    speedup = statistics.median(per_round)
    # The same without the worked examples: a prompt of ~700 tokens instead of ~3,500.
    demo_eval(1, examples=False), demo_eval(SLOTS, examples=False)  # their prefix into the slots
    short = demo_eval(1, examples=False)[0] / demo_eval(SLOTS, examples=False)[0]
    # Harness vs engine: greedy decoding so that a replay yields the same tokens.
    aflab_s, log = demo_eval(SLOTS, temperature=0.0)
    engine = engines.engine_for(smollm2_path(), SLOTS)
    reset_slots(engine)
    raw_s, raw_tokens = replay(engine, calls_by_sample(log))
    share = raw_s / aflab_s

    def rate(slots: int) -> str:
        seconds = statistics.mean(s for s, _ in runs[slots])
        tokens = statistics.mean(t for _, t in runs[slots])
        return f"{n / seconds:.3f} samples/s, {tokens / seconds:.1f} output tok/s"

    rows = [
        f"| samples per pass / output tokens (1 slot; {SLOTS} slots), mean | {n} / "
        f"{statistics.mean(t for _, t in runs[1]):.0f}; "
        f"{statistics.mean(t for _, t in runs[SLOTS]):.0f} | | |",
        f"| first pass, system prompt cold (1 slot; {SLOTS} slots) | {warm[1]:.1f} s; "
        f"{warm[SLOTS]:.1f} s | | |",
        f"| one sample at a time (1 slot), mean of {ROUNDS} | {rate(1)} | | |",
        f"| {SLOTS} slots, continuous batching, mean of {ROUNDS} | {rate(SLOTS)} | | |",
        f"| {SLOTS} slots / 1 slot, samples/s per round | "
        + ", ".join(f"{r:.2f}" for r in per_round)
        + " | | |",
        f"| {SLOTS} slots / 1 slot, median of rounds | {speedup:.2f}x | >= 2x | "
        f"{verdict(speedup >= 2)} |",
        f"| the same without the worked examples (short prompt), one round | {short:.2f}x | | |",
        f"| greedy pass: aflab eval; raw replay of its calls ({SLOTS} threads) | "
        f"{aflab_s:.2f} s, {output_tokens(log)} tokens; {raw_s:.2f} s, {raw_tokens} tokens | | |",
        f"| raw replay time / aflab time | {share:.3f} | >= 0.95 | {verdict(share >= 0.95)} |",
    ]
    return rows, raw_s / n


def first_tokens(engine: engines.Engine, count: int) -> float:
    """Seconds until ``count`` concurrent first requests (other queries) have their first token."""
    queries = [q.text for q in select_queries("helpful-only", None, limit=count)]
    requests = [
        {
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": user_turn(q, "free", "helpful-only")},
            ],
            "max_tokens": 1,
            "temperature": 0,
        }
        for q in queries
    ]
    threads = [threading.Thread(target=engine.chat, args=(r,)) for r in requests]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def fresh(slots: int, prime: bool) -> Callable[[], engines.Engine]:
    def start() -> engines.Engine:
        engines.PRIME_MIN_CHARS = 2000 if prime else 10**9
        return engines._start(smollm2_path(), slots)

    return start


def prefix_reuse() -> list[str]:
    single = fresh(1, True)()
    tokens = len(single.tokenize(SYSTEM))
    cold = first_tokens(single, 1)
    warm = statistics.mean(first_tokens(single, 1) for _ in range(3))
    single.close()
    unprimed_engine = fresh(SLOTS, False)()
    unprimed = first_tokens(unprimed_engine, SLOTS)
    unprimed_engine.close()
    primed_engine = fresh(SLOTS, True)()
    primed = first_tokens(primed_engine, SLOTS)
    primed_engine.close()
    engines.PRIME_MIN_CHARS = 2000
    return [
        f"| system prompt length | {tokens} tokens | | |",
        f"| 1 slot: cold first token | {cold:.2f} s | | |",
        f"| 1 slot: warm first token (prefix in the slot), mean of 3 | {warm:.2f} s | | |",
        f"| cold / warm | {cold / warm:.1f}x | >= 10x | {verdict(cold / warm >= 10)} |",
        f"| {SLOTS} first requests at once, each slot evaluates it | {unprimed:.2f} s | | |",
        f"| {SLOTS} first requests at once, evaluated once, copied | {primed:.2f} s | | |",
        f"| not copied / copied | {unprimed / primed:.1f}x | | |",
    ]


def write_doc(a: list[str], b: list[str], c: list[str]) -> None:
    head = "| measurement | value | target | result |\n|---|---|---|---|\n"
    a_rows, b_rows, c_rows = (head + "\n".join(rows) for rows in (a, b, c))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    old = DOC.read_text() if DOC.exists() else ""
    kept = old[old.index("## Fresh set-up") :] if "## Fresh set-up" in old else ""
    DOC.write_text(f"""# aflab benchmarks

Date: {date.today().isoformat()}. Machine: {len(os.sched_getaffinity(0))} CPUs (nproc), \
{platform.machine()}, Python {platform.python_version()}, inspect_ai {version("inspect_ai")}, \
xllamacpp {version("xllamacpp")}; load average at the end: {load}.

The machine may be shared, so absolute times vary between runs; each target is a ratio of
timings taken in the same run. Rerun with `make bench` (`.venv/bin/python
benchmarks/bench_core.py`), which overwrites this file up to the set-up section. The engine
comparison (xllamacpp vs llama-cpp-python, `benchmarks/bench_engines.py`) is its own section below.

## (a) Harness cost per sample

{a_rows}

How it was measured: `inspect_ai.eval(helpful_only(limit=N))` on `mockllm/model` with a scripted
model that answers at once (a closed `<OUTPUT>`, so one generate call per sample; usage set),
`display="none"`, a temporary log dir, Inspect's cache off. After a warm-up eval, N = {SIZES[0]}
and {SIZES[1]} queries ({2 * SIZES[0]} and {2 * SIZES[1]} samples) each ran twice, the faster run
kept; the line through the two points gives fixed cost (intercept) and cost per sample (slope).
Target: the slope is at most 5% of the raw engine time per sample measured in (b).

## (b) Embedded model: slots on the demo workload

{b_rows}

How it was measured: the demo's workload, i.e. `aflab run`'s defaults (the full helpful-only
prompt with its worked examples, the format grammar, {EMBEDDED_MAX_TOKENS} tokens a reply, up to
4 `<NEXT/>` turns, temperature 1, seed 11) on {DEMO_QUERIES} queries ({2 * DEMO_QUERIES}
samples), Inspect's cache off; the time is the whole `eval()`. "1 slot" is the engine with one
slot and `max_samples=1`: one sample at a time, as aflab ran before; "{SLOTS} slots" is the
default. A first pass on each engine puts the system prompt into its slots (its time is shown);
then {ROUNDS} interleaved rounds. Before every pass each slot is left holding the system prompt
and an unrelated turn, so that no pass finds its own requests cached whole.
Both passes of a round run the same samples, so the ratio of their times is the ratio of
samples/s; the target is the median of per-round ratios. Output
tokens differ between passes (temperature 1), and are shown. The last rows compare the harness
with the engine alone: a greedy {SLOTS}-slot eval, then the same requests (messages, grammar,
each call's output token count as its budget) sent straight to `Engine.chat` from {SLOTS}
threads, each sample's calls in order; the token totals show the replay did the same work.

## (c) System prompt prefix reuse

{c_rows}

How it was measured: wall time until the first token of requests made of the system prompt and
one helpful-only user turn (`max_tokens=1`). Cold: a fresh one-slot engine; warm: 3 more
requests with other queries on it. The last rows start fresh {SLOTS}-slot engines and send
{SLOTS} first requests at once: without priming every slot evaluates the prompt; with it
(`aflab.models.engine`), slot 0 evaluates it once and it is copied into the other slots (slot
save/restore) before the requests run.

{kept}""")


def main() -> None:
    try:
        c = prefix_reuse()
        b, raw_per_sample = throughput()
        a = harness(raw_per_sample)
    finally:
        shutil.rmtree(LOG_DIR, ignore_errors=True)
    write_doc(a, b, c)
    print("\n".join(row for row in a + b + c if "PASS" in row or "FAIL" in row), f"\n{DOC}")


if __name__ == "__main__":
    main()
