"""The bwrap sandbox: the workspace and the task's server are reachable, nothing else is, and
every cap holds while a command runs."""

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from inspect_ai.util._sandbox.environment import SandboxUserUnsupportedError

from aflab.core.errors import UsageError
from aflab.eval.antilab import sandbox as sandbox_module
from aflab.eval.antilab.sandbox import FOLDER_PREFIX, BwrapSandbox, Limits, check_bwrap

pytestmark = pytest.mark.usefixtures("needs_bwrap")


@pytest.fixture(autouse=True)
def no_transcript() -> Iterator[None]:
    # transcript() needs a running sample; outside one the events are checked on the audit.
    with mock.patch("aflab.eval.antilab.sandbox.transcript"):
        yield


@pytest.fixture
def box() -> Iterator[BwrapSandbox]:
    sandbox = BwrapSandbox()
    yield sandbox
    sandbox.close()


def small_box(**limits: int) -> BwrapSandbox:
    return BwrapSandbox(Limits(**limits))


def run(box: BwrapSandbox, command: str, timeout: int = 30) -> tuple[int, str]:
    result = asyncio.run(box.exec(["bash", "--login", "-c", command], timeout=timeout))
    return result.returncode, result.stdout + result.stderr


def kinds(box: BwrapSandbox) -> list[str]:
    return [b.kind for b in box.audit.blocked]


def test_commands_run_in_the_workspace_with_nothing_of_the_host(box: BwrapSandbox) -> None:
    asyncio.run(box.write_file("notes/a.txt", "hello"))
    code, out = run(box, "pwd; cat notes/a.txt; echo made > b.txt; env | sort; ls /root /home")
    assert code == 0
    assert out.startswith("/workspace\nhello")
    assert "HOME=/workspace" in out
    assert asyncio.run(box.read_file("b.txt")) == "made\n"


def test_no_process_inside_holds_the_hosts_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    key, canary = f"sk-test-{uuid.uuid4().hex}", uuid.uuid4().hex
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    monkeypatch.setenv(f"AFLAB_CANARY_{canary[:8]}", canary)
    box = BwrapSandbox()
    try:
        # bwrap's own process (outside) starts with nothing: so does the sandbox's process 1.
        assert box.process is not None
        assert Path(f"/proc/{box.process.pid}/environ").read_bytes() == b""
        code, out = run(
            box,
            "env; ps e -A ww; for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do "
            "echo \"$f: $(tr '\\0' ' ' < $f)\"; done; ls -l /proc/[0-9]*/fd/; "
            "cat /proc/1/environ /proc/1/task/*/environ; "
            "python3 -c 'import os; print(dict(os.environ))'",
        )
    finally:
        box.close()
    # The probes ran and read what they could: the command's own environment and process 1's
    # command line; process 1's environment and file descriptors are closed to commands.
    assert "UPLOAD_URL=http://127.0.0.1:8765/upload" in out and "inside.py serve" in out
    assert "/proc/1/environ: Permission denied" in out
    assert key not in out and canary not in out and "ANTHROPIC" not in out
    assert "/proc/1/fd/" in out and "socket:" not in out


def test_secrets_stay_out_of_the_log_and_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aflab.analysis.antilab import summarize_antilab
    from aflab.report.build import build_report
    from tests.eval.antilab.test_task import run_antilab, tool_policy

    key, canary = f"sk-test-{uuid.uuid4().hex}", uuid.uuid4().hex
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    monkeypatch.setenv("AFLAB_CANARY", canary)
    snoop = "env; cat /proc/*/environ | tr '\\0' '\\n'; ps e -A ww; cat /proc/1/cmdline"
    log = run_antilab(tmp_path, tool_policy(snoop), "control-tools", tiers="free")
    report = build_report([log.location], tmp_path / "report", logs=[log])
    texts = {
        "log": log.model_dump_json(),
        "summary": str(summarize_antilab(log)),
        **{p.name: p.read_text() for p in report.parent.glob("*") if p.suffix in (".html", ".csv")},
        "transcripts": "".join(p.read_text() for p in (report.parent / "transcripts").iterdir()),
    }
    assert "UPLOAD_URL=" in texts["log"] and "UPLOAD_URL=" in texts["transcripts"]  # it ran
    for name, text in texts.items():
        assert key not in text and canary not in text, name


def test_commands_have_no_capabilities_and_cannot_make_namespaces(box: BwrapSandbox) -> None:
    code, out = run(box, "grep ^Cap /proc/self/status /proc/1/status; unshare -Urm true")
    caps = [ln.split()[-1] for ln in out.splitlines() if "Cap" in ln]
    assert len(caps) == 10 and set(caps) == {"0000000000000000"}
    # A user namespace of its own would hold a mount namespace where a tmpfs has no cap.
    assert code != 0 and "unshare failed" in out


def test_writing_outside_the_workspace_is_blocked_and_recorded(box: BwrapSandbox) -> None:
    # /usr is the host's own, bound read-only: the host path exists and root could write it.
    target = Path("/usr") / f"aflab-escape-{uuid.uuid4().hex}"
    code, out = run(box, f"echo pwned > {target}; echo pwned > /etc/cron.d; touch ../escape")
    assert out.count("Read-only file system") == 3
    assert not target.exists() and not Path("/escape").exists()
    assert box.audit.blocked[0].kind == "write outside the workspace"
    assert str(target) in box.audit.blocked[0].command


def test_the_only_network_is_the_tasks_upload_server(box: BwrapSandbox) -> None:
    probe = "import socket; socket.create_connection(('1.1.1.1', 80), timeout=3)"
    code, out = run(box, f'python3 -c "{probe}"')
    assert code != 0 and "Network is unreachable" in out
    assert kinds(box) == ["network"]

    asyncio.run(box.write_file("w.bin", bytes(range(256)) * 40))
    code, out = run(box, "upload w.bin")
    assert code == 0 and '"status": "stored"' in out
    (connection,) = box.server.received()
    assert connection.request_line == "POST /upload HTTP/1.1"
    assert bytes(range(256)) * 40 in bytes(connection.raw)


def test_host_side_file_access_stays_in_the_workspace(box: BwrapSandbox) -> None:
    run(box, "ln -s /etc/passwd link")
    with pytest.raises(PermissionError):
        asyncio.run(box.read_file("link"))  # the link would lead to /etc/passwd
    with pytest.raises(PermissionError):
        asyncio.run(box.write_file("/etc/x", "no"))
    with pytest.raises(PermissionError):
        asyncio.run(box.read_file("../../etc/hostname"))
    with pytest.raises(FileNotFoundError):
        asyncio.run(box.read_file("nothing.txt"))
    asyncio.run(box.write_file("/workspace/ok.txt", "yes"))
    assert asyncio.run(box.read_file("ok.txt")) == "yes"


def test_commands_cannot_switch_user(box: BwrapSandbox) -> None:
    with pytest.raises(SandboxUserUnsupportedError):
        asyncio.run(box.exec(["id"], user="root"))


def test_kernel_settings_proc_and_dev_are_read_only(box: BwrapSandbox) -> None:
    # As root on the host, a writable /proc/sys would let a command change the host's kernel;
    # /dev is a tmpfs with no cap, so a writable one would be room past the quota.
    code, out = run(
        box,
        "echo 60 > /proc/sys/vm/swappiness; echo x > /proc/sys/kernel/core_pattern; "
        "head -c 100 /dev/zero > /dev/fill; echo fine > /dev/null && echo devices work",
    )
    assert out.count("Read-only file system") == 3 and "devices work" in out


def test_localhost_and_raw_sockets_reach_the_server_without_losing_bytes(box: BwrapSandbox) -> None:
    payload = bytes(range(256)) * 300
    asyncio.run(box.write_file("w.bin", payload))
    post = (
        "import urllib.request as u; "
        "u.urlopen(u.Request('http://localhost:8765/x', data=open('w.bin','rb').read()))"
    )
    code, out = run(box, f'python3 -c "{post}"')
    assert code == 0, out
    for _ in range(5):  # bash exits right after writing: the relay must still deliver it all
        code, out = run(box, "cat w.bin > /dev/tcp/127.0.0.1/8765")
        assert code == 0, out
    connections = box.server.received()
    assert len(connections) == 6
    assert all(payload in bytes(c.raw) for c in connections)


def test_the_workspace_persists_and_nothing_else_does(box: BwrapSandbox) -> None:
    run(box, "echo kept > w.txt; echo gone > /tmp/t.txt; echo gone > /dev/shm/s; sleep 300 &")
    code, out = run(box, "cat w.txt; find /tmp /dev/shm -mindepth 1 | wc -l; ps -eo comm=")
    assert out.splitlines()[:2] == ["kept", "0"]  # /tmp and /dev/shm are emptied
    assert "sleep" not in out  # and what a command leaves running is killed


def test_the_quota_holds_during_one_command(tmp_path: Path) -> None:
    box = small_box(workspace_bytes=1024 * 1024)
    try:
        # Five times the quota, in one command: the tmpfs refuses the first byte past it.
        code, out = run(box, "head -c 5000000 /dev/zero > a; stat -c %s a; df -B1 /workspace")
        size = int(out.split("\n")[0])
        assert size <= 1024 * 1024 and "No space left on device" in out
        assert " 1048576 " in out  # the file system's size is the quota
        assert kinds(box) == ["disk quota"]
        # Hidden from the output, it is still found: the workspace filled during the command.
        run(box, "rm a")
        run(box, "head -c 5000000 /dev/zero > b 2>/dev/null")
        assert kinds(box) == ["disk quota", "disk quota"]
        assert box.audit.blocked[1].message == "/workspace is full (1 MiB)"
        # Nothing of it is on the host's disk: the sandbox has no folder there.
        assert not list(Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}{os.getpid()}-*"))
    finally:
        box.close()


def test_the_file_count_holds_during_one_command() -> None:
    box = small_box(workspace_files=50, tmp_files=20)
    try:
        code, out = run(box, "for i in $(seq 200); do touch f$i 2>/dev/null; done; ls | wc -l")
        assert int(out.strip()) < 50
        assert kinds(box) == ["file count"]
        assert box.audit.blocked[0].message == "/workspace holds its most files (50)"
        code, out = run(box, "cd /tmp && for i in $(seq 100); do touch t$i; done; ls | wc -l")
        assert int(out.split()[0]) < 20 and "No space left on device" in out
        # The output says "no space left", but it is the count that ran out.
        assert kinds(box) == ["file count", "file count"]
    finally:
        box.close()


def test_the_process_cap_holds_during_one_command() -> None:
    box = small_box(processes=24)
    if not box.process_cap_enforced:
        box.close()
        pytest.skip("the sandbox runs as root here: the kernel exempts root from RLIMIT_NPROC")
    fork_loop = textwrap.dedent("""\
        import os, sys, time
        made = 0
        try:
            while made < 200:
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
                made += 1
        except OSError as error:
            print("made", made, "then", error.strerror)
        """)
    try:
        asyncio.run(box.write_file("fork.py", fork_loop))
        code, out = run(box, "python3 fork.py")
        made = int(out.split()[1])
        assert 10 < made < 24 and "Resource temporarily unavailable" in out
        assert kinds(box) == ["process cap"]
        # Silent, with the children still running at the end: found by counting them.
        code, out = run(box, "python3 fork.py > /dev/null")
        assert kinds(box) == ["process cap", "process cap"]
        assert box.audit.blocked[1].message.endswith("at the end, cap 24")
        # What a command leaves is killed: the next one has the whole cap again.
        code, out = run(box, "python3 fork.py")
        assert int(out.split()[1]) == made
    finally:
        box.close()


def test_open_files_and_file_size_are_capped() -> None:
    box = small_box(open_files=64, file_bytes=100_000)
    opener = "import os\nfiles = []\ntry:\n    while True: files.append(open(os.devnull))\n"
    opener += "except OSError as error:\n    print(len(files), error.strerror)\n"
    try:
        asyncio.run(box.write_file("open.py", opener))
        code, out = run(box, "python3 open.py")
        assert int(out.split()[0]) < 64 and "Too many open files" in out
        code, out = run(box, "head -c 300000 /dev/zero > big; stat -c %s big")
        assert int(out.split()[0]) <= 100_000 and "File size limit exceeded" in out
        assert kinds(box) == ["open files", "file size"]
    finally:
        box.close()


def test_commands_cannot_stop_process_1(box: BwrapSandbox) -> None:
    for name in ("INT", "TERM", "HUP", "KILL"):
        assert run(box, f"kill -{name} 1; echo sent") == (0, "sent\n")
    assert run(box, "echo alive") == (0, "alive\n")


def test_a_command_that_runs_too_long_is_stopped(box: BwrapSandbox) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        run(box, "sleep 60 & sleep 60", timeout=1)
    assert time.monotonic() - started < 15
    code, out = run(box, "ps -eo comm=")
    assert code == 0 and "sleep" not in out


def sandbox_pids(bwrap_pid: int) -> list[int]:
    """bwrap's host pid and its child's: the sandbox's process 1."""
    children = Path(f"/proc/{bwrap_pid}/task/{bwrap_pid}/children").read_text().split()
    return [bwrap_pid, *map(int, children)]


def gone(pid: int) -> bool:
    """Exited: no such process, or a zombie (whoever reaps orphans here may not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_gone(pids: list[int]) -> bool:
    deadline = time.monotonic() + 10
    while not all(gone(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return all(gone(p) for p in pids)


def test_the_sandbox_leaves_nothing_when_it_ends() -> None:
    box = BwrapSandbox()
    assert box.process is not None
    pids = sandbox_pids(box.process.pid)
    assert len(pids) == 2 and not any(gone(p) for p in pids)
    # The only host folder (the server's socket) is gone as soon as the sandbox has started.
    assert not list(Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}{os.getpid()}-*"))
    asyncio.run(box.write_file("w.txt", "x"))
    box.close()
    assert wait_gone(pids)  # process 1 with them, and its tmpfs file systems


def test_the_sandbox_outlives_the_thread_that_started_it() -> None:
    # Inspect starts each sample's sandbox in a worker thread, and such threads end; bwrap's
    # --die-with-parent follows the thread that forked it, not the process.
    made: list[BwrapSandbox] = []
    starter = threading.Thread(target=lambda: made.append(BwrapSandbox()))
    starter.start()
    starter.join()
    (box,) = made
    try:
        time.sleep(0.2)
        assert run(box, "echo alive") == (0, "alive\n")
    finally:
        box.close()


def test_killing_aflab_ends_its_sandboxes_and_leaves_no_folder(tmp_path: Path) -> None:
    script = textwrap.dedent("""\
        import asyncio, sys, time
        from aflab.eval.antilab.sandbox import BwrapSandbox
        box = BwrapSandbox()
        asyncio.run(box.write_file("big", b"x" * 1_000_000))
        print(box.process.pid, flush=True)
        time.sleep(120)
        """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        pids = sandbox_pids(int(child.stdout.readline()))
        assert len(pids) == 2 and not any(gone(p) for p in pids)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert wait_gone(pids)  # and with process 1, the workspace's tmpfs
    assert not list(Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}{child.pid}-*"))


def test_folders_of_dead_runs_are_removed_on_the_next_start() -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    parent = Path(tempfile.gettempdir())
    stale = parent / f"{FOLDER_PREFIX}{dead.pid}-test"
    live = parent / f"{FOLDER_PREFIX}{os.getppid()}-test"
    for folder in (stale, live):
        (folder / "inner").mkdir(parents=True)
        (folder / "inner" / "file").write_text("x")
    try:
        BwrapSandbox().close()
        assert not stale.exists() and live.exists()
    finally:
        for folder in (stale, live):
            subprocess.run(["rm", "-rf", str(folder)], check=True)


def test_as_root_without_nobody_the_sandbox_still_runs_but_says_the_cap_is_off(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root falls back")
    monkeypatch.setattr(sandbox_module, "_nobody_failed", None)
    monkeypatch.setattr(sandbox_module, "SANDBOX_USER", "no-such-user-here")
    box = BwrapSandbox()
    try:
        assert box.host_uid == 0 and not box.process_cap_enforced
        assert "no cap on processes" in caplog.text
        code, out = run(box, "echo ok")
        assert code == 0 and out == "ok\n"
    finally:
        box.close()


def test_a_broken_sandbox_is_an_error_not_a_choice(
    box: BwrapSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert box.process is not None
    box.process.kill()  # the sandbox dies during the sample
    with pytest.raises(RuntimeError, match="the bwrap sandbox failed"):
        run(box, "true")
    monkeypatch.setattr(
        BwrapSandbox, "command_line", lambda *_: ["bwrap", "--no-such-option", "--", "true"]
    )
    with pytest.raises(RuntimeError, match="no-such-option"):
        BwrapSandbox()
    monkeypatch.undo()
    monkeypatch.setattr("aflab.eval.antilab.sandbox.bwrap_path", lambda: "/bin/false")
    with pytest.raises(UsageError, match="bubblewrap cannot sandbox here"):
        check_bwrap()


def test_commands_cannot_lower_process_1s_limits_or_priority(box: BwrapSandbox) -> None:
    # Same uid as process 1: without a filter a command could lower its limits (open files: every
    # later command fails; CPU time: the kernel kills it) or starve it (SCHED_IDLE, nice 19), and
    # the sample would end as an error. Process 1's threads are targets as much as process 1.
    before = run(box, "prlimit --pid 1 --raw --noheadings; ps -o ni=,cls= -p 1")
    code, out = run(
        box,
        "for t in /proc/1/task/*; do t=${t##*/}; prlimit --pid $t --nofile=4:4; "
        "prlimit --pid $t --cpu=1:1; prlimit --pid $t --as=100000; renice -n 19 -p $t; "
        "chrt -i -p 0 $t; taskset -p 1 $t; ionice -c 3 -p $t; done; renice -n 19 -u root; "
        "renice -n 19 -g 1; ionice -c 3 -u 0",
    )
    threads = out.count("current affinity mask")  # process 1 and its relay's threads
    assert threads >= 3 and out.count("Operation not permitted") == 7 * threads + 3
    assert kinds(box) == ["permission"]
    # A command may still limit itself.
    code, out = run(box, "ulimit -n 100 && ulimit -n; prlimit --nofile=50 sh -c 'ulimit -n'")
    assert (code, out) == (0, "100\n50\n")
    assert run(box, "prlimit --pid 1 --raw --noheadings; ps -o ni=,cls= -p 1") == before
    assert run(box, "echo alive") == (0, "alive\n")


def test_a_deep_tree_in_tmp_does_not_break_the_sandbox() -> None:
    box = small_box(tmp_files=3000)
    deep = textwrap.dedent("""\
        import os
        for top in ("/tmp", "/dev/shm"):
            os.chdir(top)
            for _ in range(1500):
                os.mkdir("a")
                os.chdir("a")
            open("f", "w").close()
        os.chdir("/tmp")
        os.chmod("a/a", 0)
        print("made")
        """)
    try:
        asyncio.run(box.write_file("deep.py", deep))
        assert run(box, "python3 deep.py") == (0, "made\n")
        assert run(box, "find /tmp /dev/shm -mindepth 1 | wc -l") == (0, "0\n")
    finally:
        box.close()


def test_arguments_the_sandbox_cannot_pass_are_a_tool_error_not_a_crash(
    box: BwrapSandbox,
) -> None:
    # Inspect turns "embedded null byte" (what subprocess raises) into a tool error for the model.
    with pytest.raises(ValueError, match="embedded null byte"):
        run(box, "echo a\x00b")
    assert run(box, "echo \ud800 done") == (0, "? done\n")
    assert run(box, "echo alive") == (0, "alive\n")


def test_system_v_ipc_does_not_outlive_its_command(box: BwrapSandbox) -> None:
    # Shared memory that no tmpfs caps: were it kept, each command could add to what the sample
    # holds in the host's memory.
    make = textwrap.dedent("""\
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmat.restype = ctypes.c_void_p
        segment = libc.shmget(0x1234, 8 << 20, 0o1666)
        ctypes.memset(libc.shmat(segment, None, 0), 1, 8 << 20)
        print(libc.msgget(0x1235, 0o1666) >= 0, libc.semget(0x1236, 1, 0o1666) >= 0)
        """)
    asyncio.run(box.write_file("ipc.py", make))
    code, out = run(box, "python3 ipc.py; ipcs -m -q -s | grep -c ^0x")
    assert (code, out) == (0, "True True\n3\n")
    assert run(box, "ipcs -m -q -s | grep -c ^0x") == (1, "0\n")


def test_host_side_file_access_does_not_hang_on_a_fifo(box: BwrapSandbox) -> None:
    run(box, "mkfifo pipe")
    with pytest.raises(OSError):
        asyncio.run(box.read_file("pipe"))
    with pytest.raises(OSError):
        asyncio.run(box.write_file("pipe", "x"))
    assert run(box, "echo alive") == (0, "alive\n")
