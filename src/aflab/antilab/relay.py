"""Runs inside the sandbox as the first process of every command (standard library only).

The sandbox has a network namespace of its own, with nothing but loopback. This relay listens on
the sandbox's 127.0.0.1:PORT and forwards each connection to the task's upload server through a
unix socket bound into the sandbox, so tools inside (curl, python, the ``upload`` command) reach
that server and nothing else. Then it runs the command, with limits, and exits with its status.

Usage: python3 relay.py SOCKET PORT -- COMMAND...
"""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import subprocess
import sys
import threading
import time

FILE_SIZE_LIMIT = 256 * 1024 * 1024
MEMORY_LIMIT = 4 * 1024 * 1024 * 1024
DRAIN_SECONDS = 10.0
ACCEPT_POLL_S = 0.05


def pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        # Half-close: the other direction (the server's answer) may still be under way.
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def forward(client: socket.socket, path: str) -> None:
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(path)
    except OSError:
        client.close()
        return
    threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
    pump(client, upstream)


def serve(
    listener: socket.socket, path: str, workers: list[threading.Thread], done: threading.Event
) -> None:
    """Accept until the command is done and the backlog is empty."""
    listener.settimeout(ACCEPT_POLL_S)
    while True:
        try:
            client, _ = listener.accept()
        except TimeoutError:
            if done.is_set():
                return
            continue
        client.settimeout(None)
        worker = threading.Thread(target=forward, args=(client, path), daemon=True)
        worker.start()
        workers.append(worker)


def main(argv: list[str]) -> int:
    path, port, separator, *command = argv
    if separator != "--" or not command:
        print("usage: relay.py SOCKET PORT -- COMMAND...", file=sys.stderr)
        return 2
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(port)))
    listener.listen(16)
    workers: list[threading.Thread] = []
    done = threading.Event()
    acceptor = threading.Thread(target=serve, args=(listener, path, workers, done), daemon=True)
    acceptor.start()
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    status = subprocess.call(command)
    # Bytes a command wrote to a socket just before it exited may still be on their way to the
    # server: accept what is left in the backlog, then let each connection finish (within a
    # bound) before the sandbox goes.
    done.set()
    acceptor.join()
    listener.close()
    deadline = time.monotonic() + DRAIN_SECONDS
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.stdout.flush()
    # os._exit: forwarding threads still stuck past the deadline must not keep the sandbox alive.
    os._exit(main(sys.argv[1:]))
