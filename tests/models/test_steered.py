"""The steered provider on the embedded model's weights (as a Hugging Face folder), greedy: scale
0 is hf/ exactly, a large scale changes the reply, the vector lands on the named block only, and
a bad spec is refused by file and field."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aflab.core.errors import UsageError

torch = pytest.importorskip("torch", reason="needs the 'train' extra")
pytest.importorskip("safetensors", reason="needs the 'probe' extra")

from inspect_ai.model import GenerateConfig, Model, get_model  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402

from aflab.models.residual import reading  # noqa: E402
from aflab.models.steered import (  # noqa: E402
    SteeredModel,
    SteeringSpec,
    load_vector,
    read_spec,
    release,
    write_spec,
)

WIDTH, BLOCKS = 576, 30  # SmolLM2-135M
GREEDY = GenerateConfig(temperature=0, max_tokens=8)
PROMPT = "Name three colours."


@pytest.fixture(scope="module")
def weights() -> Path:
    from aflab.organisms.train.base import ensure_smollm2_hf

    return ensure_smollm2_hf()


@pytest.fixture(scope="module")
def plain(weights: Path) -> Model:
    return get_model(f"hf/{weights}", config=GREEDY, memoize=False, do_sample=False, device="cpu")


def unit_vectors(folder: Path, width: int = WIDTH) -> Path:
    rng = np.random.default_rng(0)
    random = rng.standard_normal(width).astype(np.float32)
    path = folder / "directions.safetensors"
    save_file(
        {
            "random": random / np.linalg.norm(random),
            "matrix": np.ones((2, width), dtype=np.float32),
        },
        str(path),
    )
    return path


def spec_file(folder: Path, weights: Path, **fields: Any) -> Path:
    vectors = unit_vectors(folder)
    data = {"model": str(weights), "layer": 5, "vector": vectors.name, "key": "random"}
    path = folder / "spec.json"
    path.write_text(json.dumps(data | {"scale": 0.0} | fields), encoding="utf-8")
    return path


def steered(spec: Path, **model_args: Any) -> Model:
    return get_model(f"steered/{spec}", config=GREEDY, memoize=False, device="cpu", **model_args)


def reply(model: Model) -> str:
    return asyncio.run(model.generate(PROMPT)).completion


def test_scale_zero_is_the_hf_model_exactly(tmp_path: Path, weights: Path, plain: Model) -> None:
    model = steered(spec_file(tmp_path, weights, scale=0))
    assert isinstance(model.api, SteeredModel) and model.api.handle is None
    assert reply(model) == reply(plain) != ""
    assert str(model) == f"steered/{tmp_path / 'spec.json'}"  # the spec names it in every log


def test_a_large_scale_changes_the_reply(tmp_path: Path, weights: Path, plain: Model) -> None:
    model = steered(spec_file(tmp_path, weights, scale=200.0, layer=10))
    assert model.api.vector_norm == pytest.approx(200.0, rel=1e-5)  # type: ignore[attr-defined]
    assert reply(model) != reply(plain)


def test_the_vector_is_added_after_the_named_block_only(
    tmp_path: Path, weights: Path, plain: Model
) -> None:
    """Blocks before the named one see nothing; its output moves by exactly scale x vector at
    every position; later blocks see the moved stream."""
    model = steered(spec_file(tmp_path, weights, scale=8.0, layer=5))
    vector = torch.from_numpy(load_vector(read_spec(tmp_path / "spec.json")))
    ids = plain.api.tokenizer(PROMPT, return_tensors="pt")["input_ids"]  # type: ignore[attr-defined]
    seen = {}
    for name, api in (("plain", plain.api), ("steered", model.api)):
        net = api.model  # type: ignore[attr-defined]
        with torch.no_grad(), reading(net, [4, 5, 6], lambda h: h[0].clone()) as hidden:
            net(input_ids=ids)
        seen[name] = hidden
    assert torch.equal(seen["steered"][4], seen["plain"][4])
    moved = seen["steered"][5] - seen["plain"][5]
    assert torch.allclose(moved, 8.0 * vector.expand_as(moved), atol=1e-4)
    assert not torch.allclose(seen["steered"][6], seen["plain"][6] + 8.0 * vector, atol=1e-2)


def test_temperature_zero_decodes_greedily_unless_told(tmp_path: Path, weights: Path) -> None:
    spec = spec_file(tmp_path, weights)
    assert steered(spec).api.do_sample is False  # type: ignore[attr-defined]
    assert steered(spec, do_sample=True).api.do_sample is True  # type: ignore[attr-defined]


def test_release_frees_the_weights_and_forgets_the_model(tmp_path: Path, weights: Path) -> None:
    from inspect_ai.model import _model

    name = f"steered/{spec_file(tmp_path, weights, scale=1.0)}"
    model = get_model(name, config=GREEDY, device="cpu")
    assert model.api.handle is not None  # type: ignore[attr-defined]
    assert release(name) == 1
    assert model.api.model is None  # type: ignore[attr-defined]
    assert all(getattr(m, "api", None) is not model.api for m in _model._models.values())
    assert release(name) == 0


def test_inspects_model_info_lookup_loads_no_weights(tmp_path: Path, weights: Path) -> None:
    """During an eval Inspect makes a second instance, with this placeholder key, only to ask
    the model's name: it gets the name without a second copy of the weights."""
    from inspect_ai.model._model_info import MODEL_INFO_LOOKUP_API_KEY

    spec = spec_file(tmp_path, weights, scale=3.0)
    name = f"steered/{spec}"
    lookup = get_model(name, api_key=MODEL_INFO_LOOKUP_API_KEY, memoize=False)
    assert lookup.api.model is None and lookup.canonical_name() == str(spec)  # type: ignore[attr-defined]
    assert lookup.api.vector_norm == pytest.approx(3.0, rel=1e-5)  # type: ignore[attr-defined]


def test_paths_are_read_from_the_specs_folder(tmp_path: Path, weights: Path) -> None:
    (tmp_path / "weights").symlink_to(weights)
    spec = read_spec(spec_file(tmp_path, Path("weights"), scale=2))
    assert spec.model == str(tmp_path / "weights") and spec.vector == tmp_path / (
        "directions.safetensors"
    )
    hub = read_spec(spec_file(tmp_path, Path("org/not-here")))
    assert hub.model == "org/not-here"  # not a folder beside the spec: a hub id
    again = write_spec(SteeringSpec(**spec.record() | {"vector": spec.vector}), tmp_path / "b.json")
    assert read_spec(again).record() == spec.record()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{", "not a JSON steering spec"),
        ("[1]", "a steering spec is a JSON object"),
        ({"layer": None}, "missing field 'layer'"),
        ({"sclae": 1}, "unknown field 'sclae'"),
        ({"layer": "5"}, "field 'layer' must be a block number"),
        ({"layer": -1}, "field 'layer' must be a block number"),
        ({"scale": True}, "field 'scale' must be a finite number"),
        ({"scale": float("nan")}, "field 'scale' must be a finite number"),
        ({"key": ""}, "field 'key' must be a non-empty string"),
        ({"vector": "nowhere.safetensors"}, "field 'vector': no such file"),
    ],
)
def test_a_bad_spec_names_its_file_and_field(
    tmp_path: Path, weights: Path, content: Any, expected: str
) -> None:
    path = spec_file(tmp_path, weights)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        data = json.loads(path.read_text()) | content
        path.write_text(json.dumps({k: v for k, v in data.items() if v is not None}))
    with pytest.raises(UsageError, match=expected) as raised:
        read_spec(path)
    assert str(raised.value).startswith(str(path))


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"key": "nope"}, r"field 'key': 'nope' is not in .* \(2 tensors: matrix, random\)"),
        ({"key": "matrix"}, r"field 'key': 'matrix' has shape \[2, 576\], not one vector"),
        ({"layer": BLOCKS}, r"field 'layer': 30 is out of range: .* has blocks 0 to 29"),
    ],
)
def test_the_provider_refuses_a_spec_that_does_not_fit_the_model(
    tmp_path: Path, weights: Path, fields: dict[str, Any], expected: str
) -> None:
    path = spec_file(tmp_path, weights, **fields)
    with pytest.raises(UsageError, match=expected) as raised:
        steered(path)
    assert str(raised.value).startswith(str(path))


def test_a_vector_file_that_is_not_safetensors_is_refused(tmp_path: Path, weights: Path) -> None:
    path = spec_file(tmp_path, weights)
    (tmp_path / "directions.safetensors").write_text("not tensors")
    with pytest.raises(UsageError, match="field 'vector': .* is not a safetensors file"):
        load_vector(read_spec(path))


def test_a_vector_of_another_width_is_refused(tmp_path: Path, weights: Path) -> None:
    path = spec_file(tmp_path, weights)
    unit_vectors(tmp_path, width=WIDTH + 1)
    with pytest.raises(UsageError, match="has 577 values; the residual stream of .* has 576"):
        steered(path)


def test_the_command_line_knows_the_provider() -> None:
    from aflab.cli.util import model_providers

    assert "steered" in model_providers()
