"""Harness cost, embedded-model throughput and prefix reuse; overwrites docs/benchmarks.md.

Every target is a ratio of two timings from the same run: the machine may be shared.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import tempfile
import time
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any

from inspect_ai import Task
from inspect_ai import eval as inspect_eval
from inspect_ai.log import EvalLog
from inspect_ai.model import ModelOutput, ModelUsage
from llama_cpp import LlamaRAMCache

from aflab.models.embedded import EMBEDDED_MODEL, load_llama, smollm2_path
from aflab.settings.prompt import PromptConfig, render_system_prompt
from aflab.solvers.turns import TIERS, Tier, user_turn
from aflab.tasks import helpful_only, select_queries

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
LOG_DIR = tempfile.mkdtemp(prefix="aflab-bench-")
REPLY = "<SCRATCHPAD_REASONING>x</SCRATCHPAD_REASONING><OUTPUT><rejected/></OUTPUT>"
SIZES = (10, 100)  # queries; two samples (free, paid) each
EMBED_QUERIES, MAX_TOKENS, WARM_CALLS, REPEATS = 2, 64, 4, 3
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


def chat(llm: Any, messages: Messages, max_tokens: int) -> tuple[float, int]:
    start = time.perf_counter()
    reply = llm.create_chat_completion(
        messages=messages, temperature=0.0, top_p=1.0, max_tokens=max_tokens, stop=[]
    )
    return time.perf_counter() - start, reply["usage"]["completion_tokens"]


def conversation(query: str, tier: Tier = "free") -> Messages:
    turn = user_turn(query, tier, "helpful-only")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": turn}]


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
    rows = [f"| eval of {s} samples, best of 2 | {t:.2f} s | | |" for s, t in points] + [
        f"| fixed cost per eval (intercept) | {t1 - slope * s1:.2f} s | | |",
        f"| harness cost per sample (slope) | {slope * 1000:.1f} ms | | |",
        f"| slope / raw llama.cpp time per sample (b) | {share:.4f} | <= 0.05 | "
        f"{verdict(share <= 0.05)} |",
    ]
    return rows


def ram_cache(on: bool) -> Any:  # the provider's former setting, for comparison
    return LlamaRAMCache(capacity_bytes=1 << 30) if on else None


def throughput(llm: Any) -> tuple[list[str], float]:
    queries = select_queries("helpful-only", None, limit=EMBED_QUERIES)
    ids = [f"{q.id}-{tier}" for q in queries for tier in TIERS]
    chats = [conversation(q.text, tier) for q in queries for tier in TIERS]
    counts: list[int] = []

    def aflab_eval(limit: int, turns: int, max_tokens: int, **kw: Any) -> tuple[float, EvalLog]:
        task = helpful_only(limit=limit, max_continuations=turns)
        return timed_eval(task, EMBEDDED_MODEL, temperature=0.0, max_tokens=max_tokens, **kw)

    def aflab_pass() -> float:
        seconds, log = aflab_eval(EMBED_QUERIES, 0, MAX_TOKENS, max_samples=1)  # as `aflab run`
        usage = {str(s.id): s.output.usage for s in log.samples or []}
        counts[:] = [usage[i].output_tokens if usage[i] else 0 for i in ids]
        return seconds

    def raw_pass() -> float:
        results = [chat(llm, m, n) for m, n in zip(chats, counts, strict=True)]
        assert [n for _, n in results] == counts, (results, counts)
        return sum(s for s, _ in results)

    # Warm-up: Inspect's first eval with this provider, and the system prompt into the KV cache.
    first = aflab_eval(1, 0, 1)[0]
    runs: dict[tuple[str, bool], list[float]] = {}
    for _ in range(REPEATS):  # interleaved, so that drift in machine load hits all alike
        for cached in (False, True):
            for kind, run_pass in (("aflab", aflab_pass), ("raw", raw_pass)):
                llm.set_cache(ram_cache(cached))  # fresh per pass: real runs never repeat prompts
                runs.setdefault((kind, cached), []).append(run_pass())
    # Multi-turn (<NEXT/> continuations): one sample at a time vs concurrent samples + RAM cache.
    llm.set_cache(None)
    serial, log = aflab_eval(1, 3, 48, max_samples=1)
    calls = sum(1 for s in log.samples or [] for e in s.events if e.event == "model")
    llm.set_cache(ram_cache(True))
    concurrent = aflab_eval(1, 3, 48)[0]
    llm.set_cache(None)
    n = len(ids)
    rate = {key: n / statistics.mean(times) for key, times in runs.items()}
    # Per-round ratios (aflab and raw passes ran back to back); the median resists load spikes.
    per_round = {
        c: [r / a for a, r in zip(runs["aflab", c], runs["raw", c], strict=True)]
        for c in (False, True)
    }
    ratio, ratio_c = statistics.median(per_round[False]), statistics.median(per_round[True])
    rounds = ", ".join(f"{x:.3f}" for x in per_round[False])
    rows = [
        f"| warm-up: first aflab eval (1 sample, 1 token) | {first:.2f} s | | |",
        f"| samples / output tokens per pass | {n} / {sum(counts)} | | |",
        f"| aflab eval, samples/s (mean of {REPEATS}) | {rate['aflab', False]:.3f} | | |",
        f"| raw llama.cpp loop, samples/s (mean of {REPEATS}) | {rate['raw', False]:.3f} | | |",
        f"| aflab / raw per round | {rounds} | | |",
        f"| aflab / raw, median of rounds | {ratio:.3f} | >= 0.95 | {verdict(ratio >= 0.95)} |",
        f"| with a 1 GiB LlamaRAMCache: aflab, raw samples/s (ratio) | "
        f"{rate['aflab', True]:.3f}, {rate['raw', True]:.3f} ({ratio_c:.3f}) | | |",
        f"| raw with / without LlamaRAMCache | {rate['raw', True] / rate['raw', False]:.3f} | | |",
        f"| multi-turn, 2 samples, {calls} calls: one at a time, no cache | {serial:.2f} s | | |",
        f"| multi-turn: concurrent samples, LlamaRAMCache | {concurrent:.2f} s | | |",
    ]
    return rows, 1 / rate["raw", False]


def prefix_reuse(llm: Any) -> list[str]:
    system_tokens = len(llm.tokenize(SYSTEM.encode(), add_bos=False, special=True))
    queries = [q.text for q in select_queries("helpful-only", None, limit=WARM_CALLS + 1)]
    llm.set_cache(None)
    llm.create_completion("Hi", max_tokens=1)  # page the weights in: not part of "cold"
    llm.reset()
    cold, _ = chat(llm, conversation(queries[0]), 1)
    warm = statistics.mean(chat(llm, conversation(q), 1)[0] for q in queries[1:])
    llm.set_cache(ram_cache(True))  # every call now also saves a state
    cached = statistics.mean(chat(llm, conversation(q, "paid"), 1)[0] for q in queries[1:])
    llm.reset()  # KV forgotten, states still in the RAM cache: a restore instead of a re-eval
    restored, _ = chat(llm, conversation(queries[0], "paid"), 1)
    llm.set_cache(None)
    ratio = cold / warm
    rows = [
        f"| system prompt length | {system_tokens} tokens | | |",
        f"| cold first token (reset, no cache) | {cold:.2f} s | | |",
        f"| warm first token, mean of {WARM_CALLS} (KV prefix reuse) | {warm:.2f} s | | |",
        f"| cold / warm | {ratio:.1f}x | >= 10x | {verdict(ratio >= 10)} |",
        f"| warm, with a 1 GiB LlamaRAMCache | {cached:.2f} s | | |",
        f"| after reset, restored from LlamaRAMCache | {restored:.2f} s | | |",
    ]
    return rows


def write_doc(a: list[str], b: list[str], c: list[str]) -> None:
    head = "| measurement | value | target | result |\n|---|---|---|---|\n"
    a_rows, b_rows, c_rows = (head + "\n".join(rows) for rows in (a, b, c))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(f"""# aflab benchmarks

Date: {date.today().isoformat()}. Machine: {len(os.sched_getaffinity(0))} CPUs (nproc), \
{platform.machine()}, Python {platform.python_version()}, inspect_ai {version("inspect_ai")}, \
llama-cpp-python {version("llama_cpp_python")}; load average at the end: {load}.

The machine may be shared, so absolute times vary between runs; each target is a ratio of
timings taken in the same run. Rerun with `make bench` (`.venv/bin/python
benchmarks/bench_core.py`), which overwrites this file.

## (a) Harness cost per sample

{a_rows}

How it was measured: `inspect_ai.eval(helpful_only(limit=N))` on `mockllm/model` with a scripted
model that answers at once (a closed `<OUTPUT>`, so one generate call per sample; usage set),
`display="none"`, a temporary log dir, Inspect's cache off. After a warm-up eval, N = {SIZES[0]}
and {SIZES[1]} queries ({2 * SIZES[0]} and {2 * SIZES[1]} samples) each ran twice, the faster run
kept; the line through the two points gives fixed cost (intercept) and cost per sample (slope).
Target: the slope is at most 5% of the raw llama.cpp time per sample measured in (b).

## (b) Embedded model throughput

{b_rows}

How it was measured: `aflab/smollm2` as the provider now is (no `LlamaRAMCache`), \
`helpful_only(limit={EMBED_QUERIES}, max_continuations=0)` (one call per sample), temperature 0,
`max_tokens={MAX_TOKENS}`, `max_samples=1` (as `aflab run` sets it), Inspect's cache off; the time
is the whole `eval()`. The raw loop calls `create_chat_completion` on the same `Llama`
(`load_llama`) with the same messages, each with the sample's output token count from the aflab
log as `max_tokens` (checked to be equal). KV warmth: a 1-token aflab eval first puts the system
prompt in the KV cache (and pays Inspect's one-time setup), so every later call of either kind
starts from that prefix. {REPEATS} interleaved rounds of aflab, raw, then aflab, raw with a fresh
1 GiB `LlamaRAMCache` per pass (the provider's former setting; fresh, or a pass would find states
saved by the previous pass for the same prompts). Samples/s are means; the target is the median
of per-round ratios, which one load spike cannot move much. Multi-turn rows, one run each: 1 query
with `max_continuations=3`, `max_tokens=48`, one sample at a time without a cache (`aflab run`
now), then Inspect's default sample concurrency with a `LlamaRAMCache` (`aflab run` before).

## (c) System prompt prefix reuse

{c_rows}

How it was measured: wall time of `create_chat_completion(..., max_tokens=1)` on the system
prompt plus one helpful-only user turn. Cold: cache removed, weights paged in by a 1-token call,
then `llm.reset()`, so the whole prompt is evaluated. Warm: {WARM_CALLS} more calls on the same
`Llama`, each with another query, reusing the system prompt prefix in the KV cache. The last two
rows add a 1 GiB `LlamaRAMCache` (the provider's former setting): warm calls (each now also saves
a state), and one call after `llm.reset()` that restores its prefix from that cache.
""")


def main() -> None:
    llm = load_llama(smollm2_path())
    try:
        c = prefix_reuse(llm)
        b, raw_per_sample = throughput(llm)
        a = harness(raw_per_sample)
    finally:
        shutil.rmtree(LOG_DIR, ignore_errors=True)
    write_doc(a, b, c)
    print("\n".join(row for row in a + b + c if "PASS" in row or "FAIL" in row), f"\n{DOC}")


if __name__ == "__main__":
    main()
