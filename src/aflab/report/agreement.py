"""Judge agreement as text (``aflab agreement``), as a section of the report page and as a page
of its own (``aflab agreement --out``), its disagreements linked to the transcript browser.

A disagreement links to the sample's card in every browser that holds it: the report's own
(``#s-N`` on the same page) or, for the page of its own, a report folder found beside it or
beside a log (``aflab run`` writes one in ``logs/<run>/``). A card's number is read from the
browser's index (``transcripts.sample_numbers``), so a link never points at another sample.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

import pandas as pd

from aflab.analysis.agreement import (
    CLUSTER,
    Agreement,
    Disagreement,
    Interval,
    PairAgreement,
    Unit,
    VariableAgreement,
    agreement_json,
    shared_units,
)
from aflab.report.html import frame_table, write_static_page
from aflab.report.transcripts import SampleKey, sample_numbers

JSON_FILE = "agreement.json"
PAGE_FILE = "agreement.html"
SHOWN = 5  # disagreements listed per variable in the terminal
LISTED = 200  # and on a page; agreement.json holds them all
EXPLAIN = (
    "Raters are judges (a scorer with the judge model it asked) and the tag rule, matched on the "
    "same samples (id, epoch and conversation) across logs. Cohen's kappa compares two raters on "
    "the samples both rated, correcting their agreement for what their own category shares would "
    "give by chance: 1 is perfect agreement, 0 no better than chance, below 0 worse; as a rough "
    "reading, above 0.8 is strong and below 0.6 is weak. Krippendorff's alpha does the same for "
    "all raters at once and allows missing ratings. A missing rating (invalid reply, unreadable "
    "judge, skipped) is never counted as a no. 95% intervals: percentile bootstrap resampling "
    "queries, a query's tiers and epochs together."
)


@dataclass(frozen=True)
class Browser:
    """A transcript browser: the page (``""``: this one) and its cards' numbers."""

    page: str
    numbers: Mapping[SampleKey, int]

    def href(self, run: str, unit: Unit) -> str | None:
        number = self.numbers.get((run, unit.query_id, unit.epoch, unit.tier))
        return None if number is None else f"{self.page}#s-{number}"


def find_browsers(out: Path, logs: Sequence[str | Path]) -> list[Browser]:
    """The browsers a page in ``out`` can link to: a report in ``out`` itself, and the report
    beside each log (``logs/<run>/``), each linked relative to ``out``."""
    folders = [out, *(Path(log).with_suffix("") for log in logs)]
    browsers = []
    for folder in dict.fromkeys(f.resolve() for f in folders):
        numbers = sample_numbers(folder)
        if numbers:
            page = Path(os.path.relpath(folder / "index.html", out.resolve())).as_posix()
            browsers.append(Browser(page, numbers))
    return browsers


def format_agreement(result: Agreement, shown: int = SHOWN) -> str:
    """What ``aflab agreement`` prints: per variable its raters, each pair's agreement and kappa,
    alpha, the confusion tables and the first ``shown`` disagreements."""
    logs = ", ".join(f"{c.run} ({c.samples} samples)" for c in result.coverage)
    lines = [f"judge agreement: {len(result.coverage)} log(s): {logs}"]
    lines += [f"note: {line}" for line in coverage_lines(result)]
    lines.append(
        f"{100 * result.level:.0f}% CIs: percentile bootstrap, {result.draws} resamples of "
        f"queries ({CLUSTER}: a query's tiers and epochs together), seed {result.seed}"
    )
    for found in result.variables:
        lines += ["", *_variable_lines(found, shown)]
    if not result.variables:
        lines += ["", "no verdict has two raters: nothing to compare"]
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)


def coverage_lines(result: Agreement) -> list[str]:
    """The samples of a log that another does not hold; a warning if they share none."""
    lines = []
    if not shared_units(result):
        lines.append(
            "some logs share no sample (same id, epoch and conversation) with the others: they "
            "are not judgements of the same samples, and their raters meet no other log's"
        )
    for log in result.coverage:
        for other, absent in log.absent_from.items():
            if absent:
                changed = log.other_conversation[other]
                why = f" ({changed} with the same id and epoch but another conversation)"
                lines.append(
                    f"{absent} of the {log.samples} samples of {log.run} are not in {other}"
                    + (why if changed else "")
                )
    return lines


def _variable_lines(found: VariableAgreement, shown: int) -> list[str]:
    codes = [f"R{i + 1}" for i in range(len(found.raters))]
    lines = [f"{found.variable.name}: {found.variable.explain}"]
    width = max(len(rater.label) for rater in found.raters)
    for code, rater, missing in zip(codes, found.raters, found.missing, strict=True):
        lines.append(
            f"  {code:<4}{rater.label:<{width}}   logs: {', '.join(rater.runs)}"
            + (f"; missing: {_counts(missing)}" if missing else "")
        )
    lines.append(f"  samples: {found.n_units}, rated by two or more: {found.n_pairable}")
    lines.append(f"  {'pair':<10}{'n':>6}   {'agreement [95% CI]':<26}Cohen's kappa [95% CI]")
    for pair in found.pairs:
        name = f"{codes[pair.first]}-{codes[pair.second]}"
        agreement = _percent(pair.agreement)
        lines.append(f"  {name:<10}{pair.n:>6}   {agreement:<26}{_statistic(pair.kappa)}")
    lines.append(f"  Krippendorff's alpha ({len(found.raters)} raters): {_statistic(found.alpha)}")
    for pair in found.pairs:
        lines.append(f"  confusion: {codes[pair.first]} (rows) by {codes[pair.second]} (columns)")
        lines += ["    " + line for line in _confusion_lines(found, pair)]
    count = len(found.disagreements)
    lines.append(f"  disagreements: {count} sample(s)" + (":" if count else ""))
    for disagreement in found.disagreements[:shown]:
        verdicts = ", ".join(
            f"{code} {text}" for code, text in zip(codes, _verdicts(disagreement), strict=True)
        )
        unit = disagreement.unit
        lines.append(f"    {unit.sample_id} epoch {unit.epoch} ({unit.tier}): {verdicts}")
    if count > shown:
        lines.append(f"    ... and {count - shown} more (all in {JSON_FILE})")
    return lines


def _confusion_lines(found: VariableAgreement, pair: PairAgreement) -> list[str]:
    categories = found.variable.categories
    width = max(8, *(len(c) + 2 for c in categories))
    head = " " * width + "".join(f"{c:>{width}}" for c in categories)
    rows = [
        f"{c:<{width}}" + "".join(f"{n:>{width}}" for n in counts)
        for c, counts in zip(categories, pair.confusion, strict=True)
    ]
    return [head, *rows]


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{why} {n}" for why, n in sorted(counts.items()))


def _verdicts(disagreement: Disagreement) -> list[str]:
    """Each rater's verdict, with what it said where that differs (``no_af (maybe)``) and why
    there is none where it is missing (``- (skipped)``)."""
    texts = []
    for category, value in zip(disagreement.categories, disagreement.values, strict=True):
        if category is None:
            texts.append(f"- ({value})")
        else:
            texts.append(category if category == value else f"{category} ({value})")
    return texts


def _statistic(found: Interval) -> str:
    value = found.estimate.value
    if value is None:
        return f"n/a ({found.estimate.undefined})"
    interval = found.bootstrap.interval
    if interval is None:
        return f"{value:.3f} (no CI: {found.bootstrap.reason})"
    return f"{value:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]"


def _percent(found: Interval) -> str:
    value = found.estimate.value
    if value is None:
        return f"n/a ({found.estimate.undefined})"
    interval = found.bootstrap.interval
    if interval is None:
        return f"{100 * value:.1f}% (no CI)"
    return f"{100 * value:.1f}% [{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]"


def write_json(result: Agreement, path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(agreement_json(result), indent=2, allow_nan=False)
    target.write_text(text + "\n", encoding="utf-8")
    return target


def section_html(result: Agreement, browsers: Sequence[Browser] = (), listed: int = LISTED) -> str:
    """The "Judge agreement" part of a page; empty when no verdict has two raters. Every piece
    of text in it is escaped."""
    if not result.variables:
        return ""
    parts = [
        '<h2 id="judge-agreement">Judge agreement</h2>',
        f'<p class="note">{escape(EXPLAIN)} {result.draws} resamples, seed {result.seed}.</p>',
        *(f'<p class="note">{escape(line)}</p>' for line in coverage_lines(result)),
    ]
    for found in result.variables:
        parts += _variable_html(found, browsers, listed)
    parts += [f'<p class="note">{escape(note)}</p>' for note in result.notes]
    return "\n".join(parts)


def _variable_html(found: VariableAgreement, browsers: Sequence[Browser], listed: int) -> list[str]:
    name = found.variable.name
    labels = [rater.label for rater in found.raters]
    raters = pd.DataFrame(
        {
            "Rater": labels,
            "Logs": [", ".join(rater.runs) for rater in found.raters],
            "Missing ratings": [_counts(missing) or "none" for missing in found.missing],
        }
    )
    pairs = pd.DataFrame(
        {
            "Raters": [f"{labels[p.first]} vs {labels[p.second]}" for p in found.pairs],
            "n": [p.n for p in found.pairs],
            "Agreement [95% CI]": [_percent(p.agreement) for p in found.pairs],
            "Cohen's kappa [95% CI]": [_statistic(p.kappa) for p in found.pairs],
            "Disagree": [p.disagreements for p in found.pairs],
        }
    )
    parts = [
        f"<h3>{escape(name)}</h3>",
        f'<p class="note">{escape(found.variable.explain)}. {found.n_units} samples, '
        f"{found.n_pairable} rated by two or more.</p>",
        frame_table(raters, "", f"agreement-{name}-raters"),
        frame_table(pairs, "", f"agreement-{name}-pairs"),
        f"<p>Krippendorff's alpha ({len(labels)} raters): "
        f"<strong>{escape(_statistic(found.alpha))}</strong></p>",
        "<details><summary>Confusion tables</summary>",
    ]
    for pair in found.pairs:
        table = pd.DataFrame(
            pair.confusion,
            columns=[f"{labels[pair.second]}: {c}" for c in found.variable.categories],
        )
        table.insert(0, labels[pair.first], list(found.variable.categories))
        parts.append(frame_table(table, "", f"agreement-{name}-{pair.first}-{pair.second}"))
    parts.append("</details>")
    count = len(found.disagreements)
    parts.append(f"<h4>Disagreements: {count} sample(s)</h4>")
    if count:
        items = [_disagreement_html(d, labels, browsers) for d in found.disagreements[:listed]]
        parts.append(f'<ul class="disagreements">{"".join(items)}</ul>')
    if count > listed:
        parts.append(f'<p class="note">The first {listed}; all in {JSON_FILE}.</p>')
    return parts


def _disagreement_html(
    disagreement: Disagreement, labels: Sequence[str], browsers: Sequence[Browser]
) -> str:
    unit = disagreement.unit
    name = f"{unit.sample_id} · epoch {unit.epoch} · {unit.tier}"
    links = []
    for run in unit.runs:
        href = next((h for b in browsers if (h := b.href(run, unit)) is not None), None)
        if href is not None:
            links.append(f'<a class="sample-link" href="{escape(href)}">{escape(run)}</a>')
    verdicts = "; ".join(
        f"{label}: {text}" for label, text in zip(labels, _verdicts(disagreement), strict=True)
    )
    where = f" ({', '.join(links)})" if links else ""
    return f"<li><strong>{escape(name)}</strong>{where}: {escape(verdicts)}</li>"


NO_BROWSER = (
    "No transcript browser was found (a report in this folder, or beside a log): the "
    "disagreements are not linked. aflab report LOGS --out FOLDER writes one, with this section."
)


def write_page(
    result: Agreement, path: str | Path, browsers: Sequence[Browser] = (), listed: int = LISTED
) -> Path:
    """``agreement.html``: the section as a page of its own, linking into ``browsers``."""
    parts = ["<h1>aflab judge agreement</h1>"]
    if not browsers:
        parts.append(f'<p class="note">{escape(NO_BROWSER)}</p>')
    section = section_html(result, browsers, listed)
    nothing = '<p class="note">No verdict has two raters: nothing to compare.</p>'
    parts.append(section or nothing)
    return write_static_page(Path(path), "aflab judge agreement", parts)
