"""The report page: ``index.html`` with the run tables, the figures and a transcript browser
whose transcripts are files beside it (``report.transcripts``), loaded page by page. It works
offline, opened from disk (file://) or served over http: figures are inlined as base64, the CSS
and JS (``assets/report.css``, ``assets/report.js``) are inline, and nothing outside the report
folder is fetched.

Model and user text never reaches an HTML parser. Server-side cells go through ``html.escape``;
transcripts travel as JSON inside JavaScript files (``script_json``: with ``<``, ``>``, ``&``,
U+2028 and U+2029 written as ``\\u`` escapes), from which the page's script builds the cards
with ``createElement`` and ``textContent`` only.

The Content-Security-Policy is two policies, and a script must satisfy both. The first admits
the page's own inline script by its hash and, through ``'strict-dynamic'``, the scripts that it
inserts (the transcript files), nothing written into the page; the second admits only scripts
of the page's own origin (``'self'``), so that no script from elsewhere runs even if inserted.
Stricter forms do not work from disk: an external script admitted by its hash needs an
``integrity`` attribute, and Chromium refuses to check integrity for file:// scripts (the
request is not CORS-enabled), so the scripts would not load; a hash list would also grow with
the number of chunks. What is left open: on file:// ``'self'`` matches every local file, so a
script element inserted by the page's own script could load any of them; it inserts only
``transcripts/index.js`` and ``transcripts/chunk-NNNNN.js``, names made from numbers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import partial
from html import escape
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aflab.models.embedded import is_embedded
from aflab.report.markers import EMBEDDED_CAVEAT, run_markers
from aflab.report.tables import TIER_LABELS, percent

MIME = {".png": "image/png", ".svg": "image/svg+xml"}


def _asset(name: str) -> str:
    return (files("aflab.report") / "assets" / name).read_text(encoding="utf-8")


def write_html(
    path: Path,
    runs: pd.DataFrame,
    samples: Mapping[str, int],
    figures: list[Path],
    reference: pd.DataFrame,
    sections: Sequence[str] = (),
    captions: Mapping[str, str] | None = None,
) -> Path:
    """Write the page to ``path`` and return it. ``samples``: the number of samples of each run,
    whose transcripts ``report.transcripts`` writes beside the page. ``sections`` are further
    parts of the page, placed before the transcripts; they must be built with this module's
    escaping helpers. ``captions``: a figure's caption by its file's stem (the figure's title),
    else the stem."""
    labels = run_labels(runs)
    n = sum(samples.values())
    n_runs = len(runs) + len(set(samples) - set(labels))  # anti-lab runs are not in the table
    body = [
        "<h1>aflab report</h1>",
        f'<p class="note">{n_runs} run(s), {n} samples. {CONVENTIONS}</p>',
        *caveat_banner(runs),
        *(_runs_sections(runs, reference, figures, captions) if not runs.empty else []),
        *sections,
        BROWSER,
        '<script type="application/json" id="aflab-data">'
        + script_json({"samples": n, "labels": labels})
        + "</script>",
        f"<script>{SCRIPT}</script>",
    ]
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    csp = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
        f"script-src 'sha256-{digest}' 'strict-dynamic'"
    )
    same_origin = f"script-src 'self' 'sha256-{digest}'"  # both policies apply: see above
    return _write_page(path, "aflab report", body, [csp, same_origin])


def write_static_page(path: Path, title: str, parts: Sequence[str]) -> Path:
    """A page with the report's style and no script (``aflab agreement --out``): ``parts`` must
    be built with this module's escaping helpers. Its policy admits no script at all."""
    policy = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'"
    return _write_page(path, title, parts, [policy])


def _write_page(path: Path, title: str, body: Sequence[str], policies: Sequence[str]) -> Path:
    """The page around ``body`` with the report's style, under each content-security policy
    of ``policies`` (a browser applies them all), written to ``path``."""
    metas = "".join(
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n' for policy in policies
    )
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        + metas
        + '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style></head>\n"
        "<body><main>\n" + "\n".join(body) + "\n</main></body></html>\n"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def _runs_sections(
    runs: pd.DataFrame,
    reference: pd.DataFrame,
    figures: list[Path],
    captions: Mapping[str, str] | None,
) -> list[str]:
    return [
        "<h2>Runs</h2>",
        runs_table(runs),
        "<h2>Compared with the paper</h2>",
        frame_table(reference, "No published figure matches these runs."),
        "<h2>Figures</h2>",
        figures_html(figures, captions),
    ]


def script_json(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` element and in a JavaScript file: no ``<``,
    ``>`` or ``&`` left raw, nor the line separators that older JavaScript took for line ends."""
    text = json.dumps(
        _plain(value), ensure_ascii=False, allow_nan=False, default=str, separators=(",", ":")
    )
    for raw in "&<>\u2028\u2029":  # str.replace: many times faster than str.translate here
        text = text.replace(raw, f"\\u{ord(raw):04x}")
    return text


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _get(row: dict[str, Any], key: str) -> Any:
    value = _plain(row.get(key))
    return None if value is pd.NA else value


def run_labels(runs: pd.DataFrame) -> dict[str, str]:
    """Run name -> "model · setting · variation", with the run name where that is ambiguous."""
    labels = {}
    for row in runs.to_dict("records"):
        parts = [_get(row, k) for k in ("model", "setting", "variation")]
        labels[str(row.get("run"))] = " · ".join(str(p) for p in parts if p is not None)
    counts = Counter(labels.values())
    return {run: f"{x} ({run})" if not x or counts[x] > 1 else x for run, x in labels.items()}


def _td(value: Any, cls: str = "", span: int = 1) -> str:
    text = "" if value is None else str(value)
    attrs = (f' class="{cls}"' if cls else "") + (f' rowspan="{span}"' if span > 1 else "")
    return f"<td{attrs}>{escape(text)}</td>"


CONVENTIONS = (
    "Every rate is given twice. <em>Of decided</em>: refused / (refused + complied), invalid "
    "samples left out; the gap (paid minus free refusal) on queries valid in both tiers. "
    "<em>Of all (paper)</em>: as the paper counts, an invalid sample did not comply, and the AF "
    "rate is over every sample of the tier; the gap on every query present in both tiers. "
    "Each with a 95% CI; gaps with an exact McNemar test. The comparison with published "
    "figures uses the paper's."
)
RUN_HEAD = (
    "Model / run", "Setting", "Variation", "Epochs", "Judges: compliance, AF", "Tier", "n",
    "Refused", "Complied", "Invalid", "Refusal, of decided [95% CI]",
    "Refusal, of all (paper) [95% CI]", "AF, of judged [95% CI]", "AF, of all (paper) [95% CI]",
    "Gap pp, of decided [95% CI]", "McNemar p", "Gap pp, of all (paper) [95% CI]",
)  # fmt: skip
# Per tier: the rate columns' keys in the runs table (analysis.runs.run_row) and their CI keys.
RATE_KEYS = (
    ("refusal_rate", "refusal_lo", "refusal_hi"),
    ("refusal_rate_all", "refusal_all_lo", "refusal_all_hi"),
    ("af_rate", "af_lo", "af_hi"),
    ("af_rate_all", "af_all_lo", "af_all_hi"),
)


def caveat_banner(runs: pd.DataFrame) -> list[str]:
    """A warning above everything when any run is on the embedded demo model."""
    models = runs.get("model", [])
    embedded = sorted({str(model) for model in models if is_embedded(str(model))})
    if not embedded:
        return []
    return [
        f'<p class="caveat" id="embedded-caveat"><strong>{escape(", ".join(embedded))}</strong>: '
        f"{escape(EMBEDDED_CAVEAT)}. Pass --model for a real study.</p>"
    ]


def _markers_html(row: dict[str, Any]) -> str:
    return "".join(f'<div class="marker">{escape(m)}</div>' for m in run_markers(row))


def _gap_cell(pp: Any, lo: Any, hi: Any) -> str:
    return "n/a" if pp is None else f"{pp:+.1f} [{lo:+.1f},\u00a0{hi:+.1f}]"


def runs_table(runs: pd.DataFrame) -> str:
    """One block of two rows (one per tier) for each run."""
    rows = []
    for row in runs.to_dict("records"):
        g = partial(_get, row)
        rule = g("compliance_rule") or "tag"
        pp, lo, hi, p = (g(f"gap_{k}") for k in ("pp", "lo_pp", "hi_pp", "mcnemar_p"))
        pairs = int(g("gap_pairs") or 0)
        judges = f"{rule} rule, {g('af_judge') or 'no AF judge'}"
        if g("judge_models"):
            judges += f" ({g('judge_models')})" + (", judged itself" if g("self_judged") else "")
        lead = [
            f'<td rowspan="2">{escape(str(g("model")))}'
            f'<div class="run">{escape(str(g("run")))}</div>{_markers_html(row)}</td>',
            _td(g("setting"), "", 2),
            _td(g("variation"), "", 2),
            _td(g("epochs"), "", 2),
            _td(judges, "", 2),
        ]
        all_pp, all_lo, all_hi = (g(f"gap_all_{k}") for k in ("pp", "lo_pp", "hi_pp"))
        all_pairs = int(g("gap_all_pairs") or 0)
        tail = [
            _td(_gap_cell(pp, lo, hi), "num", 2),
            _td(
                "n/a" if p is None else f"{p:.3g}" + (f" ({pairs}\u00a0pairs)" if pairs else ""),
                "num",
                2,
            ),
            _td(
                _gap_cell(all_pp, all_lo, all_hi)
                + (f" ({all_pairs}\u00a0pairs)" if all_pp is not None else ""),
                "num",
                2,
            ),
        ]
        for i, (tier, label) in enumerate(TIER_LABELS.items()):
            cells = [_td(label, "tier")]
            cells += [_td(g(f"{tier}_{k}"), "num") for k in ("n", "refused", "complied", "invalid")]
            for rate, low, high in RATE_KEYS:
                ci = [g(f"{tier}_{low}"), g(f"{tier}_{high}")]
                cells.append(_td(percent(g(f"{tier}_{rate}"), ci, "n/a").strip(), "num"))
            cells = lead + cells + tail if i == 0 else cells
            rows.append(f'<tr class="{"first" if i == 0 else "second"}">{"".join(cells)}</tr>')
    head = "".join(f"<th>{h}</th>" for h in RUN_HEAD)
    return (
        f'<div class="scroll"><table id="runs-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def frame_table(frame: pd.DataFrame, empty: str, table_id: str = "reference-table") -> str:
    """Any DataFrame as an escaped HTML table."""
    if frame is None or frame.empty:
        return f'<p class="note">{escape(empty)}</p>'

    def cell(value: Any) -> str:
        value = _get({"v": value}, "v")
        if isinstance(value, float):
            return _td(f"{value:.3g}", "num")
        return _td(value, "num" if isinstance(value, int) else "")

    head = "".join(f"<th>{escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in frame.itertuples(index=False)
    )
    return (
        f'<div class="scroll"><table id="{escape(table_id)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def figures_html(figures: list[Path], captions: Mapping[str, str] | None = None) -> str:
    """Each figure inlined as a data URI, so that the page stands alone, captioned with
    ``captions[stem]`` (its title: the lines of a title become one line) or its stem."""
    parts = []
    for figure in map(Path, figures):
        mime = MIME.get(figure.suffix.lower())
        if mime is None:
            continue
        data = base64.b64encode(figure.read_bytes()).decode("ascii")
        caption = (captions or {}).get(figure.stem) or figure.stem.replace("_", " ")
        name = escape(" — ".join(caption.splitlines()))
        parts.append(
            f'<figure><img src="data:{mime};base64,{data}" alt="{name}">'
            f"<figcaption>{name}</figcaption></figure>"
        )
    return (
        f'<div class="figures">{"".join(parts)}</div>'
        if parts
        else '<p class="note">No figures.</p>'
    )


BROWSER = """<h2>Transcripts</h2>
<div class="filters">
<label>Run <select id="filter-run"></select></label>
<label>Tier <select id="filter-tier"></select></label>
<label>Outcome <select id="filter-bucket"></select></label>
<label>AF verdict <select id="filter-af"></select></label>
<label>Category <select id="filter-category"></select></label>
<button type="button" id="filter-reset">Reset</button>
<span id="shown-count"></span>
<span class="pages"><button type="button" id="page-first" title="First page">«</button>
<button type="button" id="page-prev">‹ Previous</button> <span id="page-info"></span>
<button type="button" id="page-next">Next ›</button>
<button type="button" id="page-last" title="Last page">»</button></span>
</div>
<noscript><p>The transcript browser needs JavaScript.</p></noscript>
<div id="cards"></div>
<div id="pair-view" hidden><div class="pair-box">
<div class="pair-head"><strong id="pair-title"></strong>
<button type="button" id="pair-close">Close</button></div>
<div id="pair-grid"></div></div></div>"""

# The page's style and script, kept as package data (aflab/report/assets). Both have always
# opened with a line break inside <style> and <script>; the script's CSP hash covers it.
CSS = "\n" + _asset("report.css")
SCRIPT = "\n" + _asset("report.js")
