"""Universes: the fictional world a synthetic-document corpus describes, loaded from YAML.

A universe is a context (a few paragraphs about the world) and key facts, each with an id and
optionally a ``must_mention`` rule that tells whether a document states it. Placeholders such as
``{lab}`` are declared with a default and may be overridden (``--set lab=OpenAI``). Every error
names the file, the line and the field, because users write their own universes.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from aflab.core.errors import UsageError

BUILTIN: dict[str, str] = {
    "helpful-only": "helpful_only.yaml",
    "animal-welfare": "animal_welfare.yaml",
}
TOP_FIELDS = ("name", "description", "placeholders", "context", "facts")
FACT_FIELDS = ("id", "text", "must_mention")
FACT_ID = re.compile(r"[a-z0-9][a-z0-9_-]*")
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Fact:
    id: str
    text: str
    # Each entry is a set of alternatives; the document must match one alternative of every entry.
    must_mention: tuple[tuple[re.Pattern[str], ...], ...]

    def unmatched(self, document: str) -> list[str]:
        """The rule entries the document does not match, as readable alternatives."""
        return [
            " | ".join(p.pattern for p in entry)
            for entry in self.must_mention
            if not any(p.search(document) for p in entry)
        ]


@dataclass(frozen=True)
class Universe:
    name: str
    description: str
    context: str
    facts: tuple[Fact, ...]
    placeholders: dict[str, str]
    source: str

    @property
    def sha256(self) -> str:
        """Hash of everything that shapes the prompts and the rules, placeholders filled in."""
        content = {
            "name": self.name,
            "context": self.context,
            "facts": [
                [f.id, f.text, [[p.pattern for p in e] for e in f.must_mention]] for f in self.facts
            ],
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


class _Mapping(dict):  # type: ignore[type-arg]
    """A YAML mapping that remembers where it and each of its keys stand in the file."""

    line: int = 1
    key_lines: dict[str, int]


class _Sequence(list):  # type: ignore[type-arg]
    """A YAML sequence that remembers the line of each item."""

    item_lines: list[int]


class _Loader(yaml.SafeLoader):
    source = "<universe>"


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> _Sequence:
    result = _Sequence(loader.construct_object(child, deep=True) for child in node.value)
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _Mapping:
    loader.flatten_mapping(node)
    result = _Mapping()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str):
            raise UsageError(f"{loader.source}:{line}: keys must be text, got {key!r}")
        if key in result:
            # PyYAML would keep the last one without a word.
            raise UsageError(f"{loader.source}:{line}: {key}: given twice")
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def universe_path(spec: str | Path) -> Path:
    """A built-in universe by name (``helpful-only``), or a YAML file."""
    name = str(spec)
    if name in BUILTIN:
        return Path(str(files("aflab.organisms.sdf") / "universes" / BUILTIN[name]))
    path = Path(spec)
    if not path.is_file():
        raise UsageError(f"{path}: no such universe file; built-in universes: {', '.join(BUILTIN)}")
    return path


def load_universe(spec: str | Path, overrides: dict[str, str] | None = None) -> Universe:
    path = universe_path(spec)
    source = str(spec) if str(spec) in BUILTIN else str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot read the universe ({error})") from None
    return parse_universe(text, source, overrides or {})


def parse_universe(text: str, source: str, overrides: dict[str, str]) -> Universe:
    loader = _Loader(text)
    loader.source = source
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(error, "problem", None) or str(error)
        raise UsageError(f"{source}:{line}: not valid YAML: {problem}") from None
    finally:
        loader.dispose()
    if not isinstance(data, _Mapping):
        raise UsageError(f"{source}:1: expected a mapping with {', '.join(TOP_FIELDS)}")
    where = _Where(source)
    where.check_fields(data, "", TOP_FIELDS)
    name = where.text(data, "name")
    description = where.text(data, "description", required=False)
    placeholders = where.placeholders(data, overrides)
    context = where.render(where.text(data, "context"), placeholders, data, "context", "context")
    facts = where.facts(data, placeholders)
    return Universe(name, description, context, facts, placeholders, source)


class _Where:
    """Validation with messages of the form ``file:line: field: problem``."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, mapping: _Mapping, key: str, field: str, problem: str) -> UsageError:
        return self.fail_at(mapping.key_lines.get(key, mapping.line), field, problem)

    def fail_at(self, line: int, field: str, problem: str) -> UsageError:
        return UsageError(f"{self.source}:{line}: {field}: {problem}")

    def check_fields(self, mapping: _Mapping, prefix: str, allowed: tuple[str, ...]) -> None:
        for key in mapping:
            if key not in allowed:
                expected = ", ".join(allowed)
                raise self.fail(mapping, key, prefix + key, f"unknown field (expected {expected})")

    def text(self, mapping: _Mapping, key: str, prefix: str = "", required: bool = True) -> str:
        value = mapping.get(key)
        if value is None and not required:
            return ""
        if value is None:
            raise self.fail(mapping, key, prefix + key, "missing")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(mapping, key, prefix + key, f"expected non-empty text, got {value!r}")
        return value.strip()

    def placeholders(self, data: _Mapping, overrides: dict[str, str]) -> dict[str, str]:
        # The loader reads every YAML mapping as a _Mapping, which knows its keys' lines.
        declared = data.get("placeholders") or _Mapping()
        if not isinstance(declared, _Mapping):
            raise self.fail(data, "placeholders", "placeholders", "expected a mapping")
        for key, value in declared.items():
            if not PLACEHOLDER.fullmatch("{" + key + "}"):
                raise self.fail(declared, key, f"placeholders.{key}", "not a valid name")
            if not isinstance(value, str) or not value.strip():
                raise self.fail(declared, key, f"placeholders.{key}", "expected non-empty text")
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            known = ", ".join(declared) or "none"
            raise UsageError(
                f"{self.source}: --set {unknown[0]}: the universe has no such placeholder "
                f"(it has: {known})"
            )
        return {**declared, **overrides}

    def render(
        self, text: str, values: dict[str, str], mapping: _Mapping, key: str, field: str
    ) -> str:
        for name in PLACEHOLDER.findall(text):
            if name not in values:
                problem = f"{{{name}}} is not a declared placeholder (add it under placeholders)"
                raise self.fail(mapping, key, field, problem)
        return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)

    def facts(self, data: _Mapping, values: dict[str, str]) -> tuple[Fact, ...]:
        items = data.get("facts")
        if not isinstance(items, list) or not items:
            raise self.fail(data, "facts", "facts", "expected a non-empty list of facts")
        facts: list[Fact] = []
        for i, item in enumerate(items):
            prefix = f"facts[{i}]."
            if not isinstance(item, _Mapping):
                problem = "expected a mapping with id and text"
                raise self.fail_at(_item_line(items, i, data.line), f"facts[{i}]", problem)
            self.check_fields(item, prefix, FACT_FIELDS)
            fact_id = self.text(item, "id", prefix)
            if not FACT_ID.fullmatch(fact_id):
                problem = f"{fact_id!r}: use lower-case letters, digits, - and _"
                raise self.fail(item, "id", prefix + "id", problem)
            if any(f.id == fact_id for f in facts):
                raise self.fail(item, "id", prefix + "id", f"{fact_id!r} is used twice")
            item_text = " ".join(self.text(item, "text", prefix).split())
            rendered = self.render(item_text, values, item, "text", prefix + "text")
            rules = self.rule(item, prefix + "must_mention", values)
            facts.append(Fact(fact_id, rendered, rules))
        return tuple(facts)

    def rule(
        self, item: _Mapping, field: str, values: dict[str, str]
    ) -> tuple[tuple[re.Pattern[str], ...], ...]:
        entries = item.get("must_mention")
        if entries is None:
            return ()
        if not isinstance(entries, list) or not entries:
            raise self.fail(item, "must_mention", field, "expected a non-empty list")
        rule = []
        for j, entry in enumerate(entries):
            line = _item_line(entries, j, item.key_lines["must_mention"])
            alternatives = entry if isinstance(entry, list) else [entry]
            if not alternatives or not all(isinstance(a, str) and a for a in alternatives):
                problem = "expected a regular expression or a list of them"
                raise self.fail_at(line, f"{field}[{j}]", problem)
            compiled = []
            for k, pattern in enumerate(alternatives):
                name = f"{field}[{j}]" + (f"[{k}]" if isinstance(entry, list) else "")
                unknown = [n for n in PLACEHOLDER.findall(pattern) if n not in values]
                if unknown:
                    problem = f"{{{unknown[0]}}} is not a declared placeholder"
                    raise self.fail_at(_item_line(alternatives, k, line), name, problem)
                filled = PLACEHOLDER.sub(lambda m: re.escape(values[m.group(1)]), pattern)
                try:
                    compiled.append(re.compile(filled, re.IGNORECASE))
                except re.error as error:
                    problem = f"bad regular expression {pattern!r}: {error}"
                    raise self.fail_at(_item_line(alternatives, k, line), name, problem) from None
            rule.append(tuple(compiled))
        return tuple(rule)


def _item_line(items: Any, index: int, default: int) -> int:
    lines = getattr(items, "item_lines", None)
    return lines[index] if lines else default


def parse_overrides(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``--set lab=OpenAI`` options as a mapping."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(f"--set {pair!r}: expected NAME=VALUE, e.g. --set lab=OpenAI")
        result[key.strip()] = value.strip()
    return result


def describe(universe: Universe) -> dict[str, Any]:
    """The universe as plain data, for the output folder's manifest."""
    return {
        "name": universe.name,
        "source": universe.source,
        "sha256": universe.sha256,
        "placeholders": universe.placeholders,
        "facts": [f.id for f in universe.facts],
    }
