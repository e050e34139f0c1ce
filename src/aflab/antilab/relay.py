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

FILE_SIZE_LIMIT = 256 * 1024 * 1024
MEMORY_LIMIT = 4 * 1024 * 1024 * 1024


def pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        for side in (source, sink):
            with contextlib.suppress(OSError):
                side.shutdown(socket.SHUT_RDWR)


def forward(client: socket.socket, path: str) -> None:
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(path)
    except OSError:
        client.close()
        return
    threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
    pump(client, upstream)


def serve(listener: socket.socket, path: str) -> None:
    while True:
        client, _ = listener.accept()
        threading.Thread(target=forward, args=(client, path), daemon=True).start()


def main(argv: list[str]) -> int:
    path, port, separator, *command = argv
    if separator != "--" or not command:
        print("usage: relay.py SOCKET PORT -- COMMAND...", file=sys.stderr)
        return 2
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(port)))
    listener.listen(16)
    threading.Thread(target=serve, args=(listener, path), daemon=True).start()
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    status = subprocess.call(command)
    sys.stdout.flush()
    # os._exit: the forwarding threads must not keep the sandbox alive once the command is done.
    os._exit(status if status >= 0 else 128 - status)


if __name__ == "__main__":
    main(sys.argv[1:])
