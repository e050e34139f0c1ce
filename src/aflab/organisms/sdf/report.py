"""``aflab sdf inspect``: what a corpus folder holds, computed from its parquet files.

Counts per fact and document type, the rejects by reason, the duplicate rate (near-duplicates
among the documents that passed the filters), fact coverage (facts with at least one kept
document) and a few sample documents.
"""

from __future__ import annotations

import json
import random
import textwrap
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aflab.core.errors import UsageError
from aflab.organisms.sdf.corpus import DOCUMENT_STAGES
from aflab.organisms.sdf.dataset import DOCUMENTS_FILE, REJECTS_FILE, read_rows
from aflab.organisms.sdf.generate import MANIFEST_FILE, SUMMARY_FILE

SAMPLE_CHARS = 600


@dataclass
class FactCounts:
    fact_id: str
    planned: int
    generated: int
    kept: int
    kept_by_type: dict[str, int] = field(default_factory=dict)
    generated_by_type: dict[str, int] = field(default_factory=dict)


@dataclass
class CorpusReport:
    folder: str
    universe: str
    generator_model: str
    planned: int
    generated: int
    kept: int
    rejected_by_reason: dict[str, int]
    not_generated: dict[str, int]
    duplicates: int
    deduplicated: int
    duplicate_rate: float
    facts: list[FactCounts]
    samples: list[dict[str, Any]]
    reject_samples: list[dict[str, Any]]

    @property
    def covered(self) -> list[str]:
        return [f.fact_id for f in self.facts if f.kept]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["fact_coverage"] = {"covered": len(self.covered), "facts": len(self.facts)}
        return data


def inspect_corpus(folder: Path, samples: int = 3, rejects: int = 0, seed: int = 0) -> CorpusReport:
    manifest = _json(folder / MANIFEST_FILE)
    summary = _json(folder / SUMMARY_FILE)
    for name in (DOCUMENTS_FILE, REJECTS_FILE):
        if not (folder / name).is_file():
            raise UsageError(f"{folder / name}: missing (has aflab sdf generate finished here?)")
    documents = read_rows(folder / DOCUMENTS_FILE)
    rejected = read_rows(folder / REJECTS_FILE)
    written = documents + [row for row in rejected if row["stage"] in DOCUMENT_STAGES]
    duplicates = sum(1 for row in rejected if row["reason"] == "near_duplicate")
    judged_out = sum(1 for row in rejected if row["stage"] == "judge")
    deduped = len(documents) + duplicates + judged_out
    planned = summary.get("per_fact", {})
    facts = []
    for fact_id in manifest["universe"]["facts"]:
        kept_types = Counter(r["doc_type"] for r in documents if r["fact_id"] == fact_id)
        made_types = Counter(r["doc_type"] for r in written if r["fact_id"] == fact_id)
        facts.append(
            FactCounts(
                fact_id=fact_id,
                planned=planned.get(fact_id, {}).get("planned", 0),
                generated=sum(made_types.values()),
                kept=sum(kept_types.values()),
                kept_by_type=dict(kept_types.most_common()),
                generated_by_type=dict(made_types.most_common()),
            )
        )
    chooser = random.Random(seed)
    return CorpusReport(
        folder=str(folder),
        universe=manifest["universe"]["name"],
        generator_model=manifest["generator"]["model"],
        planned=summary.get("planned", 0),
        generated=len(written),
        kept=len(documents),
        rejected_by_reason=dict(
            Counter(r["reason"] for r in rejected if r["stage"] in DOCUMENT_STAGES).most_common()
        ),
        not_generated=dict(
            Counter(
                f"{r['stage']}/{r['reason']}" for r in rejected if r["stage"] not in DOCUMENT_STAGES
            ).most_common()
        ),
        duplicates=duplicates,
        deduplicated=deduped,
        duplicate_rate=round(duplicates / deduped, 4) if deduped else 0.0,
        facts=facts,
        samples=chooser.sample(documents, min(samples, len(documents))),
        reject_samples=chooser.sample(rejected, min(rejects, len(rejected))),
    )


def _json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UsageError(f"{path}: missing; is this a folder written by aflab sdf generate?")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise UsageError(f"{path}: unreadable JSON ({error})") from None


def format_report(report: CorpusReport) -> str:
    lines = [
        f"corpus {report.folder}: universe {report.universe}, generator {report.generator_model}",
        f"documents: {report.planned} planned, {report.generated} generated, "
        f"{report.kept} kept, {report.generated - report.kept} rejected",
    ]
    if report.rejected_by_reason:
        reasons = ", ".join(f"{k} {v}" for k, v in report.rejected_by_reason.items())
        lines.append(f"rejects by reason: {reasons}")
    if report.not_generated:
        failures = ", ".join(f"{k} {v}" for k, v in report.not_generated.items())
        lines.append(f"not generated (no document came of these requests): {failures}")
    lines.append(
        f"duplicate rate: {report.duplicate_rate:.1%} "
        f"({report.duplicates} of {report.deduplicated} documents that passed the rule filters)"
    )
    missing = [f.fact_id for f in report.facts if not f.kept]
    coverage = (
        f"fact coverage: {len(report.covered)} of {len(report.facts)} facts have kept documents"
    )
    lines.append(coverage + (f" (none for: {', '.join(missing)})" if missing else ""))
    lines += ["", f"{'fact / document type':<48}{'planned':>8}{'generated':>10}{'kept':>6}"]
    for fact in report.facts:
        lines.append(f"{fact.fact_id:<48}{fact.planned:>8}{fact.generated:>10}{fact.kept:>6}")
        for doc_type, made in fact.generated_by_type.items():
            name = textwrap.shorten(doc_type, 44, placeholder="...")
            lines.append(f"  {name:<46}{'':>8}{made:>10}{fact.kept_by_type.get(doc_type, 0):>6}")
    for title, rows in (
        ("sample documents", report.samples),
        ("sample rejects", report.reject_samples),
    ):
        if rows:
            lines += ["", f"{title}:"]
        for row in rows:
            head = f"--- {row['doc_id'] or '(no document)'} | {row['fact_id']} | {row['doc_type']}"
            if "reason" in row:
                head += f" | {row['detail']}"
            body = row["text"][:SAMPLE_CHARS] + (
                " [...]" if len(row["text"]) > SAMPLE_CHARS else ""
            )
            lines += [head, body]
    return "\n".join(lines)
