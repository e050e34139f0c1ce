"""A JSON API on 127.0.0.1 for checking the exact requests a provider sends."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LoopbackAPI:
    """Records every POST (path and JSON body) and answers ``route`` with ``respond(body)``.

    Use as a context manager; ``url`` is the server's address while it runs.
    """

    route = "/"

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.lock = threading.Lock()
        self.url = ""

    def respond(self, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def __enter__(self) -> LoopbackAPI:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with api.lock:
                    api.paths.append(self.path)
                    api.requests.append(body)
                if self.path.split("?")[0] != api.route:
                    self.send_error(404)
                    return
                data = json.dumps(api.respond(body)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

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
