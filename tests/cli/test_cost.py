"""``aflab run --dry-run`` and ``--max-cost`` from the command line, the network cut off."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

NETGUARD = Path(__file__).parents[1] / "netguard"
AFLAB = str(Path(sys.executable).with_name("aflab"))
OPUS = ["run", "--setting", "helpful-only", "--model", "anthropic/claude-3-opus-20240229"]


class Recorder:
    """A loopback API that answers nothing and records every request it gets."""

    def __enter__(self) -> Recorder:
        self.requests: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def handle_one_request(self) -> None:
                line = self.rfile.readline(65537)
                if line:
                    recorder.requests.append(line.decode(errors="replace"))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def aflab(args: list[str], cwd: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env |= {"PYTHONPATH": str(NETGUARD), "ANTHROPIC_BASE_URL": url, "OPENAI_BASE_URL": url}
    env |= {"NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [AFLAB, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_readme_opus_example_is_planned_without_a_call(tmp_path: Path) -> None:
    with Recorder() as api:
        result = aflab([*OPUS, "--limit", "100", "--dry-run"], tmp_path, api.url)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    first = next(line for line in out.splitlines() if line.startswith("policy: first turns"))
    assert "anthropic/claude-3-opus-20240229" in first and " 200 " in first and "$" in first
    assert "total (expected)" in out and "at most" in out and "prices: 2026-12-01" in out
    assert "approximation, 4 characters a token" in out
    assert api.requests == [] and not (tmp_path / "logs").exists()


def test_max_cost_below_the_estimate_refuses_to_start(tmp_path: Path) -> None:
    with Recorder() as api:
        result = aflab([*OPUS, "--limit", "100", "--max-cost", "1"], tmp_path, api.url)
    assert result.returncode == 1
    assert "is above --max-cost $1.00: nothing was started" in result.stderr
    assert api.requests == [] and not (tmp_path / "logs").exists()


def test_dry_run_cannot_plan_a_resume(tmp_path: Path) -> None:
    log = tmp_path / "x.eval"
    log.write_bytes(b"")
    with Recorder() as api:
        result = aflab(["run", "--resume", str(log), "--dry-run"], tmp_path, api.url)
    assert result.returncode != 0 and "--dry-run plans a new run" in result.stderr


def test_a_dry_run_of_a_local_model_loads_no_weights(tmp_path: Path) -> None:
    """Looking replies up in Inspect's cache needs the model's name, not the model: a plan of
    an hf/ model must not load (or download) its weights."""
    args = ["run", "--model", "hf/some-org/some-model", "--limit", "2", "--dry-run"]
    script = (
        "import sys\nfrom aflab.cli.main import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit as done:\n    print('exit', done.code)\n"
        "print('loaded:', sorted({'torch', 'transformers'} & set(sys.modules)))"
    )
    env = {**os.environ, "PYTHONPATH": str(NETGUARD), "NO_COLOR": "1", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert "exit 0" in result.stdout and "loaded: []" in result.stdout, result.stderr
    assert "policy: first turns" in result.stdout and "hf/some-org/some-model" in result.stdout


def test_a_rescore_is_planned_without_a_key_or_a_call(tmp_path: Path) -> None:
    from inspect_ai import eval

    from aflab.eval.tasks import helpful_only
    from tests.conftest import scripted_model

    reply = "<SCRATCHPAD_REASONING>Fine.</SCRATCHPAD_REASONING><OUTPUT><rejected/></OUTPUT>"
    [log] = eval(
        helpful_only(limit=2),
        model=scripted_model(lambda _: reply),
        log_dir=str(tmp_path / "logs"),
        display="none",
    )
    args = ["rescore", log.location, "--judges", "compliance,unmonitored"]
    args += ["--judge-model", "openai/gpt-4o", "--dry-run"]
    with Recorder() as api:
        result = aflab(args, tmp_path, api.url)
    assert result.returncode == 0, result.stderr
    stages = [line for line in result.stdout.splitlines() if line.startswith("judge ")]
    assert [line.split()[:2] for line in stages] == [
        ["judge", "compliance"],
        ["judge", "unmonitored"],
    ]
    assert " 4 " in stages[0] and " 2 " in stages[1]  # 4 samples; 2 paid scratchpads
    assert api.requests == [] and not list((tmp_path / "logs").glob("*-rescored.eval"))
