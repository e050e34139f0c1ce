"""The model providers Inspect knows: its own and those of installed packages (aflab's among
them). The command line refuses an unknown provider with it; ``aflab probe steer`` tells an API
model from a Hugging Face id with it."""

from __future__ import annotations


def model_providers() -> list[str]:
    import inspect_ai.model  # noqa: F401 (registers Inspect's own providers)
    from inspect_ai._util.entrypoints import ensure_entry_points
    from inspect_ai._util.registry import registry_find, registry_info, registry_unqualified_name

    ensure_entry_points()  # providers of installed packages, aflab's among them
    found = registry_find(lambda info: info.type == "modelapi")
    return sorted({registry_unqualified_name(registry_info(api)) for api in found})
