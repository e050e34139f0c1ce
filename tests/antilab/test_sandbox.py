"""The bwrap sandbox: the workspace and the task's server are reachable, nothing else is."""

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from inspect_ai.util._sandbox.environment import SandboxUserUnsupportedError

from aflab.antilab.sandbox import BwrapSandbox, check_bwrap
from aflab.errors import UsageError

pytestmark = pytest.mark.usefixtures("needs_bwrap")


@pytest.fixture
def box() -> Iterator[BwrapSandbox]:
    # transcript() needs a running sample; outside one the events are checked on the audit.
    with mock.patch("aflab.antilab.sandbox.transcript"):
        sandbox = BwrapSandbox()
        yield sandbox
        sandbox.close()


def run(box: BwrapSandbox, command: str) -> tuple[int, str]:
    result = asyncio.run(box.exec(["bash", "--login", "-c", command], timeout=30))
    return result.returncode, result.stdout + result.stderr


def test_commands_run_in_the_workspace_with_nothing_of_the_host(
    box: BwrapSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AFLAB_TEST_SECRET", "s3cret")
    asyncio.run(box.write_file("notes/a.txt", "hello"))
    code, out = run(box, "pwd; cat notes/a.txt; echo made > b.txt; env | sort; ls /root /home")
    assert code == 0
    assert out.startswith("/workspace\nhello")
    assert (box.workspace / "b.txt").read_text() == "made\n"
    assert "HOME=/workspace" in out and "s3cret" not in out
    assert asyncio.run(box.read_file("b.txt")) == "made\n"


def test_writing_outside_the_workspace_is_blocked_and_recorded(box: BwrapSandbox) -> None:
    # /usr is the host's own, bound read-only: the host path exists and root could write it.
    target = Path("/usr") / f"aflab-escape-{uuid.uuid4().hex}"
    code, out = run(box, f"echo pwned > {target}; echo pwned > /etc/cron.d; touch ../escape")
    assert "Read-only file system" in out
    assert not target.exists() and not (box.workspace.parent / "escape").exists()
    assert box.audit.blocked[0].kind == "write outside the workspace"
    assert str(target) in box.audit.blocked[0].command


def test_the_only_network_is_the_tasks_upload_server(box: BwrapSandbox) -> None:
    probe = "import socket; socket.create_connection(('1.1.1.1', 80), timeout=3)"
    code, out = run(box, f'python3 -c "{probe}"')
    assert code != 0 and "Network is unreachable" in out
    assert [b.kind for b in box.audit.blocked] == ["network"]

    asyncio.run(box.write_file("w.bin", bytes(range(256)) * 40))
    code, out = run(box, "upload w.bin")
    assert code == 0 and '"status": "stored"' in out
    (connection,) = box.server.received()
    assert connection.request_line == "POST /upload HTTP/1.1"
    assert bytes(range(256)) * 40 in bytes(connection.raw)


def test_host_side_file_access_stays_in_the_workspace(box: BwrapSandbox) -> None:
    run(box, "ln -s /etc/passwd link")
    with pytest.raises(PermissionError):
        asyncio.run(box.read_file("link"))  # the link would lead to the host's /etc/passwd
    with pytest.raises(PermissionError):
        asyncio.run(box.write_file("/etc/x", "no"))
    with pytest.raises(PermissionError):
        asyncio.run(box.read_file("../../etc/hostname"))
    asyncio.run(box.write_file("/workspace/ok.txt", "yes"))
    assert (box.workspace / "ok.txt").read_text() == "yes"


def test_commands_cannot_switch_user(box: BwrapSandbox) -> None:
    with pytest.raises(SandboxUserUnsupportedError):
        asyncio.run(box.exec(["id"], user="root"))


def test_kernel_settings_and_proc_are_read_only(box: BwrapSandbox) -> None:
    # As root on the host, a writable /proc/sys would let a command change the host's kernel.
    code, out = run(
        box, "echo 60 > /proc/sys/vm/swappiness; echo x > /proc/sys/kernel/core_pattern"
    )
    assert out.count("Read-only file system") == 2


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


def test_the_workspace_has_a_quota(box: BwrapSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("aflab.antilab.sandbox.WORKSPACE_QUOTA_BYTES", 1_000_000)
    code, out = run(box, "head -c 600000 /dev/zero > a; sleep 0.01; head -c 600000 /dev/zero > b")
    assert "no space left on device" in out
    assert [p.name for p in box.workspace.iterdir()] == ["a"]  # the newest file went
    assert box.audit.blocked[-1].kind == "disk quota"


def test_a_broken_sandbox_is_an_error_not_a_choice(
    box: BwrapSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = ["bwrap", "--no-such-option", "--", "true"]
    monkeypatch.setattr(box, "command_line", lambda *_: broken)
    with pytest.raises(RuntimeError, match="the bwrap sandbox failed"):
        run(box, "true")
    monkeypatch.setattr("aflab.antilab.sandbox.bwrap_path", lambda: "/bin/false")
    with pytest.raises(UsageError, match="bubblewrap cannot sandbox here"):
        check_bwrap()
