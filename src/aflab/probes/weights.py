"""Which weights a probe command loads for the ``--model`` a user gives."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aflab.core.errors import UsageError


def weights_path(model: str, providers: Sequence[str] | None = None) -> str:
    """What transformers loads for ``model``: ``hf/PATH`` and a folder as themselves (absolute),
    smollm2 as the embedded model's converted folder, anything else as a hub id; an API model
    (``openai/...``, any provider Inspect knows) is refused: probes and steering need weights."""
    from aflab.organisms.train.base import is_embedded, resolve_base

    if is_embedded(model):
        return resolve_base(model)
    name = model.removeprefix("hf/")
    if Path(name).is_dir():
        return str(Path(name).resolve())
    provider, slash, _ = model.partition("/")
    if provider == "hf":
        return name
    if providers is None:
        from aflab.llm.providers import model_providers

        providers = model_providers()
    if slash and provider in providers:
        raise UsageError(
            f"--model {model}: probes read and steering changes the model's insides, so they need "
            "the weights "
            f"(hf/PATH, a model folder, a Hugging Face id or smollm2); {provider}/ is not loaded "
            "by transformers here. A Hugging Face id that begins with a provider's name: "
            f"hf/{model}"
        )
    return model
