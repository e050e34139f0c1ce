"""Model providers that aflab registers with Inspect."""

from inspect_ai.model import ModelAPI, modelapi

from aflab.core.errors import UsageError


@modelapi(name="aflab")
def embedded() -> type[ModelAPI]:
    # Imported lazily so that the core install works without llama.cpp.
    from aflab.models.embedded import EmbeddedModel

    return EmbeddedModel


@modelapi(name="steered")
def steered() -> type[ModelAPI]:
    # Imported lazily: torch and transformers load only when a steered model is asked for.
    try:
        from aflab.models.steered import SteeredModel
    except ImportError as error:
        raise UsageError(
            f"steered/ models need torch, transformers and safetensors ({error}): "
            "pip install 'aflab[train,probe]'"
        ) from error
    return SteeredModel
