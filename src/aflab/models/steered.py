"""A Hugging Face model steered along a direction: Inspect's ``hf/`` provider with a vector added
to the residual stream at the output of one decoder block, at every position.

``--model steered/SPEC.json`` names a small JSON steering spec::

    {"model": "path/or/hub-id", "layer": 12, "vector": "directions.safetensors",
     "key": "decision/all/prompt_end/12/diffmeans", "scale": 3.5}

The model loads as ``hf/<model>`` would (``-M`` arguments pass through), then ``scale`` times the
tensor ``key`` of the safetensors file ``vector`` is added at the output of block ``layer``
(``aflab.models.residual``: layer i is ``hidden_states[i + 1]``). A relative ``vector`` is read
from the spec's folder, and so is a relative ``model`` where that folder holds it (else it is a
hub id). Scale 0 adds no hook: the model is ``hf/<model>`` exactly.

Transformers refuses temperature 0 when it samples, so at temperature 0 this provider decodes
greedily (``do_sample=False``) unless ``-M do_sample`` says otherwise.

The spec is the model's name, so it is in every log; Inspect keeps each model it loads for the
rest of the process, so a sweep over several specs frees each with :func:`release` when done.
"""

from __future__ import annotations

import gc
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from inspect_ai.model import ChatMessage, GenerateConfig, ModelAPI, ModelOutput
from inspect_ai.model._model_info import MODEL_INFO_LOOKUP_API_KEY
from inspect_ai.model._providers.hf import HF_TOKEN, HuggingFaceAPI
from inspect_ai.tool import ToolChoice, ToolInfo

from aflab.core.errors import UsageError
from aflab.models.residual import add_to_layer, block_count, residual_width

STEERED_PREFIX = "steered/"
SPEC_FIELDS = ("model", "layer", "vector", "key", "scale")


@dataclass(frozen=True)
class SteeringSpec:
    """What to steer: ``scale`` x the tensor ``key`` of ``vector`` added after block ``layer``
    of ``model``. ``source``: the JSON file it was read from (named in errors)."""

    model: str
    layer: int
    vector: Path
    key: str
    scale: float
    source: Path | None = None

    def record(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "layer": self.layer,
            "vector": str(self.vector),
            "key": self.key,
            "scale": self.scale,
        }


def write_spec(spec: SteeringSpec, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec.record(), indent=2) + "\n", encoding="utf-8")
    return path


def read_spec(path: str | Path) -> SteeringSpec:
    """The spec in ``path``, its relative paths resolved against its folder.

    Raises:
        UsageError: naming the file and the field, for a file that is missing or not a JSON
            object, a field missing, unknown or of the wrong type, or a vector file missing.
    """
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"{file}: no such steering spec (steered/PATH names a JSON file)")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"{file}: not a JSON steering spec ({error})") from error
    if not isinstance(data, dict):
        raise UsageError(f"{file}: a steering spec is a JSON object with {', '.join(SPEC_FIELDS)}")
    missing = [name for name in SPEC_FIELDS if name not in data]
    unknown = sorted(set(data) - set(SPEC_FIELDS))
    if missing or unknown:
        said = [f"missing field {', '.join(map(repr, missing))}"] if missing else []
        said += [f"unknown field {', '.join(map(repr, unknown))}"] if unknown else []
        raise UsageError(f"{file}: {'; '.join(said)} (a spec has {', '.join(SPEC_FIELDS)})")
    for name in ("model", "vector", "key"):
        if not isinstance(data[name], str) or not data[name]:
            raise UsageError(f"{file}: field {name!r} must be a non-empty string")
    layer, scale = data["layer"], data["scale"]
    if isinstance(layer, bool) or not isinstance(layer, int) or layer < 0:
        raise UsageError(f"{file}: field 'layer' must be a block number (0 or more), not {layer!r}")
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not math.isfinite(scale):
        raise UsageError(f"{file}: field 'scale' must be a finite number, not {scale!r}")
    folder = file.parent
    vector = folder / data["vector"]  # an absolute path stays itself
    if not vector.is_file():
        raise UsageError(f"{file}: field 'vector': no such file {vector}")
    model = data["model"]
    if not Path(model).is_absolute() and (folder / model).exists():
        model = str(folder / model)
    return SteeringSpec(model, layer, vector, data["key"], float(scale), file)


def load_vector(spec: SteeringSpec) -> np.ndarray:
    """The spec's tensor as float32 (unscaled); one dimension, or the spec is refused."""
    from safetensors import SafetensorError, safe_open

    where = spec.source or spec.vector
    try:
        with safe_open(str(spec.vector), framework="numpy") as tensors:
            keys = list(tensors.keys())
            if spec.key not in keys:
                shown = ", ".join(sorted(keys)[:20]) + (" ..." if len(keys) > 20 else "")
                raise UsageError(
                    f"{where}: field 'key': {spec.key!r} is not in {spec.vector} "
                    f"({len(keys)} tensors: {shown})"
                )
            vector = np.asarray(tensors.get_tensor(spec.key), dtype=np.float32)
    except SafetensorError as error:
        raise UsageError(
            f"{where}: field 'vector': {spec.vector} is not a safetensors file ({error})"
        ) from error
    if vector.ndim != 1:
        raise UsageError(
            f"{where}: field 'key': {spec.key!r} has shape {list(vector.shape)}, not one vector"
        )
    return vector


class SteeredModel(HuggingFaceAPI):
    """``hf/`` with the spec's vector added; ``model_name`` is the spec's path."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),  # noqa: B008 (Inspect's provider signature)
        **model_args: Any,
    ) -> None:
        spec = read_spec(model_name)
        vector = load_vector(spec)  # before the weights load: a bad spec is refused at once
        if "model_path" in model_args:
            raise UsageError(f"{spec.source}: the spec's field 'model' names the model, not -M")
        self.steering, self.handle = spec, None
        self.vector_norm = float(np.linalg.norm(vector.astype(np.float64))) * abs(spec.scale)
        if api_key == MODEL_INFO_LOOKUP_API_KEY:
            # Inspect makes a second instance during an eval only to ask its name (a model-info
            # lookup): loading the weights for it would double the time and the memory.
            ModelAPI.__init__(self, model_name, base_url, api_key, [HF_TOKEN], config)
            self.model, self.do_sample = None, False
            return
        if config.temperature == 0:
            model_args.setdefault("do_sample", False)
        super().__init__(model_name, base_url, api_key, config, model_path=spec.model, **model_args)
        blocks = block_count(self.model)
        if spec.layer >= blocks:
            raise UsageError(
                f"{spec.source}: field 'layer': {spec.layer} is out of range: {spec.model} has "
                f"blocks 0 to {blocks - 1}"
            )
        width = residual_width(self.model)
        if vector.shape[0] != width:
            raise UsageError(
                f"{spec.source}: field 'key': {spec.key!r} has {vector.shape[0]} values; the "
                f"residual stream of {spec.model} has {width}"
            )
        if spec.scale != 0:
            import torch

            self.handle = add_to_layer(
                self.model, spec.layer, torch.from_numpy(vector) * spec.scale
            )

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        if config.temperature == 0 and not self.do_sample:
            # Greedy already; transformers would only warn that temperature goes unused.
            config = config.model_copy(update={"temperature": None})
        return await super().generate(input, tools, tool_choice, config)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.remove()
            self.handle = None
        super().close()


def release(model: str) -> int:
    """Free the weights of the loaded ``model`` (``steered/SPEC.json``) and forget it; returns
    how many instances were freed.

    Inspect memoizes every model it makes for the rest of the process and never closes them, so
    a sweep over several specs would otherwise hold one copy of the weights per spec. This reads
    Inspect's private memo (``inspect_ai.model._model._models``); if that moves, nothing is freed
    (the sweep then holds more memory, and still runs).
    """
    from inspect_ai.model import _model

    memo: dict[str, Any] = getattr(_model, "_models", {})
    name = model.removeprefix(STEERED_PREFIX)
    freed = 0
    for key, held in list(memo.items()):
        api = getattr(held, "api", None)
        if isinstance(api, SteeredModel) and api.model_name == name:
            api.close()
            del memo[key]
            freed += 1
    gc.collect()
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return freed
