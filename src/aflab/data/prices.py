"""The price table: USD per million tokens for the models a study may call.

The shipped table (``prices.toml``) is dated and never fetched; ``--prices FILE`` puts the
user's entries (same format) before it. A bad file raises :class:`UsageError` naming the file,
the entry and the field.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from aflab.core.errors import UsageError, read_utf8

SHIPPED = "prices.toml"
# Both providers' batch modes bill half the list price.
DEFAULT_BATCH_DISCOUNT = 0.5
# OpenAI and Anthropic (Opus, Sonnet) cache prefixes from this many tokens on.
DEFAULT_MIN_CACHED_PROMPT = 1024
_RATES = ("input", "cached_input", "cache_write", "output")
_FIELDS = {*_RATES, "match", "local", "batch_discount", "min_cached_prompt"}


@dataclass(frozen=True)
class Price:
    """One model's rates in USD per million tokens; all 0 for a local model."""

    input: float
    output: float
    cached_input: float
    cache_write: float
    batch_discount: float = DEFAULT_BATCH_DISCOUNT
    min_cached_prompt: int = DEFAULT_MIN_CACHED_PROMPT
    local: bool = False

    def cost(
        self,
        input_tokens: float,
        output_tokens: float,
        cached_tokens: float = 0,
        cache_write_tokens: float = 0,
        batch: bool = False,
    ) -> float:
        """USD for the tokens; ``input_tokens`` excludes the cached and cache-write ones."""
        usd = (
            input_tokens * self.input
            + output_tokens * self.output
            + cached_tokens * self.cached_input
            + cache_write_tokens * self.cache_write
        ) / 1e6
        return usd * (self.batch_discount if batch else 1.0)


FREE = Price(0.0, 0.0, 0.0, 0.0, local=True)


@dataclass(frozen=True)
class PriceTable:
    """Globs and their prices, first match wins; where they came from and as of when."""

    entries: tuple[tuple[tuple[str, ...], Price], ...]
    as_of: str
    source: str

    def price(self, model: str) -> Price | None:
        """The first entry matching ``model`` (provider/name), or None when none does."""
        for patterns, price in self.entries:
            if any(fnmatchcase(model, pattern) for pattern in patterns):
                return price
        return None


@lru_cache(maxsize=1)
def shipped_prices() -> PriceTable:
    text = resources.files("aflab.data").joinpath(SHIPPED).read_text(encoding="utf-8")
    return parse_prices(text, SHIPPED)


def load_prices(override: str | Path | None = None) -> PriceTable:
    """The shipped table, with the entries of ``override`` (a TOML file) first."""
    table = shipped_prices()
    if override is None:
        return table
    path = Path(override)
    if not path.is_file():
        raise UsageError(f"--prices {path}: no such file")
    mine = parse_prices(read_utf8(path, "a price table"), str(path))
    return PriceTable(
        mine.entries + table.entries,
        f"{mine.as_of} ({path.name}), {table.as_of} (aflab)",
        f"{mine.source}; then {table.source}",
    )


def parse_prices(text: str, name: str) -> PriceTable:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{name}: not a TOML price table: {error}") from None
    entries = data.get("price", [])
    if not isinstance(entries, list):
        raise UsageError(f"{name}: 'price' must be a list of [[price]] tables")
    parsed = tuple(_entry(entry, f"{name}: [[price]] #{i + 1}") for i, entry in enumerate(entries))
    return PriceTable(parsed, str(data.get("as_of", "undated")), str(data.get("source", name)))


def _entry(entry: Any, where: str) -> tuple[tuple[str, ...], Price]:
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: not a table")
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise UsageError(
            f"{where}: unknown field {unknown[0]!r}; known: {', '.join(sorted(_FIELDS))}"
        )
    match = entry.get("match")
    patterns = (match,) if isinstance(match, str) else tuple(match or ())
    if not patterns or not all(isinstance(p, str) and p for p in patterns):
        raise UsageError(f"{where}: 'match' must be a model glob or a list of them")
    where = f"{where} ({patterns[0]})"
    if entry.get("local"):
        return patterns, FREE
    rates = {key: _rate(entry, key, where) for key in _RATES if key in entry}
    for needed in ("input", "output"):
        if needed not in rates:
            raise UsageError(f"{where}: missing field {needed!r} (USD per million tokens)")
    discount = _rate(entry, "batch_discount", where) if "batch_discount" in entry else None
    if discount is not None and discount > 1:
        raise UsageError(f"{where}: 'batch_discount' is the share paid, at most 1, not {discount}")
    price = Price(
        input=rates["input"],
        output=rates["output"],
        # A provider without a prompt cache bills every input token at the input rate.
        cached_input=rates.get("cached_input", rates["input"]),
        cache_write=rates.get("cache_write", rates["input"]),
        batch_discount=DEFAULT_BATCH_DISCOUNT if discount is None else discount,
        min_cached_prompt=int(_rate(entry, "min_cached_prompt", where))
        if "min_cached_prompt" in entry
        else DEFAULT_MIN_CACHED_PROMPT,
    )
    return patterns, price


def _rate(entry: dict[str, Any], key: str, where: str) -> float:
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise UsageError(f"{where}: {key!r} must be a number >= 0, not {value!r}")
    return float(value)
