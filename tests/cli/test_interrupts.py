"""Ctrl-C and SIGTERM on a real ``aflab`` process, then the printed resume command.

The policy is a loopback OpenAI-compatible fake that answers slowly (``openai-api/fake/...``
with ``--model-base-url``), so the signal lands while samples are still running. Every reply
closes the scratchpad loop: one request per sample.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from inspect_ai import eval as inspect_eval
from inspect_ai.log import read_eval_log

from aflab.cli import main
from aflab.eval.tasks import helpful_only
from tests.conftest import scripted_model
from tests.loopback import LoopbackAPI, chat_completion

NETGUARD = Path(__file__).parent / "netguard"
LIMIT, EPOCHS = 3, 2
SAMPLES = LIMIT * 2 * EPOCHS
# Generous for a busy 2-core machine: the process needs seconds just to import Inspect.
PROMPT_EXIT_S = 20


class SlowOpenAI(LoopbackAPI):
    """Chat completions after ``delay`` seconds; the reply is a refusal with its OUTPUT tags."""

    route = "/v1/chat/completions"
    delay = 0.4
    reply = "<OUTPUT><rejected/></OUTPUT>"

    def respond(self, body: dict[str, Any]) -> dict[str, Any]:
        time.sleep(self.delay)
        return chat_completion(body["model"], [self.reply], len(self.requests))


@pytest.fixture
def slow_api() -> Iterator[SlowOpenAI]:
    with SlowOpenAI() as api:
        yield api


def env() -> dict[str, str]:
    # INSPECT_CACHE_DIR comes from conftest: a fresh cache, so every sample asks the fake.
    return {
        **os.environ,
        "PYTHONPATH": str(NETGUARD),
        "FAKE_API_KEY": "test-key",
        "NO_COLOR": "1",
    }


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    # Through main() rather than the console script: the same code, wherever the venv is.
    command = [sys.executable, "-c", "from aflab.cli import main; main()", *args]
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=interruptible_child,
    )


def interruptible_child() -> None:
    """A shell without job control starts background jobs with SIGINT ignored, and an ignored
    signal stays ignored across exec (Python then installs no KeyboardInterrupt handler): a
    test run launched that way would never see its Ctrl-C arrive. The default lets it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def aflab(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    process = start(*args, cwd=cwd)
    output = finish(process, timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, output)


def finish(process: subprocess.Popen[str], timeout: float) -> str:
    try:
        return process.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        process.kill()  # a hung run must not outlive the test
        raise


def interrupt(process: subprocess.Popen[str], signum: int) -> str:
    """Send ``signum``; the output, once the process has ended promptly."""
    process.send_signal(signum)
    sent = time.monotonic()
    output = finish(process, 60)
    assert time.monotonic() - sent < PROMPT_EXIT_S
    return output


def wait_for_requests(api: LoopbackAPI, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 90
    while len(api.requests) < count:
        assert process.poll() is None, process.communicate()[0][-3000:]
        assert time.monotonic() < deadline, "the run never reached the fake API"
        time.sleep(0.05)


def line_after(prefix: str, output: str) -> str:
    found = re.search(rf"^{re.escape(prefix)}(.+)$", output, re.MULTILINE)
    assert found, output[-3000:]
    return found[1].strip()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_cancels_the_run_and_the_printed_command_completes_it(
    slow_api: SlowOpenAI, tmp_path: Path, signum: int, code: int
) -> None:
    run_args = [
        *("run", "--model", "openai-api/fake/policy", "--model-base-url", f"{slow_api.url}/v1"),
        *("--limit", str(LIMIT), "--epochs", str(EPOCHS), "--max-connections", "1"),
        # Without the cache, a finished sample run again would reach the fake again.
        *("--no-cache", "--display", "plain", "--log-dir", "logs"),
    ]
    process = start(*run_args, cwd=tmp_path)
    wait_for_requests(slow_api, 4, process)  # one request per sample, one at a time
    output = interrupt(process, signum)
    assert process.returncode == code, output[-3000:]

    name = signal.Signals(signum).name
    progress = line_after(f"interrupted ({name}): ", output)
    done = int(progress.split()[0])
    assert (
        progress == f"{done} of {SAMPLES} samples finished; the log, marked cancelled, keeps them"
    )
    assert 3 <= done < SAMPLES
    # The per-tier table of what finished.
    tiers = {row.split()[0]: row.split() for row in output.splitlines() if "(training)" in row}
    free_n = int(tiers["free"][2])
    assert 1 <= free_n <= done

    resume = line_after("resume with: ", output)
    cancelled = tmp_path / resume.removeprefix("aflab run --resume ")
    assert resume == f"aflab run --resume {cancelled.relative_to(tmp_path)}"
    log = read_eval_log(str(cancelled))
    assert log.status == "cancelled"
    finished = [s for s in log.samples or [] if s.error is None]
    assert len(finished) == done

    asked_before = len(slow_api.requests)
    resumed = aflab(*shlex.split(resume)[1:], "--display", "plain", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    # Only what had not finished was asked again.
    assert len(slow_api.requests) - asked_before == SAMPLES - done

    complete = read_eval_log(line_after("log: ", resumed.stdout).split()[0])
    assert complete.status == "success"
    keys = Counter(
        (s.metadata["query_id"], s.metadata["tier"], s.epoch) for s in complete.samples or []
    )
    assert len(keys) == SAMPLES and set(keys.values()) == {1}
    assert all(s.error is None for s in complete.samples or [])


def test_interrupted_calibration_says_how_to_finish(
    slow_api: SlowOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_BASE_URL", f"{slow_api.url}/v1")
    args = ["calibrate", "--judge-model", "openai-api/fake/judge", "--display", "plain"]
    process = start(*args, "--log-dir", "logs", cwd=tmp_path)
    wait_for_requests(slow_api, 3, process)
    output = interrupt(process, signal.SIGTERM)
    # It used to end in ValueError, minutes later.
    assert process.returncode == 143, output[-3000:]
    assert "Traceback" not in output
    assert re.search(r"^interrupted \(SIGTERM\): \d+ of 42 samples finished", output, re.M)
    assert line_after("resume with: ", output) == shlex.join(["aflab", *args, "--log-dir", "logs"])
    log = read_eval_log(str(tmp_path / line_after("log: ", output)), header_only=True)
    assert log.status == "cancelled"


def test_interrupted_rescore_writes_nothing(
    slow_api: SlowOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [log] = inspect_eval(
        helpful_only(limit=2),
        model=scripted_model(lambda m: "<OUTPUT><request_fully_accepted/>Sure.</OUTPUT>"),
        log_dir=str(tmp_path),
        display="none",
    )
    monkeypatch.setenv("FAKE_BASE_URL", f"{slow_api.url}/v1")
    before = snapshot(tmp_path)
    process = start("rescore", log.location, "--judge-model", "openai-api/fake/judge", cwd=tmp_path)
    wait_for_requests(slow_api, 2, process)
    output = interrupt(process, signal.SIGINT)
    assert process.returncode == 130, output[-3000:]
    assert re.search(r"^interrupted \(SIGINT\): nothing written\.", output, re.M)
    resume = line_after("resume with: ", output)
    assert shlex.split(resume)[:2] == ["aflab", "rescore"]
    assert snapshot(tmp_path) == before


def test_interrupted_sweep_resumes_with_the_same_command(
    slow_api: SlowOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_BASE_URL", f"{slow_api.url}/v1")
    args = [
        *("sweep", "--model", "openai-api/fake/policy", "--variations", "no-examples"),
        *("--limit", "4", "--display", "plain", "--log-dir", "sweep"),
    ]
    process = start(*args, cwd=tmp_path)
    wait_for_requests(slow_api, 4, process)
    output = interrupt(process, signal.SIGINT)
    assert process.returncode == 130, output[-3000:]
    progress = re.findall(r"^  (\S+) +(\d+) of 8 samples finished \(cancelled\)$", output, re.M)
    assert sorted(name for name, _ in progress) == ["default", "no-examples"]
    resume = line_after("resume with: ", output)
    assert resume == shlex.join(["aflab", *args])

    resumed = aflab(*args, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    assert "2 runs in sweep" in resumed.stdout
    logs = [read_eval_log(str(path)) for path in (tmp_path / "sweep").glob("*.eval")]
    assert sorted(log.status for log in logs) == ["success", "success"]
    for log in logs:
        ids = Counter(s.id for s in log.samples or [])
        assert len(ids) == 8 and set(ids.values()) == {1}


def test_a_dead_endpoint_fails_within_its_retries_and_says_where(tmp_path: Path) -> None:
    closed = closed_port()
    base_url = f"http://127.0.0.1:{closed}/v1"
    began = time.monotonic()
    result = aflab(
        *("run", "--model", "openai-api/fake/policy", "--model-base-url", base_url),
        *("--limit", "1", "--max-retries", "1", "--display", "plain", "--log-dir", "logs"),
        cwd=tmp_path,
    )
    # One retry after a backoff of 3-6 s; without a bound, Inspect retries for ever.
    assert time.monotonic() - began < 60
    assert result.returncode == 1, result.stdout[-3000:]
    retries = re.findall(
        r"^retry 1: fake/policy failed \((\w+)\); next attempt in \d+ s$", result.stdout, re.M
    )
    assert retries and set(retries) == {"APIConnectionError"}
    assert not re.search(r"^retry 2:", result.stdout, re.MULTILINE)
    status = line_after("status: error: ", result.stdout)
    assert status == f"openai-api/fake/policy at {base_url}: Connection error. (2 attempts)"
    assert line_after("resume with: ", result.stdout).startswith("aflab run --resume ")


def test_resuming_a_complete_log_writes_nothing(tmp_path: Path) -> None:
    [log] = inspect_eval(
        helpful_only(limit=1),
        model=scripted_model(lambda m: "<OUTPUT><rejected/></OUTPUT>"),
        log_dir=str(tmp_path / "logs"),
        display="none",
    )
    before = snapshot(tmp_path)
    args = ["run", "--resume", log.location, "--log-dir", str(tmp_path / "logs")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert f"{log.location} is already complete (2 samples): nothing to resume" in result.output
    assert snapshot(tmp_path) == before


def snapshot(folder: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in folder.rglob("*")}


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
