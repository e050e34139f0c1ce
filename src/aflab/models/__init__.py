"""Model providers that aflab registers with Inspect."""

from inspect_ai.model import ModelAPI, modelapi


@modelapi(name="aflab")
def embedded() -> type[ModelAPI]:
    # Imported lazily so that the core install works without llama.cpp.
    from aflab.models.embedded import EmbeddedModel

    return EmbeddedModel
