"""An HTTP API on 127.0.0.1 for checking the exact requests a provider sends."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """What the fake answers: a body, its status and content type."""

    body: bytes
    status: int = 200
    content_type: str = "application/json"


def json_reply(data: Any) -> Reply:
    return Reply(json.dumps(data).encode())


class LoopbackAPI:
    """Records every POST (path and JSON body) and answers ``route`` with ``respond(body)``.

    Use as a context manager; ``url`` is the server's address while it runs. A fake that serves
    more than one JSON POST (GET, uploads, files) overrides :meth:`handle` instead.
    """

    route = "/"

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.lock = threading.Lock()
        self.url = ""

    def respond(self, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply | None:
        """The reply to one request (None: 404). Here: a JSON POST to ``route``."""
        if method != "POST":
            return None
        data = json.loads(body)
        with self.lock:
            self.paths.append(path)
            self.requests.append(data)
        if path.split("?")[0] != self.route:
            return None
        return json_reply(self.respond(data))

    def __enter__(self) -> LoopbackAPI:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                self.answer("GET")

            def do_POST(self) -> None:  # noqa: N802
                self.answer("POST")

            def answer(self, method: str) -> None:
                body = self.read_body()
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = api.handle(method, self.path, headers, body)
                if reply is None:
                    self.send_error(404)
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                    return self.rfile.read(int(self.headers.get("Content-Length") or 0))
                chunks = []  # an upload of unknown length (a streamed file)
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def chat_completion(
    model: str, contents: list[str], request: int, tokens: tuple[int, int] = (10, 5)
) -> dict[str, Any]:
    """An OpenAI chat-completions reply with one choice per content (``request``: its number)."""
    return {
        "id": f"chatcmpl-{request}",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {"index": i, "message": {"role": "assistant", "content": c}, "finish_reason": "stop"}
            for i, c in enumerate(contents)
        ],
        "usage": {
            "prompt_tokens": tokens[0],
            "completion_tokens": tokens[1],
            "total_tokens": sum(tokens),
        },
    }


def anthropic_message(model: str, text: str, request: int) -> dict[str, Any]:
    """An Anthropic Messages API reply holding ``text`` (``request``: its number)."""
    return {
        "id": f"msg_{request}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }
