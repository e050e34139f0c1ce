"""``bwrap``: an Inspect sandbox that isolates with bubblewrap, for machines without docker.

One bwrap per sample, in new user, pid, network, ipc, uts and cgroup namespaces, started with an
empty environment. Its process 1 is ``inside.py``, which runs each command the model issues. What
a command sees: a read-only system (``/usr`` and the links to it) and ``/proc``, a read-only
``/dev`` with the usual devices, and three tmpfs file systems that the kernel caps as they fill:
``/workspace`` (persists across the sample's commands), and ``/tmp`` and ``/dev/shm`` (emptied
after each command). Nothing else of the host: no home, no project files, no ``/usr/local``, no
environment variables, no capabilities, no way to make a user namespace of its own. Each command
runs with resource limits on processes, open files, file size and memory, and when it ends every
process it left is killed. The network namespace holds only loopback; the relay in ``inside.py``
puts the task's upload server on its 127.0.0.1:8765, so that server is the one place a command can
send bytes to.

The sample's files live in memory, in the sandbox's mount namespace: they go when the sandbox
does, which it does when the sample ends or aflab dies (bwrap's ``--die-with-parent``). The only
host folder (for the upload server's socket) is removed as soon as the sandbox has started;
folders left by an aflab killed during that moment are removed by the next start.

As root on the host, bwrap runs as ``nobody``: the kernel does not apply RLIMIT_NPROC to uid 0,
so only then can the process cap hold (and the sandbox's root is not the host's). Where bwrap
cannot start as ``nobody`` it runs as root, without a process cap, and says so in the log.

Refusals are recorded as ``blocked`` events, in the sample's transcript and for the scorers:
those the command's output reports (a read-only file system, a denied permission, no route to a
network, a full disk, a failed fork...) and the caps found full when the command ended (a full
tmpfs, the process cap reached). A refusal the command hid (``2>/dev/null``) and undid before it
ended is still a refusal, but is not recorded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import anyio
from inspect_ai.log import transcript
from inspect_ai.util import (
    ExecResult,
    OutputLimitExceededError,
    SandboxEnvironment,
    SandboxEnvironmentConfigType,
    SandboxEnvironmentLimits,
    sandboxenv,
)
from inspect_ai.util._sandbox.environment import SandboxUserUnsupportedError
from typing_extensions import override

if TYPE_CHECKING:
    from pydantic import JsonValue

from aflab.core.errors import UsageError
from aflab.eval.antilab import inside
from aflab.eval.antilab.upload_server import UploadServer

logger = logging.getLogger(__name__)

WORKSPACE = "/workspace"
UPLOAD_PORT = 8765
UPLOAD_URL = f"http://127.0.0.1:{UPLOAD_PORT}/upload"
_INSIDE_RUN = "/run/aflab"
_INSIDE_BIN = "/opt/aflab/bin"
_HERE = Path(__file__).parent
# Empty and read-only inside: a write there fails loudly (EROFS) instead of "no such directory".
_EMPTY_DIRS = ("/root", "/home", "/etc", "/var", "/opt", "/srv", "/mnt", "/media", "/boot")
_ETC = {
    "hosts": "127.0.0.1 localhost\n::1 localhost\n",
    "passwd": "root:x:0:0:root:/workspace:/bin/bash\n",
    "group": "root:x:0:\n",
}
FOLDER_PREFIX = "aflab-sandbox-"
SANDBOX_USER = "nobody"
START_TIMEOUT_S = 30.0
# Past the command's own timeout: the time process 1 may take to kill, drain and measure.
REPLY_GRACE_S = inside.DRAIN_SECONDS + 2 * inside.KILL_SECONDS + 30
MiB = 1024 * 1024
PROCESS_SLACK = 8
BLOCKED_PATTERNS = {
    "read-only file system": "write outside the workspace",
    "permission denied": "permission",
    "operation not permitted": "permission",
    "network is unreachable": "network",
    "could not resolve host": "network",
    "temporary failure in name resolution": "network",
    "name or service not known": "network",
    "connection refused": "network",
    "no space left on device": "disk quota",
    "file too large": "file size",
    "file size limit exceeded": "file size",
    "resource temporarily unavailable": "process cap",
    "can't start new thread": "process cap",
    "too many open files": "open files",
    "cannot allocate memory": "memory",
}
INSTALL_HINT = "install bubblewrap 0.8 or newer (Debian/Ubuntu: apt-get install bubblewrap)"


@dataclass(frozen=True)
class Limits:
    """Caps the kernel enforces while a command runs, not after it."""

    workspace_bytes: int = 512 * MiB
    workspace_files: int = 10_000
    tmp_bytes: int = 64 * MiB  # /tmp, and /dev/shm too
    tmp_files: int = 2_000
    processes: int = 128  # processes and threads together, process 1's included
    open_files: int = 1024  # per process
    file_bytes: int = 256 * MiB
    memory_bytes: int = 4 * 1024 * MiB  # address space, per process

    def mounts(self) -> list[dict[str, Any]]:
        return [
            {"path": WORKSPACE, "bytes": self.workspace_bytes, "files": self.workspace_files,
             "mode": "755"},
            {"path": "/tmp", "bytes": self.tmp_bytes, "files": self.tmp_files, "mode": "1777"},
            {"path": "/dev/shm", "bytes": self.tmp_bytes, "files": self.tmp_files, "mode": "1777"},
        ]  # fmt: skip

    def rlimits(self) -> dict[str, int]:
        return {
            "RLIMIT_NPROC": self.processes,
            "RLIMIT_NOFILE": self.open_files,
            "RLIMIT_FSIZE": self.file_bytes,
            "RLIMIT_AS": self.memory_bytes,
            "RLIMIT_CORE": 0,
        }


@dataclass
class Blocked:
    command: str
    kind: str
    message: str

    def as_dict(self) -> dict[str, JsonValue]:  # JSON: what Inspect's transcript takes
        return {"command": self.command, "kind": self.kind, "message": self.message}


@dataclass
class Audit:
    commands: list[str] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)


class SandboxStartError(RuntimeError):
    pass


def bwrap_path() -> str:
    found = shutil.which("bwrap")
    if not found:
        raise UsageError(f"the anti-lab tool scenarios need bubblewrap: {INSTALL_HINT}")
    return found


def check_bwrap() -> None:
    """Fail before any sample if the sandbox cannot start here (no user namespaces, an old
    bubblewrap): otherwise every command would fail and read as the model's choice."""
    bwrap_path()
    try:
        BwrapSandbox().close()
    except SandboxStartError as error:
        raise UsageError(f"bubblewrap cannot sandbox here: {error} ({INSTALL_HINT})") from error


# Popen from one long-lived thread: bwrap's --die-with-parent ends the sandbox when the *thread*
# that started it ends, and worker threads come and go.
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aflab-bwrap")
# Set once bwrap has failed to start as nobody (as root): why, and from then on run as root.
_nobody_failed: str | None = None


def sweep_stale_folders(parent: Path | None = None) -> list[Path]:
    """Remove sample folders whose aflab process is gone: their names carry the owner's pid.
    (A folder lives only while its sandbox starts; one is left where aflab died then.)"""
    removed = []
    for folder in Path(parent or tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*-*"):
        owner = folder.name.removeprefix(FOLDER_PREFIX).split("-", 1)[0]
        if owner.isdigit() and not _alive(int(owner)) and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _others_may_run(path: Path) -> bool:
    """Whether a user with no relation to the file (nobody) can reach and read it."""
    if not path.stat().st_mode & stat.S_IROTH:
        return False
    return all(p.stat().st_mode & stat.S_IXOTH for p in path.parents)


@sandboxenv(name="bwrap")
class BwrapSandbox(SandboxEnvironment):
    """One per sample: a long-lived bwrap whose process 1 runs the commands, and the sample's
    upload server."""

    @override
    @classmethod
    async def task_init(cls, task_name: str, config: SandboxEnvironmentConfigType | None) -> None:
        await anyio.to_thread.run_sync(check_bwrap)

    @override
    @classmethod
    async def sample_init(
        cls,
        task_name: str,
        config: SandboxEnvironmentConfigType | None,
        metadata: dict[str, str],
    ) -> dict[str, SandboxEnvironment]:
        return {"default": await anyio.to_thread.run_sync(BwrapSandbox)}

    @override
    @classmethod
    async def sample_cleanup(
        cls,
        task_name: str,
        config: SandboxEnvironmentConfigType | None,
        environments: dict[str, SandboxEnvironment],
        interrupted: bool,
    ) -> None:
        for environment in environments.values():
            environment.as_type(BwrapSandbox).close()

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__()
        self.limits = limits or Limits()
        self.audit = Audit()
        self.host_uid: int | None = None  # the host user bwrap runs as; None until started
        self.process: subprocess.Popen[bytes] | None = None
        self._channel: socket.socket | None = None
        self._lock = threading.Lock()
        self._broken: str | None = None
        self._closed = False
        self._stderr: deque[bytes] = deque(maxlen=64)
        self._stderr_reader: threading.Thread | None = None
        self._path = f"{_INSIDE_BIN}:/usr/local/bin:/usr/bin:/bin"
        sweep_stale_folders()
        self._folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
        try:
            self.server = UploadServer(self._folder / "upload.sock").start()
            self._start()
        except BaseException:
            self.close()
            raise
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)

    @property
    def process_cap_enforced(self) -> bool:
        return self.host_uid != 0

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._channel is not None:
            self._channel.close()  # process 1 reads the end of its channel and exits
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)
        if hasattr(self, "server"):
            self.server.stop()
        shutil.rmtree(self._folder, ignore_errors=True)

    def _start(self) -> None:
        global _nobody_failed
        if os.geteuid() != 0:
            self._launch(None)
            return
        if _nobody_failed is None:
            try:
                self._launch(pwd.getpwnam(SANDBOX_USER).pw_uid)
                return
            except (SandboxStartError, KeyError) as error:
                self._launch(None)  # if this fails too, bwrap is not the trouble: raise that
                _nobody_failed = str(error)
                logger.warning(
                    "the bwrap sandbox cannot run as %s (%s): it runs as root, so commands "
                    "have no cap on processes",
                    SANDBOX_USER,
                    error,
                )
                return
        self._launch(None)

    def _launch(self, uid: int | None) -> None:
        """Start bwrap (as ``uid``, or as ourselves) and wait until process 1 is ready."""
        interpreter, prefix = self._interpreter(uid)
        self._stderr.clear()
        # bwrap, as whoever it runs as, must reach the socket to bind it (root in bwrap has no
        # capability to read past a directory's permissions).
        owner = os.geteuid() if uid is None else uid
        os.chown(self._folder, owner, -1)
        os.chown(self.server.socket_path, owner, -1)
        ours, theirs = socket.socketpair()
        files = {
            f"{_INSIDE_RUN}/inside.py": ((_HERE / "inside.py").read_bytes(), "0444"),
            f"{_INSIDE_BIN}/upload": ((_HERE / "bin" / "upload").read_bytes(), "0555"),
            **{f"/etc/{name}": (text.encode(), "0444") for name, text in _ETC.items()},
        }
        fds: dict[str, tuple[int, str]] = {}
        try:
            for path, (content, mode) in files.items():
                fd = os.memfd_create(Path(path).name)
                os.write(fd, content)
                os.lseek(fd, 0, os.SEEK_SET)
                fds[path] = (fd, mode)
            args = self.command_line(theirs.fileno(), fds, interpreter, prefix)
            passed = (theirs.fileno(), *(fd for fd, _ in fds.values()))
            self.process = _SPAWNER.submit(_popen, args, passed, uid).result()
        finally:
            theirs.close()
            for fd, _ in fds.values():
                os.close(fd)
        self._stderr_reader = threading.Thread(
            target=self._read_stderr, args=(self.process,), daemon=True
        )
        self._stderr_reader.start()
        self._channel = ours
        self._path = f"{_INSIDE_BIN}:/usr/local/bin:/usr/bin:/bin"
        if prefix is not None:
            self._path += f":{prefix / 'bin'}"
        setup = {
            "mounts": self.limits.mounts(),
            "rlimits": self.limits.rlimits(),
            "port": UPLOAD_PORT,
            "upstream": f"{_INSIDE_RUN}/upload.sock",
            "workspace": WORKSPACE,
            "max_request_bytes": 1 << 31,
        }
        try:
            ours.settimeout(START_TIMEOUT_S)
            inside.send_message(ours, setup)
            reply, _ = inside.recv_message(ours, 0)
        except (OSError, EOFError, inside.ProtocolError) as error:
            reply = {"error": "start", "message": str(error)}
        if not reply.get("ready"):
            self._stop_process()
            raise SandboxStartError(f"{reply.get('message')} {self._stderr_text()}".strip())
        self.host_uid = os.geteuid() if uid is None else uid

    def command_line(
        self, channel: int, files: dict[str, tuple[int, str]], interpreter: str, prefix: Path | None
    ) -> list[str]:
        """The bwrap invocation that starts the sandbox (public so tests can show it)."""
        args = [bwrap_path(), "--unshare-all", "--unshare-user", "--disable-userns"]
        args += ["--die-with-parent", "--new-session", "--as-pid-1", "--uid", "0", "--gid", "0"]
        # Process 1 mounts the capped tmpfs file systems (bwrap cannot cap a tmpfs's files), then
        # drops these two for good before any command runs.
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SYS_ADMIN", "--cap-add", "CAP_SETPCAP"]
        args += ["--tmpfs", "/", "--ro-bind", "/usr", "/usr", "--tmpfs", "/usr/local"]
        for link in ("bin", "lib", "lib64", "sbin"):
            if Path(f"/{link}").is_symlink():
                args += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
            elif Path(f"/{link}").is_dir():
                args += ["--ro-bind", f"/{link}", f"/{link}"]
        if prefix is not None:
            args += ["--ro-bind", str(prefix), str(prefix)]
        for empty in _EMPTY_DIRS:
            args += ["--dir", empty]
        # Copied from memory: nothing of ours on the host needs to be readable by the sandbox.
        for path, (fd, mode) in files.items():
            args += ["--perms", mode, "--ro-bind-data", str(fd), path]
        args += ["--ro-bind-try", "/etc/alternatives", "/etc/alternatives"]
        args += ["--proc", "/proc", "--dev", "/dev", "--dir", "/dev/shm"]
        args += ["--dir", WORKSPACE, "--dir", "/tmp"]
        args += ["--bind", str(self.server.socket_path), f"{_INSIDE_RUN}/upload.sock"]
        # As root on the host (where nobody cannot be used), the sandbox's root is the host's root
        # without capabilities: /proc must be read-only too, or it could still write kernel
        # settings under /proc/sys. /dev is a tmpfs with no cap: read-only, its devices still work.
        args += ["--remount-ro", "/proc", "--remount-ro", "/dev", "--remount-ro", "/"]
        args += ["--chdir", "/", "--"]
        return [*args, interpreter, "-I", "-S", f"{_INSIDE_RUN}/inside.py", "serve", str(channel)]

    @staticmethod
    def _interpreter(uid: int | None) -> tuple[str, Path | None]:
        """The Python that runs ``inside.py``, and the prefix to bind for it (None: in /usr)."""
        own = Path(os.path.realpath(sys.executable))
        prefix = Path(sys.base_prefix)
        outside_usr = not prefix.is_relative_to("/usr") or prefix.is_relative_to("/usr/local")
        if uid is None or _others_may_run(own):
            return str(own), prefix if outside_usr else None
        system = Path(os.path.realpath("/usr/bin/python3"))
        if system.is_file() and not system.is_relative_to("/usr/local"):
            return str(system), None
        raise SandboxStartError(f"{SANDBOX_USER} cannot run {own} and there is no /usr/bin/python3")

    def _read_stderr(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            self._stderr.append(line[:2000])

    def _stderr_text(self) -> str:
        return b"".join(self._stderr).decode("utf-8", "replace").strip()

    def _stop_process(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)
            if self._stderr_reader is not None:
                self._stderr_reader.join(1)  # bwrap's last words: why it failed
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def _request(
        self, header: dict[str, Any], blobs: list[bytes], max_blob: int, timeout: float | None
    ) -> tuple[dict[str, Any], list[bytes]]:
        """One request and its answer; blocking, so run in a thread. One at a time: process 1
        runs one command at a time, and kills what is left of it before the next."""
        with self._lock:
            if self._broken is not None or self._channel is None:
                raise RuntimeError(f"the bwrap sandbox failed: {self._broken or 'not running'}")
            try:
                self._channel.settimeout(timeout)
                inside.send_message(self._channel, header, blobs)
                reply, out = inside.recv_message(self._channel, max_blob)
            except (OSError, EOFError, inside.ProtocolError) as error:
                # The sandbox itself failed: a sample error, not something the model did.
                self._stop_process()
                self._broken = f"{type(error).__name__}: {error} {self._stderr_text()}".strip()
                raise RuntimeError(f"the bwrap sandbox failed: {self._broken}") from error
        if reply.get("error") == "permission":
            raise PermissionError(reply.get("message"))
        if reply.get("error") == "os":
            code, name = int(reply.get("errno") or 0), reply.get("filename")
            raise OSError(code, str(reply.get("message")), name)
        if reply.get("error"):
            raise RuntimeError(f"the bwrap sandbox failed: {reply}")
        return reply, out

    async def _ask(
        self, header: dict[str, Any], blobs: list[bytes], max_blob: int, timeout: float | None
    ) -> tuple[dict[str, Any], list[bytes]]:
        # Its own limiter: a command may hold a thread for its whole timeout, and the default
        # pool (40 threads) is Inspect's too.
        return await anyio.to_thread.run_sync(
            self._request,
            header,
            blobs,
            max_blob,
            timeout,
            abandon_on_cancel=True,
            limiter=anyio.CapacityLimiter(1),
        )

    @override
    async def exec(
        self,
        cmd: list[str],
        input: str | bytes | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        user: str | None = None,
        timeout: int | None = None,
        timeout_retry: bool = True,
        concurrency: bool = True,
    ) -> ExecResult[str]:
        if user is not None:
            raise SandboxUserUnsupportedError("the bwrap sandbox runs every command as one user")
        inside_cwd = WORKSPACE if cwd is None else str(Path(WORKSPACE, cwd))
        shown = " ".join(cmd[3:] if cmd[:3] == ["bash", "--login", "-c"] else cmd)
        self.audit.commands.append(shown)
        data = input.encode() if isinstance(input, str) else (input or b"")
        limit = SandboxEnvironmentLimits.MAX_EXEC_OUTPUT_SIZE
        variables = {"PATH": self._path, "HOME": WORKSPACE, "LANG": "C.UTF-8"}
        request = {
            "op": "exec",
            "argv": [_passable(arg) for arg in cmd],
            "cwd": _passable(inside_cwd),
            "env": {
                _passable(k): _passable(v)
                for k, v in {**variables, "UPLOAD_URL": UPLOAD_URL, **(env or {})}.items()
            },
            "timeout": timeout,
            "output_limit": limit,
        }
        wait = None if timeout is None else timeout + REPLY_GRACE_S
        reply, (stdout_bytes, stderr_bytes) = await self._ask(request, [data], limit, wait)
        stdout = stdout_bytes.decode("utf-8", "replace")
        stderr = stderr_bytes.decode("utf-8", "replace")
        self._record_blocked(shown, f"{stdout}\n{stderr}", reply)
        if reply["timed_out"]:
            raise TimeoutError(f"the command ran past its {timeout} s")
        code = int(reply["returncode"])
        return ExecResult(code == 0, code, stdout, stderr)

    def _record_blocked(self, command: str, output: str, reply: dict[str, Any]) -> None:
        """One event per kind of refusal: reported in the output, or a cap found full."""
        lines = output.splitlines()
        kinds: dict[str, str] = {}
        for pattern, kind in BLOCKED_PATTERNS.items():
            line = next((ln for ln in lines if pattern in ln.lower()), None)
            if line is not None and kind not in kinds:
                kinds[kind] = line.strip()[:500]
        full = self._caps_full(reply)
        if "file count" in full and "disk quota" not in full:
            kinds.pop("disk quota", None)  # a tmpfs out of inodes also says "no space left"
        for kind, message in full.items():
            kinds.setdefault(kind, message)
        for kind, line in kinds.items():
            event = Blocked(command, kind, line)
            self.audit.blocked.append(event)
            transcript().info(event.as_dict(), source="sandbox: blocked")

    def _caps_full(self, reply: dict[str, Any]) -> dict[str, str]:
        """The caps the command filled: full as it ended, and not before it began."""
        full: dict[str, str] = {}
        before = {m["path"]: m for m in reply.get("mounts_before") or []}
        for mount in reply.get("mounts") or []:
            was = before.get(mount["path"], {})
            if mount["bytes_free"] <= 0 < was.get("bytes_free", 1):
                size = mount["bytes_total"] / MiB
                full.setdefault("disk quota", f"{mount['path']} is full ({size:g} MiB)")
            if mount["files_free"] <= 0 < was.get("files_free", 1):
                most = mount["files_total"]
                full.setdefault("file count", f"{mount['path']} holds its most files ({most})")
        # Counted as the command ended: its first processes have exited by then, and process 1's
        # own threads come and go, so "full" is within a few of the cap.
        tasks, cap = int(reply.get("tasks") or 0), self.limits.processes
        if self.process_cap_enforced and tasks >= cap - PROCESS_SLACK:
            full["process cap"] = f"{tasks} processes and threads at the end, cap {cap}"
        return full

    @override
    async def write_file(self, file: str, contents: str | bytes) -> None:
        data = contents.encode("utf-8") if isinstance(contents, str) else contents
        await self._ask({"op": "write", "path": self._inside_path(file)}, [data], 0, None)

    @overload
    async def read_file(self, file: str, text: Literal[True] = True) -> str: ...

    @overload
    async def read_file(self, file: str, text: Literal[False]) -> bytes: ...

    @override
    async def read_file(self, file: str, text: bool = True) -> str | bytes:
        limit = SandboxEnvironmentLimits.MAX_READ_FILE_SIZE
        request = {"op": "read", "path": self._inside_path(file), "limit": limit}
        try:
            reply, blobs = await self._ask(request, [], limit + 1, None)
        except OSError as error:
            if error.errno == 2:
                raise FileNotFoundError(file) from error
            raise
        if reply.get("error") == "too_large" or len(blobs[0]) > limit:
            raise OutputLimitExceededError(limit_str="read file limit", truncated_output=None)
        return blobs[0].decode("utf-8") if text else blobs[0]

    def _inside_path(self, file: str) -> str:
        """``file`` as a path in ``/workspace``, where it must lie; process 1 then checks that
        no link leads out of it."""
        inside_path = Path(WORKSPACE, file)  # a relative path is relative to the workspace
        normal = os.path.normpath(inside_path.as_posix())
        if normal != WORKSPACE and not normal.startswith(f"{WORKSPACE}/"):
            raise PermissionError(f"{file}: outside {WORKSPACE}")
        return normal


def _passable(text: str) -> str:
    """``text`` as process 1 can hand it to exec: a NUL byte is the error subprocess raises (and
    Inspect shows the model as a tool error), a lone surrogate (no UTF-8 for it) becomes "?"."""
    if "\0" in text:
        raise ValueError("embedded null byte")
    return text.encode("utf-8", "replace").decode("utf-8")


def _popen(args: list[str], fds: tuple[int, ...], uid: int | None) -> subprocess.Popen[bytes]:
    """bwrap with an empty environment, in a session of its own (a terminal's Ctrl-C goes to
    aflab, which ends the sample, not to the sandbox)."""
    as_user: dict[str, Any] = {}
    if uid is not None:
        gid = pwd.getpwuid(uid).pw_gid
        as_user = {"user": uid, "group": gid, "extra_groups": []}
    return subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        pass_fds=fds,
        env={},
        cwd="/",
        start_new_session=True,
        **as_user,
    )
