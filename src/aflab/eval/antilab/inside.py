"""What runs inside the bwrap sandbox: its first process, and the step that limits each command.

Standard library only, and Python 3.8 or newer: as root on the host the sandbox runs as ``nobody``,
which may only be able to read the system's own ``python3``. The host imports the framing below.

``inside.py serve FD`` is the sandbox's process 1, for the whole sample. Over the socket FD it
takes one setup message, then requests one at a time, and answers each:

- setup: mount the size- and inode-limited tmpfs file systems (``/workspace``, ``/tmp``,
  ``/dev/shm``), drop every capability for good, filter the system calls that act on another
  process (see ``restrict_syscalls``), start the relay, answer ``ready``;
- ``exec``: run a command (through ``inside.py limits``), collect its output, then kill every
  process it left, let the relay deliver what it sent, empty ``/tmp`` and ``/dev/shm``, remove
  its System V IPC objects, and answer with the status, the output and what the caps measured;
- ``read`` / ``write``: a file under ``/workspace``.

The relay: the sandbox's network namespace has nothing but loopback. The relay listens on its
127.0.0.1:PORT and forwards each connection to the task's upload server through a unix socket
bound into the sandbox, so tools inside (curl, python, the ``upload`` command) reach that server
and nothing else.

``inside.py limits SPEC -- COMMAND...`` sets the resource limits in SPEC, enters its directory and
executes COMMAND: the limits come from a fresh process rather than from process 1 after a fork,
because process 1 has threads (the relay's), and a forked copy of a threaded process may only
call what is safe after fork.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import resource
import select
import signal
import socket
import stat
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

# Framing shared with the host: a 4-byte header length, the header (JSON, with "blobs": the sizes
# of the raw byte strings that follow it), then the blobs.
MAX_HEADER_BYTES = 1024 * 1024
_LENGTH = struct.Struct(">I")

TICK_S = 0.02
DRAIN_SECONDS = 10.0
KILL_SECONDS = 5.0
MAX_FORWARDS = 64
TEMPORARY_DIRS = ("/tmp", "/dev/shm")

# <sys/mount.h>, <linux/prctl.h>, <linux/capability.h>
_CLONE_NEWNS = 0x00020000
_MS_NOSUID = 2
_MS_NODEV = 4
_PR_SET_DUMPABLE = 4
_PR_CAPBSET_DROP = 24
_PR_SET_NO_NEW_PRIVS = 38
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_CAPABILITY_VERSION_3 = 0x20080522


class ProtocolError(Exception):
    """The other end sent something that is not a message of ours."""


def send_message(sock: socket.socket, header: dict[str, Any], blobs: Sequence[bytes] = ()) -> None:
    head = json.dumps({**header, "blobs": [len(b) for b in blobs]}).encode()
    sock.sendall(_LENGTH.pack(len(head)) + head)
    for blob in blobs:
        sock.sendall(blob)


def recv_message(sock: socket.socket, max_blob: int) -> tuple[dict[str, Any], list[bytes]]:
    """One message; ``max_blob`` bounds what the other end can make this end hold."""
    (size,) = _LENGTH.unpack(_recv_exactly(sock, _LENGTH.size))
    if size > MAX_HEADER_BYTES:
        raise ProtocolError(f"header of {size} bytes")
    try:
        header = json.loads(_recv_exactly(sock, size))
        sizes = [int(n) for n in header.pop("blobs")]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ProtocolError(f"unreadable header: {error}") from error
    if any(n < 0 or n > max_blob for n in sizes):
        raise ProtocolError(f"blob sizes {sizes} over {max_blob}")
    return header, [_recv_exactly(sock, n) for n in sizes]


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(min(size - len(data), 1 << 20))
        if not chunk:
            raise EOFError("the other end closed the channel")
        data += chunk
    return bytes(data)


# --- the relay ---------------------------------------------------------------------------------


class Relay:
    """127.0.0.1:PORT inside, forwarded to the upload server's unix socket."""

    def __init__(self, port: int, upstream: str) -> None:
        self.upstream = upstream
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(64)
        self.listener.setblocking(False)  # select said ready, but the client may be gone by now
        self._changed = threading.Condition()
        self._idle_ticks = 0
        self._active = 0

    def start(self) -> Relay:
        threading.Thread(target=self._accept_forever, daemon=True).start()
        return self

    def settle(self, timeout: float) -> None:
        """Wait (within ``timeout``) until the backlog is empty and every connection has been
        forwarded: a command's last bytes may still be on their way when it exits. Called once
        its processes are dead, so no new connection can come."""
        with self._changed:
            seen = self._idle_ticks
            # An accept that timed out after this point saw an empty backlog.
            self._changed.wait_for(lambda: self._idle_ticks > seen and self._active == 0, timeout)

    def _accept_forever(self) -> None:
        while True:
            ready, _, _ = select.select([self.listener], [], [], TICK_S)
            if not ready:
                with self._changed:
                    self._idle_ticks += 1
                    self._changed.notify_all()
                continue
            try:
                client, _ = self.listener.accept()
            except OSError:  # e.g. out of file descriptors: the client waits in the backlog
                time.sleep(TICK_S)
                continue
            client.setblocking(True)
            with self._changed:
                if self._active >= MAX_FORWARDS:
                    client.close()
                    continue
                self._active += 1
            if not _start_thread(self._forward, client):
                client.close()
                self._finished()

    def _forward(self, client: socket.socket) -> None:
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(self.upstream)
            back = _start_thread(_pump, upstream, client)
            _pump(client, upstream)
            if back is not None:
                back.join(DRAIN_SECONDS)
        except OSError:
            pass
        finally:
            client.close()
            upstream.close()
            self._finished()

    def _finished(self) -> None:
        with self._changed:
            self._active -= 1
            self._changed.notify_all()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while True:
            chunk = source.recv(65536)
            if not chunk:
                break
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        # Half-close: the other direction (the server's answer) may still be under way.
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def _start_thread(target: Callable[..., None], *args: Any) -> threading.Thread | None:
    """A daemon thread, or None where none can be made (threads count against the process cap
    the command may have filled)."""
    thread = threading.Thread(target=target, args=args, daemon=True)
    try:
        thread.start()
    except RuntimeError:
        return None
    return thread


# --- setup: file systems and capabilities ------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def mount_tmpfs(target: str, size: int, inodes: int, mode: int) -> None:
    """A tmpfs whose size and number of files the kernel enforces on every write."""
    options = f"size={size},nr_inodes={inodes},mode={mode:o}".encode()
    flags = _MS_NOSUID | _MS_NODEV
    _check(_libc.mount(b"tmpfs", target.encode(), b"tmpfs", flags, options), f"mount {target}")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def drop_capabilities() -> None:
    """Give up, for this process and all it will start, the capabilities bwrap left for the
    mounts. Must run before any thread starts: capabilities belong to threads. An empty bounding
    set means no later exec can regain any, not even as uid 0."""
    _check(_libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient")
    with open("/proc/sys/kernel/cap_last_cap") as handle:
        last = int(handle.read())
    for cap in range(last + 1):
        _check(_libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0), f"drop capability {cap}")
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    # Non-dumpable: a command cannot ptrace process 1 or open its /proc files (fd, environ, mem).
    _check(_libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0), "dumpable")
    left = capabilities()
    if any(left.values()):
        raise OSError(errno.EPERM, f"capabilities remain after dropping them: {left}")


# A filter on the calls that act on another process by its id and that the kernel allows to any
# process of the same user: every command's processes run as process 1's user. Unfiltered, a
# command could lower process 1's limits for good (open files: every later command fails; CPU
# time: the kernel kills it) or starve it (SCHED_IDLE, nice 19, one CPU), and so end the sample
# as an error. A command may still set its own (pid 0, as ``ulimit``, ``nice`` and glibc's
# setrlimit do); naming itself by its pid is refused too. <linux/seccomp.h>, <linux/audit.h>.
_SECCOMP_SET_MODE_FILTER = 1
_RET_ALLOW = 0x7FFF0000
_RET_EPERM = 0x00050000 | errno.EPERM
# Per machine: the filter's architecture, then the calls' numbers. Other architectures, and the
# 32-bit and x32 calls of these (int 0x80), are refused outright.
_SYSCALLS = {
    "x86_64": (0xC000003E, {"setpriority": 141, "sched_setparam": 142,
               "sched_setscheduler": 144, "sched_setaffinity": 203, "ioprio_set": 251,
               "prlimit64": 302, "sched_setattr": 314}),
    "aarch64": (0xC00000B7, {"setpriority": 140, "sched_setparam": 118,
                "sched_setscheduler": 119, "sched_setaffinity": 122, "ioprio_set": 30,
                "prlimit64": 261, "sched_setattr": 274}),
}  # fmt: skip
_X32_SYSCALL_BIT = 0x40000000
_PRIO_PROCESS = 0
_IOPRIO_WHO_PROCESS = 1


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def seccomp_program(arch: int, numbers: dict[str, int]) -> list[tuple[int, int, int, int]]:
    """The classic BPF program (code, jt, jf, k) of the filter above."""
    load, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, JGE, BPF_RET|K

    def arg(n: int, high: bool = False) -> int:  # seccomp_data: nr, arch, ip, then args (LE)
        return 16 + 8 * n + (4 if high else 0)

    # Each check: (loads and tests; a test is (offset, value, on_equal, on_other)) in order.
    allow, deny = "allow", "deny"
    own = {"pid0": [(arg(0), 0, allow, deny)]}
    checks: dict[str, list[tuple[int, int, str, str]]] = {
        # Its own limits (pid 0), or only reading another's (no new limit).
        "prlimit64": [(arg(0), 0, allow, "next"), (arg(2), 0, "next", deny),
                      (arg(2, True), 0, allow, deny)],
        "setpriority": [(arg(0), _PRIO_PROCESS, "next", deny), (arg(1), 0, allow, deny)],
        "ioprio_set": [(arg(0), _IOPRIO_WHO_PROCESS, "next", deny), (arg(1), 0, allow, deny)],
        **{name: own["pid0"] for name in ("sched_setparam", "sched_setscheduler",
                                          "sched_setaffinity", "sched_setattr")},
    }  # fmt: skip
    # Layout: header, dispatch on the number, one block per check, then allow and deny.
    code: list[tuple[int, Any, Any, int]] = [
        (load, 0, 0, 4),
        (jeq, "n", deny, arch),
        (load, 0, 0, 0),
        (jge, deny, "n", _X32_SYSCALL_BIT),
    ]
    code += [(jeq, f"check:{name}", "n", numbers[name]) for name in checks]
    code.append((ret, 0, 0, _RET_ALLOW))
    labels: dict[str, int] = {}
    for name, tests in checks.items():
        labels[f"check:{name}"] = len(code)
        for offset, value, on_equal, on_other in tests:
            code.append((load, 0, 0, offset))
            code.append((jeq, on_equal, on_other, value))
    labels[allow] = len(code)
    code.append((ret, 0, 0, _RET_ALLOW))
    labels[deny] = len(code)
    code.append((ret, 0, 0, _RET_EPERM))

    def target(where: Any, at: int) -> int:
        if where in ("n", "next", 0):
            return 0
        offset = labels[where] - at - 1
        if not 0 <= offset < 256:
            raise ValueError(f"jump to {where} out of range")
        return offset

    return [(c, target(jt, i), target(jf, i), k) for i, (c, jt, jf, k) in enumerate(code)]


def restrict_syscalls() -> None:
    """Install the filter (after no_new_privs) for this process and every one it starts."""
    machine = os.uname().machine
    if machine not in _SYSCALLS:
        raise OSError(errno.ENOSYS, f"no system call filter for {machine}")
    program = seccomp_program(*_SYSCALLS[machine])
    filters = (_SockFilter * len(program))(*(_SockFilter(*i) for i in program))
    fprog = _SockFprog(len(program), filters)
    _libc.syscall.restype = ctypes.c_long
    seccomp = {"x86_64": 317, "aarch64": 277}[machine]
    result = _libc.syscall(
        ctypes.c_long(seccomp), ctypes.c_long(_SECCOMP_SET_MODE_FILTER), ctypes.c_long(0),
        ctypes.byref(fprog),
    )  # fmt: skip
    _check(0 if result == 0 else -1, "seccomp")


def capabilities(pid: str = "self") -> dict[str, int]:
    with open(f"/proc/{pid}/status") as handle:
        lines = [ln.split(":") for ln in handle if ln.startswith("Cap")]
    return {name: int(value, 16) for name, value in lines}


# --- commands ------------------------------------------------------------------------------------


class Tail:
    """The last ``limit`` bytes of a stream."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: deque[bytes] = deque()
        self.size = 0

    def add(self, chunk: bytes) -> None:
        self.chunks.append(chunk)
        self.size += len(chunk)
        while self.chunks and self.size - len(self.chunks[0]) >= self.limit:
            self.size -= len(self.chunks.popleft())

    def value(self) -> bytes:
        data = b"".join(self.chunks)
        return data[-self.limit :] if self.limit else b""


def _read_into(fd: int, tail: Tail) -> None:
    try:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            tail.add(chunk)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except OSError:  # the command exited without reading all of it
        pass
    finally:
        os.close(fd)


def reap() -> dict[int, int]:
    """Collect every child that has exited (process 1 inherits all orphans): pid -> status."""
    done: dict[int, int] = {}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return done
        if pid == 0:
            return done
        done[pid] = status


def count_tasks() -> int:
    """Processes and threads in the sandbox, this one's included: what RLIMIT_NPROC counts."""
    total = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError):
                total += len(os.listdir(f"/proc/{name}/task"))
    return total


def kill_all() -> None:
    """Kill every process but this one (a command's background processes, daemons included) and
    collect them. kill(-1) from process 1 reaches all others in the namespace; a zombie still
    counts as one, hence the loop until there is nothing left to signal."""
    deadline = time.monotonic() + KILL_SECONDS
    while time.monotonic() < deadline:
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            break
        reap()
        time.sleep(0.001)
    reap()


def usage(path: str) -> dict[str, Any]:
    info = os.statvfs(path)
    return {
        "path": path,
        "bytes_total": info.f_blocks * info.f_frsize,
        "bytes_free": info.f_bavail * info.f_frsize,
        "files_total": info.f_files,
        "files_free": info.f_ffree,
    }


# <sys/ipc.h>: the call that removes each kind of System V object, by its id.
_IPC_RMID = 0
_IPC_KINDS = {"shm": "shmctl", "msg": "msgctl", "sem": "semctl"}


def remove_ipc() -> None:
    """Remove the System V shared memory, message queues and semaphores a command left (the
    sandbox has an IPC namespace of its own, and they are ours): nothing caps what they hold,
    and they would outlast the command, as /tmp would."""
    for kind, call in _IPC_KINDS.items():
        try:
            with open(f"/proc/sysvipc/{kind}") as table:
                ids = [int(line.split()[1]) for line in list(table)[1:] if line.strip()]
        except OSError:
            continue
        for ident in ids:
            args = (ident, 0, _IPC_RMID) if kind == "sem" else (ident, _IPC_RMID, None)
            getattr(_libc, call)(*args)


_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def empty_dir(path: str) -> None:
    """Remove everything under ``path``. No recursion and no long paths: a command can nest
    directories as deep as the file count allows (past Python's recursion limit and PATH_MAX),
    and make any of them unreadable (chmod 0; we are their owner, but without capabilities)."""
    with contextlib.suppress(OSError):
        os.chmod(path, 0o1777)
    try:
        fd = os.open(path, _DIRECTORY)
    except OSError:
        return
    # The directories entered below ``path``, each with its subdirectories still to remove.
    stack: list[tuple[str, list[str]]] = []
    try:
        pending = _clear_files(fd)
        while True:
            if pending:
                name = pending.pop()
                with contextlib.suppress(OSError):
                    os.chmod(name, 0o700, dir_fd=fd)
                try:
                    inner = os.open(name, _DIRECTORY, dir_fd=fd)
                except OSError:
                    continue
                stack.append((name, pending))
                os.close(fd)
                fd, pending = inner, _clear_files(inner)
                continue
            if not stack:
                return
            parent = os.open("..", _DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = parent
            name, pending = stack.pop()
            with contextlib.suppress(OSError):
                os.rmdir(name, dir_fd=fd)
    except OSError:
        return
    finally:
        os.close(fd)


def _clear_files(fd: int) -> list[str]:
    """Unlink what the directory ``fd`` holds but its subdirectories; return their names."""
    directories = []
    with contextlib.suppress(OSError), os.scandir(fd) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                directories.append(entry.name)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(entry.name, dir_fd=fd)
    return directories


class Sandbox:
    """Process 1's state: the setup it was given and the relay it runs."""

    def __init__(self, setup: dict[str, Any]) -> None:
        self.setup = setup
        self.python = sys.executable
        self.here = os.path.abspath(__file__)
        self.relay: Relay | None = None

    def prepare(self) -> None:
        # bwrap's --disable-userns leaves us in a user namespace nested in the one that owns the
        # mounts; a mount namespace of our own (owned by ours) is where we may mount. The mounts
        # copied into it are locked: no one here can unmount or remount them.
        _check(_libc.unshare(_CLONE_NEWNS), "unshare the mount namespace")
        for mount in self.setup["mounts"]:
            mount_tmpfs(mount["path"], mount["bytes"], mount["files"], int(mount["mode"], 8))
        drop_capabilities()
        restrict_syscalls()  # before any thread: a filter covers the threads that follow it
        self.relay = Relay(int(self.setup["port"]), self.setup["upstream"]).start()

    def execute(self, request: dict[str, Any], data: bytes) -> tuple[dict[str, Any], list[bytes]]:
        limit = int(request["output_limit"])
        spec = {"cwd": request["cwd"], "rlimits": self.setup["rlimits"]}
        argv = [self.python, "-I", "-S", self.here, "limits", json.dumps(spec), "--"]
        argv += [str(a) for a in request["argv"]]
        env = {str(k): str(v) for k, v in request["env"].items()}
        before = [usage(m["path"]) for m in self.setup["mounts"]]
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        if data:
            in_r, in_w = os.pipe()
        else:
            in_r, in_w = os.open(os.devnull, os.O_RDONLY), -1
        actions = [
            (os.POSIX_SPAWN_DUP2, in_r, 0),
            (os.POSIX_SPAWN_DUP2, out_w, 1),
            (os.POSIX_SPAWN_DUP2, err_w, 2),
        ]
        try:
            pid = os.posix_spawn(self.python, argv, env, file_actions=actions, setsid=True)
        except OSError:
            for fd in (out_r, err_r, in_w):
                if fd >= 0:
                    os.close(fd)
            raise
        finally:
            for fd in (in_r, out_w, err_w):
                os.close(fd)
        stdout, stderr = Tail(limit), Tail(limit)
        helpers = [
            threading.Thread(target=_read_into, args=(out_r, stdout), daemon=True),
            threading.Thread(target=_read_into, args=(err_r, stderr), daemon=True),
        ]
        if in_w >= 0:
            helpers.append(threading.Thread(target=_write_all, args=(in_w, data), daemon=True))
        for helper in helpers:
            helper.start()
        timeout = request.get("timeout")
        status, tasks = self._wait(pid, None if timeout is None else float(timeout))
        kill_all()
        for helper in helpers:
            helper.join(KILL_SECONDS)
        if self.relay is not None:
            self.relay.settle(DRAIN_SECONDS)
        mounts = [usage(m["path"]) for m in self.setup["mounts"]]
        for path in TEMPORARY_DIRS:
            empty_dir(path)
        remove_ipc()
        reply = {
            "timed_out": status is None,
            "returncode": _returncode(status),
            "tasks": tasks,
            "mounts_before": before,
            "mounts": mounts,
        }
        return reply, [stdout.value(), stderr.value()]

    def _wait(self, pid: int, timeout: float | None) -> tuple[int | None, int]:
        """The command's status (None when it ran out of time) and the tasks alive as it ended.
        Orphans are collected all along: a zombie counts against the process cap."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
        try:
            while True:
                done = reap()
                if pid in done:
                    return done[pid], count_tasks() + 1
                wait = TICK_S
                if deadline is not None:
                    wait = min(wait, deadline - time.monotonic())
                    if wait <= 0:
                        return None, count_tasks()
                if pidfd is not None:
                    select.select([pidfd], [], [], wait)
                else:
                    time.sleep(wait)
        finally:
            if pidfd is not None:
                os.close(pidfd)

    def read(self, request: dict[str, Any]) -> tuple[dict[str, Any], list[bytes]]:
        path = self._resolve(str(request["path"]))
        with _open_regular(path, os.O_RDONLY) as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > int(request["limit"]):
                return {"error": "too_large", "message": f"{size} bytes"}, []
            return {"ok": True}, [handle.read(int(request["limit"]) + 1)]

    def write(self, request: dict[str, Any], data: bytes) -> tuple[dict[str, Any], list[bytes]]:
        path = self._resolve(str(request["path"]))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with _open_regular(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC) as handle:
            handle.write(data)
        return {"ok": True}, []

    def _resolve(self, path: str) -> str:
        """``path`` if it leads (links followed, here inside) to somewhere under the workspace."""
        workspace = self.setup["workspace"]
        resolved = os.path.realpath(os.path.join(workspace, path))
        if resolved != workspace and not resolved.startswith(workspace + "/"):
            raise PermissionError(errno.EACCES, f"{path}: leads outside {workspace}")
        return resolved


def _open_regular(path: str, flags: int) -> Any:
    """``path`` opened, if it is a regular file: never blocks (a FIFO a command made would hold
    process 1, and the host with it, forever), never follows a last link (resolved already)."""
    fd = os.open(path, flags | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        code = errno.EISDIR if stat.S_ISDIR(info.st_mode) else errno.EINVAL
        raise OSError(code, f"{os.strerror(code)}: not a regular file", path)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb" if flags == os.O_RDONLY else "wb")


def _returncode(status: int | None) -> int:
    if status is None:
        return -1
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _answer(
    sandbox: Sandbox, header: dict[str, Any], blobs: list[bytes]
) -> tuple[dict[str, Any], list[bytes]]:
    op = header.get("op")
    try:
        if op == "exec":
            return sandbox.execute(header, blobs[0] if blobs else b"")
        if op == "read":
            return sandbox.read(header)
        if op == "write":
            return sandbox.write(header, blobs[0] if blobs else b"")
    except PermissionError as error:
        return {"error": "permission", "message": str(error)}, []
    except OSError as error:
        reply = {"error": "os", "errno": error.errno, "message": error.strerror or str(error)}
        return {**reply, "filename": error.filename}, []
    except Exception as error:  # a bug of ours: say so, and keep serving the sample
        return {"error": "internal", "message": f"{type(error).__name__}: {error}"}, []
    return {"error": "protocol", "message": f"unknown request {op!r}"}, []


def serve(fd: int) -> int:
    # Process 1 gets only the signals it has handlers for: keep none, so commands cannot stop it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    # The channel came through exec, so inheritable: a command holding it could answer the host
    # in process 1's place.
    os.set_inheritable(fd, False)
    channel = socket.socket(fileno=fd)
    with contextlib.suppress(OSError):
        os.closerange(3, fd)  # what bwrap was handed to copy into the sandbox
        os.closerange(fd + 1, 1 << 16)
    setup, _ = recv_message(channel, 0)
    sandbox = Sandbox(setup)
    try:
        sandbox.prepare()
    except OSError as error:
        send_message(channel, {"error": "setup", "message": str(error)})
        return 1
    send_message(channel, {"ready": True, "capabilities": capabilities()})
    max_blob = int(setup["max_request_bytes"])
    while True:
        try:
            header, blobs = recv_message(channel, max_blob)
        except (EOFError, OSError, ProtocolError):
            return 0
        reply, out = _answer(sandbox, header, blobs)
        send_message(channel, reply, out)


def limits(spec_text: str, argv: list[str]) -> int:
    spec = json.loads(spec_text)
    for name, value in spec["rlimits"].items():
        kind = getattr(resource, name)
        _, hard = resource.getrlimit(kind)
        value = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
        resource.setrlimit(kind, (value, value))
    # Python ignores these two; ignored signals would stay ignored in the command.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    os.closerange(3, 1 << 16)  # process 1's descriptors are not inheritable; none other either
    try:
        os.chdir(spec["cwd"])
    except OSError as error:
        print(f"aflab sandbox: cannot enter {spec['cwd']}: {error.strerror}", file=sys.stderr)
        return 1
    try:
        os.execvpe(argv[0], argv, os.environ)
    except OSError as error:
        print(f"{argv[0]}: {error.strerror}", file=sys.stderr)
        return 127 if isinstance(error, FileNotFoundError) else 126


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "serve":
        return serve(int(argv[1]))
    if len(argv) >= 4 and argv[0] == "limits" and argv[2] == "--":
        return limits(argv[1], argv[3:])
    print("usage: inside.py serve FD | inside.py limits SPEC -- COMMAND...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
