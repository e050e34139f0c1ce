"""The price table: the shipped one, an override put first, and bad files named."""

from __future__ import annotations

from pathlib import Path

import pytest

from aflab.core.errors import UsageError
from aflab.data.prices import load_prices


def test_the_first_matching_entry_wins_and_local_models_are_free() -> None:
    table = load_prices()
    assert table.as_of == "2026-12-01"
    mini, full = table.price("openai/gpt-4o-mini"), table.price("openai/gpt-4o-2024-08-06")
    assert mini is not None and full is not None
    assert (mini.input, mini.output) == (0.15, 0.6) and (full.input, full.output) == (2.5, 10.0)
    opus = table.price("anthropic/claude-3-opus-20240229")
    assert opus is not None
    assert (opus.input, opus.cached_input, opus.cache_write) == (15, 1.5, 18.75)
    assert opus.batch_discount == 0.5
    for local in ("aflab/smollm2", "hf/out/merged", "vllm/meta-llama/Llama-3.1-8B"):
        price = table.price(local)
        assert price is not None and price.local and price.cost(1e6, 1e6) == 0
    assert table.price("mistral/mistral-large") is None


def test_a_price_is_input_output_and_cache_rates_with_the_batch_share() -> None:
    opus = load_prices().price("anthropic/claude-3-opus")
    assert opus is not None
    # 1M uncached input at $15, 1M output at $75, 1M cache reads at $1.50, 1M writes at $18.75.
    assert opus.cost(1e6, 1e6, 1e6, 1e6) == pytest.approx(110.25)
    assert opus.cost(1e6, 1e6, batch=True) == pytest.approx(45.0)


def test_an_override_file_comes_first_and_defaults_what_it_leaves_out(tmp_path: Path) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text(
        'as_of = "2027-01-01"\n[[price]]\nmatch = ["openai/gpt-4o*", "acme/*"]\n'
        "input = 1.0\noutput = 2.0\n"
    )
    table = load_prices(mine)
    price = table.price("openai/gpt-4o")
    assert price is not None and (price.input, price.cached_input, price.output) == (1, 1, 2)
    assert price.batch_discount == 0.5 and table.price("acme/x") == price
    assert table.price("anthropic/claude-3-opus") is not None  # the shipped entries follow
    assert "2027-01-01" in table.as_of and "2026-12-01" in table.as_of


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[price]]\nmatch = 'a/*'\noutput = 1\n", r"#1 \(a/\*\): missing field 'input'"),
        ("[[price]]\nmatch = 'a/*'\ninput = -1\noutput = 1\n", "'input' must be a number >= 0"),
        ("[[price]]\nmatch = 'a/*'\ninput = 1\noutput = 1\ncolour = 1\n", "unknown field 'colour'"),
        ("[[price]]\ninput = 1\noutput = 1\n", "'match' must be a model glob"),
        (
            "[[price]]\nmatch = 'a/*'\ninput = 1\noutput = 1\nbatch_discount = 2\n",
            "the share paid, at most 1",
        ),
        ("[[price]\n", "not a TOML price table"),
    ],
)
def test_a_bad_table_is_refused_naming_the_file_entry_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    with pytest.raises(UsageError, match=message) as refused:
        load_prices(bad)
    assert str(refused.value).startswith(str(bad))


def test_a_missing_override_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--prices .*: no such file"):
        load_prices(tmp_path / "none.toml")


@pytest.mark.parametrize(
    ("model", "rates"),
    [
        ("openai/gpt-4o", (2.5, 10.0)),
        ("openai/gpt-4o-2024-05-13", (5.0, 15.0)),
        ("openai/gpt-4o-mini-2024-07-18", (0.15, 0.6)),
        ("openai/gpt-5", (1.25, 10.0)),
        ("openai/gpt-5-2025-08-07", (1.25, 10.0)),
        ("openai/gpt-5-mini", (0.25, 2.0)),
        ("openai/gpt-5-nano", (0.05, 0.4)),
        ("openai/gpt-5-pro", (15.0, 120.0)),
        ("openai/o3", (2.0, 8.0)),
        ("openai/o3-mini", (1.1, 4.4)),
        ("openai/o3-pro", (20.0, 80.0)),
        ("openai/o1", (15.0, 60.0)),
        ("anthropic/claude-opus-4-5-20251101", (5.0, 25.0)),
        ("anthropic/claude-opus-4-1-20250805", (15.0, 75.0)),
        ("anthropic/claude-sonnet-4-5-20250929", (3.0, 15.0)),
        ("anthropic/claude-haiku-4-5-20251001", (1.0, 5.0)),
        ("anthropic/claude-3-5-haiku-20241022", (0.8, 4.0)),
    ],
)
def test_each_known_model_takes_its_own_entry(model: str, rates: tuple[float, float]) -> None:
    """A glob must not catch a dearer or cheaper sibling (o3-pro under o3*, say)."""
    price = load_prices().price(model)
    assert price is not None and (price.input, price.output) == rates
    assert load_prices().price("openai/gpt-5.1-codex") is None  # unknown: no guess
