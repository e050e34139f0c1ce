"""Loopback fakes of the Anthropic and OpenAI APIs with their batch endpoints.

Each fake serves the provider's plain endpoint and its batch API as the real one answers (the
minimal JSON that the SDK's models read), records every call, and answers every request, plain or
batched, with ``script(body)``: the assistant texts for one request body (one per choice).
A batch is "in progress" at its first poll and ended at the next, so the batcher polls twice.

- :class:`FakeAnthropic`: ``POST /v1/messages``; ``POST /v1/messages/batches``,
  ``GET /v1/messages/batches/{id}``, ``GET /v1/messages/batches/{id}/results`` (JSONL).
- :class:`FakeOpenAI`: ``POST /v1/chat/completions``; ``POST /v1/files`` (multipart upload of
  the JSONL input), ``POST /v1/batches``, ``GET /v1/batches/{id}``,
  ``GET /v1/files/{id}/content`` (the JSONL output).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from tests.loopback import LoopbackAPI, Reply, anthropic_message, chat_completion, json_reply

Script = Callable[[dict[str, Any]], list[str]]
Failure = Callable[[dict[str, Any]], "str | None"]
CREATED = "2024-06-20T00:00:00Z"
EXPIRES = "2024-06-21T00:00:00Z"
NOT_FOUND = Reply(b'{"error": {"type": "not_found_error", "message": "no such thing"}}', 404)


@dataclass(frozen=True)
class Call:
    """One request the fake received: method, path (query left off) and raw body."""

    method: str
    path: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeBatch:
    """A submitted batch: its requests by custom id, how often it was polled, its results (by
    custom id, made at its second poll) and, for OpenAI, its files and endpoint."""

    id: str
    requests: dict[str, dict[str, Any]]
    polls: int = 0
    results: dict[str, dict[str, Any]] | None = None
    files: dict[str, str] = field(default_factory=dict)


class FakeBatchAPI(LoopbackAPI):
    """Routes each request by method and path pattern; records every call in ``calls``."""

    plain_route = ""
    batch_prefixes: tuple[str, ...] = ()

    def __init__(self, script: Script) -> None:
        super().__init__()
        self.script = script
        self.calls: list[Call] = []
        self.batches: dict[str, FakeBatch] = {}
        self.served = 0

    def routes(self) -> list[tuple[str, str, Callable[..., Reply]]]:
        raise NotImplementedError

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply | None:
        path = path.split("?")[0]
        with self.lock:
            self.calls.append(Call(method, path, body))
            for verb, pattern, answer in self.routes():
                found = re.fullmatch(pattern, path)
                if verb == method and found:
                    return answer(body, headers, *found.groups())
        return NOT_FOUND

    def replies(self, body: dict[str, Any]) -> list[str]:
        self.served += 1
        return self.script(body)

    def poll(self, batch: FakeBatch) -> None:
        """In progress at the first poll; at the second the batch ends and its results exist."""
        batch.polls += 1
        if batch.polls > 1 and batch.results is None:
            batch.results = {cid: self.result(request) for cid, request in batch.requests.items()}

    def result(self, request: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    # What the tests read.

    def plain_calls(self) -> list[Call]:
        return [c for c in self.calls if c.path == self.plain_route]

    def batch_calls(self) -> list[Call]:
        return [c for c in self.calls if c.path.startswith(self.batch_prefixes)]

    def batched_requests(self) -> list[dict[str, Any]]:
        """Every request body sent inside a batch, in order of submission."""
        return [r for batch in self.batches.values() for r in batch.requests.values()]


class FakeAnthropic(FakeBatchAPI):
    """``fail(params)``: the message of a request that fails as an invalid request (HTTP 400,
    or an errored result in a batch), or None."""

    plain_route = "/v1/messages"
    batch_prefixes = ("/v1/messages/batches",)

    def __init__(self, script: Script) -> None:
        super().__init__(script)
        self.fail: Failure = lambda params: None

    def routes(self) -> list[tuple[str, str, Callable[..., Reply]]]:
        return [
            ("POST", "/v1/messages", self.message),
            ("POST", "/v1/messages/batches", self.create),
            ("GET", r"/v1/messages/batches/([\w-]+)", self.retrieve),
            ("GET", r"/v1/messages/batches/([\w-]+)/results", self.results),
        ]

    def answer(self, params: dict[str, Any]) -> dict[str, Any]:
        [text] = self.replies(params)
        return anthropic_message(params["model"], text, self.served)

    def message(self, body: bytes, headers: dict[str, str]) -> Reply:
        params = json.loads(body)
        if error := self.fail(params):
            return Reply(json.dumps(anthropic_error(error)).encode(), status=400)
        return json_reply(self.answer(params))

    def create(self, body: bytes, headers: dict[str, str]) -> Reply:
        requests = {r["custom_id"]: r["params"] for r in json.loads(body)["requests"]}
        batch = FakeBatch(f"msgbatch_{len(self.batches) + 1:02d}", requests)
        self.batches[batch.id] = batch
        return json_reply(self.batch_object(batch))

    def retrieve(self, body: bytes, headers: dict[str, str], batch_id: str) -> Reply:
        if batch_id not in self.batches:
            return NOT_FOUND
        self.poll(self.batches[batch_id])
        return json_reply(self.batch_object(self.batches[batch_id]))

    def result(self, params: dict[str, Any]) -> dict[str, Any]:
        if error := self.fail(params):
            return {"type": "errored", "error": anthropic_error(error)}
        return {"type": "succeeded", "message": self.answer(params)}

    def results(self, body: bytes, headers: dict[str, str], batch_id: str) -> Reply:
        batch = self.batches.get(batch_id)
        if batch is None or batch.results is None:
            return NOT_FOUND
        lines = [{"custom_id": cid, "result": result} for cid, result in batch.results.items()]
        text = "".join(json.dumps(line) + "\n" for line in lines)
        return Reply(text.encode(), content_type="application/binary")

    def batch_object(self, batch: FakeBatch) -> dict[str, Any]:
        """A MessageBatch: in progress until its results exist, then ended with a results URL."""
        results = batch.results
        ended = results is not None
        outcomes = [r["type"] for r in (results or {}).values()]
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": {
                "processing": 0 if ended else len(batch.requests),
                "succeeded": outcomes.count("succeeded"),
                "errored": outcomes.count("errored"),
                "canceled": 0,
                "expired": 0,
            },
            "created_at": CREATED,
            "expires_at": EXPIRES,
            "ended_at": CREATED if ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{self.url}/v1/messages/batches/{batch.id}/results" if ended else None,
        }


def anthropic_error(message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": "invalid_request_error", "message": message}}


class FakeOpenAI(FakeBatchAPI):
    plain_route = "/v1/chat/completions"
    batch_prefixes = ("/v1/batches", "/v1/files")

    def __init__(self, script: Script) -> None:
        super().__init__(script)
        self.files: dict[str, bytes] = {}
        self.uploads: list[dict[str, str]] = []  # each upload's form fields, the file apart

    def routes(self) -> list[tuple[str, str, Callable[..., Reply]]]:
        return [
            ("POST", "/v1/chat/completions", self.completion),
            ("POST", "/v1/files", self.upload),
            ("POST", "/v1/batches", self.create),
            ("GET", r"/v1/batches/([\w-]+)", self.retrieve),
            ("GET", r"/v1/files/([\w-]+)/content", self.content),
        ]

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        return chat_completion(request["model"], self.replies(request), self.served)

    def completion(self, body: bytes, headers: dict[str, str]) -> Reply:
        return json_reply(self.answer(json.loads(body)))

    def upload(self, body: bytes, headers: dict[str, str]) -> Reply:
        fields, content, filename = multipart(body, headers["content-type"])
        self.uploads.append(fields)
        file_id = f"file-in-{len(self.uploads):02d}"
        self.files[file_id] = content
        return json_reply(self.file_object(file_id, filename, "batch"))

    def create(self, body: bytes, headers: dict[str, str]) -> Reply:
        data = json.loads(body)
        lines = [json.loads(line) for line in self.files[data["input_file_id"]].splitlines()]
        assert all(line["url"] == data["endpoint"] for line in lines), lines
        assert all(line["method"] == "POST" for line in lines), lines
        requests = {line["custom_id"]: line["body"] for line in lines}
        batch = FakeBatch(f"batch_{len(self.batches) + 1:02d}", requests)
        batch.files = {"input": data["input_file_id"], "endpoint": data["endpoint"]}
        self.batches[batch.id] = batch
        return json_reply(self.batch_object(batch))

    def retrieve(self, body: bytes, headers: dict[str, str], batch_id: str) -> Reply:
        batch = self.batches.get(batch_id)
        if batch is None:
            return NOT_FOUND
        self.poll(batch)
        if batch.results is not None and "output" not in batch.files:
            lines = [
                {"id": f"batch_req_{i}", "custom_id": cid, "response": result, "error": None}
                for i, (cid, result) in enumerate(batch.results.items())
            ]
            batch.files["output"] = f"file-out-{batch.id}"
            self.files[batch.files["output"]] = b"".join(
                json.dumps(line).encode() + b"\n" for line in lines
            )
        return json_reply(self.batch_object(batch))

    def result(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"status_code": 200, "request_id": "req_1", "body": self.answer(request)}

    def content(self, body: bytes, headers: dict[str, str], file_id: str) -> Reply:
        if file_id not in self.files:
            return NOT_FOUND
        return Reply(self.files[file_id], content_type="application/octet-stream")

    def batch_object(self, batch: FakeBatch) -> dict[str, Any]:
        """A Batch: in progress until its output file exists, then completed."""
        output = batch.files.get("output")
        n = len(batch.requests)
        return {
            "id": batch.id,
            "object": "batch",
            "endpoint": batch.files["endpoint"],
            "input_file_id": batch.files["input"],
            "completion_window": "24h",
            "status": "completed" if output else "in_progress",
            "created_at": 1718841600,
            "output_file_id": output,
            "error_file_id": None,
            "request_counts": {"total": n, "completed": n if output else 0, "failed": 0},
        }

    def file_object(self, file_id: str, filename: str, purpose: str) -> dict[str, Any]:
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(self.files[file_id]),
            "created_at": 1718841600,
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
        }


def multipart(body: bytes, content_type: str) -> tuple[dict[str, str], bytes, str]:
    """The text fields, the file's bytes and the file's name of a multipart/form-data body."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, str] = {}
    content, filename = b"", ""
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if part.get_filename() is not None:
            content, filename = payload, part.get_filename()
        else:
            fields[str(name)] = payload.decode()
    return fields, content, filename
