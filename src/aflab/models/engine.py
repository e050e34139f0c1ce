"""llama.cpp in-process, through the prebuilt portable ``xllamacpp`` wheel.

One :class:`Engine` per GGUF file per process (Inspect may build a provider more than once). It
serves requests from several threads at once: llama.cpp's server loop batches the slots
(continuous batching) and reuses each slot's longest prompt prefix. A long system prompt is
evaluated once and copied into every slot (slot save/restore), so that N slots do not each pay
for it cold.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import secrets
import shutil
import tempfile
import threading
import urllib.request
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from aflab.core.errors import UsageError
from aflab.models.cpu import check_cpu

ENGINE_PACKAGE = "xllamacpp"
INSTALL_HINT = "pip install 'aflab[embedded]' (a prebuilt wheel, no compile)"
# SmolLM2's training context; a slot never holds more.
SLOT_CONTEXT = 8192
DEFAULT_SLOTS = 4
# Below this many characters a system prompt costs less to evaluate than to copy around.
PRIME_MIN_CHARS = 2000


@dataclass
class Engine:
    path: Path
    slots: int
    server: Any
    base_url: str
    api_key: str
    save_dir: Path
    primed: set[str] = field(default_factory=set)
    prime_lock: threading.Lock = field(default_factory=threading.Lock)

    def chat(self, request: dict[str, Any]) -> dict[str, Any]:
        """An OpenAI-style chat completion; blocks this thread only (the GIL is released)."""
        self._prime(request["messages"])
        return dict(self.server.handle_chat_completions(request))

    def tokenize(self, text: str) -> list[int]:
        reply = self._post("/tokenize", {"content": text, "add_special": False})
        return list(reply["tokens"])

    def close(self) -> None:
        self.server = None  # the server's destructor stops its threads
        shutil.rmtree(self.save_dir, ignore_errors=True)

    def _prime(self, messages: list[dict[str, Any]]) -> None:
        """Evaluate a new long system prompt once, in slot 0, and copy it into the other slots.

        Without this, N concurrent first requests evaluate the same prefix N times."""
        if self.slots < 2 or not messages or messages[0]["role"] != "system":
            return
        system = messages[0]["content"]
        if len(system) < PRIME_MIN_CHARS:
            return
        key = hashlib.sha256(system.encode()).hexdigest()[:32]
        if key in self.primed:
            return
        with self.prime_lock:
            if key in self.primed:
                return
            prime = {"messages": [messages[0]], "max_tokens": 1, "id_slot": 0, "temperature": 0}
            self.server.handle_chat_completions(prime)
            name = f"{key}.bin"
            self._post("/slots/0?action=save", {"filename": name})
            for slot in range(1, self.slots):
                # A busy slot keeps its own prompt; it evaluates this one when it needs it.
                with contextlib.suppress(OSError):
                    self._post(f"/slots/{slot}?action=restore", {"filename": name})
            (self.save_dir / name).unlink(missing_ok=True)  # tens of MB per prompt
            self.primed.add(key)

    def _post(self, route: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self.base_url + route,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"},
        )
        with _LOOPBACK.open(request, timeout=600) as response:
            return dict(json.loads(response.read()))


# The engine's own loopback port: never through a proxy that the environment may name.
_LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))


_engines: dict[tuple[str, int], Engine] = {}
_guard = threading.Lock()


def engine_for(path: Path, slots: int = DEFAULT_SLOTS) -> Engine:
    """The process's engine for ``path`` with ``slots`` parallel slots, started on first use."""
    key = (str(path), slots)
    with _guard:
        if key not in _engines:
            _engines[key] = _start(path, slots)
        return _engines[key]


def system_info() -> str:
    import xllamacpp

    return str(xllamacpp.get_system_info())


def _start(path: Path, slots: int) -> Engine:
    try:
        import xllamacpp
    except ImportError as error:
        raise UsageError(f"the embedded engine is not installed: {INSTALL_HINT}") from error
    check_cpu(system_info(), f"{ENGINE_PACKAGE}=={version(ENGINE_PACKAGE)}")
    save_dir = Path(tempfile.mkdtemp(prefix="aflab-slots-"))
    api_key = secrets.token_hex(16)
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.n_parallel = slots
    # A unified KV cache would let slots share cells, but a slot restored into it loses its
    # prefix when another slot is busy (measured): one 8k context per slot instead.
    params.kv_unified = False
    params.n_ctx = SLOT_CONTEXT * slots
    params.warmup = False
    params.verbosity = -1
    # llama.cpp also listens on HTTP (for slot save/restore and tokenize): loopback, a free
    # port, and a key only this process knows.
    params.port = 0
    params.api_keys = [api_key]
    params.slot_save_path = str(save_dir)
    try:
        server = xllamacpp.Server(params)
    except Exception as error:  # noqa: BLE001 (the engine raises plain RuntimeErrors)
        shutil.rmtree(save_dir, ignore_errors=True)
        raise UsageError(f"{path}: llama.cpp could not load this model: {error}") from error
    return Engine(path, slots, server, server.listening_address, api_key, save_dir)


@atexit.register
def _close_engines() -> None:
    for engine in _engines.values():
        engine.close()
    _engines.clear()
