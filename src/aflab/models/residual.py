"""The residual stream of a Hugging Face causal LM: read it, or add a vector to it, at the output
of chosen decoder blocks, through forward hooks.

"Layer i" is the output of decoder block i (0-based): the residual stream after i + 1 blocks,
what ``output_hidden_states`` calls ``hidden_states[i + 1]``. Hooks run on whatever device the
block sits on, so a model spread over GPUs (``device_map="auto"``) works as one on a CPU does.
torch is imported by the callers' models; nothing here loads it at import time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from aflab.core.errors import UsageError


def _text_config(model: Any) -> Any:
    config = model.config
    return config.get_text_config() if hasattr(config, "get_text_config") else config


def block_count(model: Any) -> int:
    return int(_text_config(model).num_hidden_layers)


def residual_width(model: Any) -> int:
    return int(_text_config(model).hidden_size)


def decoder_blocks(model: Any) -> Any:
    """The model's list of decoder blocks: the ``ModuleList`` as long as its layer count (Llama's
    ``model.layers``, GPT-2's ``transformer.h``, GPT-NeoX's ``gpt_neox.layers``...)."""
    import torch

    count = block_count(model)
    found = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.ModuleList) and len(module) == count
    ]
    if not found:
        raise UsageError(f"{type(model).__name__}: no list of {count} decoder blocks found")
    return min(found, key=lambda item: item[0].count("."))[1]


def check_layers(model: Any, layers: Sequence[int]) -> list[int]:
    count = block_count(model)
    bad = [layer for layer in layers if not 0 <= layer < count]
    if bad:
        raise UsageError(f"layers {bad} out of range: the model has layers 0 to {count - 1}")
    return sorted(set(layers))


def _hidden(output: Any) -> Any:
    return output[0] if isinstance(output, tuple) else output


class Enough(Exception):
    """Raised by :func:`reading` with ``stop=True`` once the last wanted layer is read."""


@contextmanager
def reading(
    model: Any, layers: Sequence[int], reduce: Callable[[Any], Any], stop: bool = False
) -> Iterator[dict[int, Any]]:
    """While open, each forward pass stores ``reduce(hidden)`` of every layer in ``layers`` in the
    yielded dict (layer -> value); ``hidden`` is batch x tokens x width. Reducing inside the hook
    keeps memory to what is kept, not to every token of every layer. ``stop``: the pass ends
    with :class:`Enough` after the last of ``layers`` (the blocks above it and the head never
    run: reading layer 4 of 80 costs 5 blocks)."""
    blocks = decoder_blocks(model)
    seen: dict[int, Any] = {}
    handles = []
    wanted = check_layers(model, layers)
    for layer in wanted:

        def hook(_module: Any, _inputs: Any, output: Any, layer: int = layer) -> None:
            seen[layer] = reduce(_hidden(output))
            if stop and layer == wanted[-1]:
                raise Enough

        handles.append(blocks[layer].register_forward_hook(hook))
    try:
        yield seen
    finally:
        for handle in handles:
            handle.remove()


def add_to_layer(model: Any, layer: int, vector: Any) -> Any:
    """Add ``vector`` (width) to the residual stream at the output of block ``layer``, at every
    position of every forward pass, until the returned handle's ``remove()``."""
    block = decoder_blocks(model)[check_layers(model, [layer])[0]]
    cache: dict[tuple[Any, Any], Any] = {}

    def hook(_module: Any, _inputs: Any, output: Any) -> Any:
        hidden = _hidden(output)
        where = (hidden.device, hidden.dtype)
        if where not in cache:
            cache[where] = vector.to(device=hidden.device, dtype=hidden.dtype)
        steered = hidden + cache[where]
        return (steered, *output[1:]) if isinstance(output, tuple) else steered

    return block.register_forward_hook(hook)
