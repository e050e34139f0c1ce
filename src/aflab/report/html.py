"""The report page: one self-contained HTML file with the run tables, the figures and a
transcript browser. It works offline from disk: figures are inlined as base64, CSS and JS are
inline, nothing is fetched (the page's Content-Security-Policy forbids it).

Model and user text never reaches an HTML parser. Server-side cells go through ``html.escape``;
transcripts travel as JSON in ``<script type="application/json" id="aflab-data">`` (with ``<``,
``>`` and ``&`` written as ``\\u003c`` ``\\u003e`` ``\\u0026``), from which the page's script
builds the cards with ``createElement`` and ``textContent`` only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections import Counter
from collections.abc import Sequence
from functools import partial
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aflab.report.tables import TIER_LABELS, percent

MIME = {".png": "image/png", ".svg": "image/svg+xml"}


def write_html(
    path: Path,
    runs: pd.DataFrame,
    samples: dict[str, list[dict]],
    figures: list[Path],
    reference: pd.DataFrame,
    sections: Sequence[str] = (),
) -> Path:
    """Write the page to ``path`` and return it. ``sections`` are further parts of the page,
    placed before the transcripts; they must be built with this module's escaping helpers."""
    labels = run_labels(runs)
    n = sum(len(v) for v in samples.values())
    n_runs = len(runs) + len(set(samples) - set(labels))  # anti-lab runs are not in the table
    body = [
        "<h1>aflab report</h1>",
        f'<p class="note">{n_runs} run(s), {n} samples. Refusal rates count refused / '
        "(refused + complied), invalid samples apart; the gap (paid minus free refusal) uses "
        "queries valid in both tiers, with a 95% CI and an exact McNemar test.</p>",
        *(_runs_sections(runs, reference, figures) if not runs.empty else []),
        *sections,
        BROWSER,
        '<script type="application/json" id="aflab-data">'
        + script_json({"samples": samples, "labels": labels})
        + "</script>",
        f"<script>{SCRIPT}</script>",
    ]
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    csp = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'"
    )
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>aflab report</title>\n<style>{CSS}</style></head>\n"
        "<body><main>\n" + "\n".join(body) + "\n</main></body></html>\n"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def _runs_sections(runs: pd.DataFrame, reference: pd.DataFrame, figures: list[Path]) -> list[str]:
    return [
        "<h2>Runs</h2>",
        runs_table(runs),
        "<h2>Compared with the paper</h2>",
        frame_table(reference, "No published figure matches these runs."),
        "<h2>Figures</h2>",
        figures_html(figures),
    ]


def script_json(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` element: no ``<``, ``>`` or ``&`` left raw."""
    text = json.dumps(_plain(value), ensure_ascii=False, allow_nan=False, default=str)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


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


RUN_HEAD = (
    "Model / run", "Setting", "Variation", "Epochs", "Judges: compliance, AF", "Tier", "n",
    "Refused", "Complied", "Invalid", "Refusal rate [95% CI]", "AF rate [95% CI]",
    "Gap pp [95% CI]", "McNemar p",
)  # fmt: skip


def _variation_cell(variation: Any, enforced: Any) -> str:
    return f"{variation}; format enforced by {enforced}" if enforced else str(variation)


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
            f'<div class="run">{escape(str(g("run")))}</div></td>',
            _td(g("setting"), "", 2),
            _td(_variation_cell(g("variation"), g("format_enforced")), "", 2),
            _td(g("epochs"), "", 2),
            _td(judges, "", 2),
        ]
        tail = [
            _td("n/a" if pp is None else f"{pp:+.1f} [{lo:+.1f},\u00a0{hi:+.1f}]", "num", 2),
            _td(
                "n/a" if p is None else f"{p:.3g}" + (f" ({pairs}\u00a0pairs)" if pairs else ""),
                "num",
                2,
            ),
        ]
        for i, (tier, label) in enumerate(TIER_LABELS.items()):
            cells = [_td(label, "tier")]
            cells += [_td(g(f"{tier}_{k}"), "num") for k in ("n", "refused", "complied", "invalid")]
            for kind in ("refusal", "af"):
                ci = [g(f"{tier}_{kind}_lo"), g(f"{tier}_{kind}_hi")]
                cells.append(_td(percent(g(f"{tier}_{kind}_rate"), ci, "n/a").strip(), "num"))
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


def figures_html(figures: list[Path]) -> str:
    """Each figure inlined as a data URI, so that the page stands alone."""
    parts = []
    for figure in map(Path, figures):
        mime = MIME.get(figure.suffix.lower())
        if mime is None:
            continue
        data = base64.b64encode(figure.read_bytes()).decode("ascii")
        name = escape(figure.stem.replace("_", " "))
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
</div>
<noscript><p>The transcript browser needs JavaScript.</p></noscript>
<div id="cards"></div>
<div id="pair-view" hidden><div class="pair-box">
<div class="pair-head"><strong id="pair-title"></strong>
<button type="button" id="pair-close">Close</button></div>
<div id="pair-grid"></div></div></div>"""

CSS = """
:root{--fg:#1d2330;--muted:#5b6475;--line:#d9dee7;--bg:#f5f6f8}
*{box-sizing:border-box}[hidden]{display:none!important}html{scroll-padding-top:84px}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--fg);background:var(--bg)}
main{max-width:1320px;margin:0 auto;padding:20px 24px 60px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 10px;border-bottom:1px solid var(--line);padding-bottom:4px}
h4{margin:10px 0 3px;font-size:11px;text-transform:uppercase;letter-spacing:.05em;
color:var(--muted)}
.note,.meta{color:var(--muted)}.meta{font-size:12px}.scroll{overflow-x:auto}
table{border-collapse:collapse;background:#fff;font-size:12.5px}
th,td{border:1px solid var(--line);padding:4px 7px;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}tr.first td{border-top:2px solid #b9c1cf}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.tier{white-space:nowrap}
div.run{font:10.5px ui-monospace,monospace;color:var(--muted);word-break:break-all;
max-width:17em;margin-top:2px}
.figures{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0;background:#fff;border:1px solid var(--line);padding:8px;max-width:100%;
flex:0 1 calc(50% - 8px);min-width:min(100%,380px)}
figure img{max-width:100%;height:auto;display:block;margin:0 auto}
figcaption{color:var(--muted);font-size:12px;margin-top:4px}
.filters{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:flex-end;background:#fff;
border:1px solid var(--line);border-radius:6px;padding:8px 12px;position:sticky;top:0;z-index:2}
.filters label{display:flex;flex-direction:column;font-size:12px;color:var(--muted)}
select,button{font:inherit;font-size:13px}select{padding:2px 4px;min-width:8em;max-width:22em}
button{padding:3px 10px;cursor:pointer;border:1px solid #b9c1cf;border-radius:4px;
background:#f3f5f8}
button:hover{background:#e6eaf0}#shown-count{margin-left:auto;color:var(--muted)}
.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:10px 14px;
margin:12px 0}
.card.flash{outline:3px solid #e69f00}
.head{display:flex;flex-wrap:wrap;gap:6px 10px;align-items:center}
.badge{border-radius:10px;padding:1px 9px;font-size:12px;background:#e8ebf0;white-space:nowrap}
.badge[data-tier=free]{background:#fbd9c4}.badge[data-tier=paid]{background:#cfe3f3}
.badge[data-bucket=refused]{background:#cde9f8}.badge[data-bucket=complied_af]{background:#f9d89a}
.badge[data-bucket=complied_no_af]{background:#f7f1a8}.badge[data-bucket=invalid]{background:#ddd}
.badge[data-bucket=unscored]{background:#f0d6e6}
.links{margin:6px 0 2px;display:flex;gap:12px;align-items:center;font-size:13px}
a{color:#0b5cad}
pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:0;padding:7px 10px;background:#f8f9fb;
border:1px solid #e6e9ef;border-radius:4px;font:12.5px/1.45 ui-monospace,Menlo,monospace;
max-height:22em;overflow:auto}
pre.scratch{background:#fffaf0}
.judge{display:flex;flex-wrap:wrap;gap:4px 10px;align-items:baseline;margin:3px 0}
.jname{font-weight:600;font-size:13px}.expl{color:var(--muted);font:12px ui-monospace,monospace}
ul.evidence{margin:0 0 6px;padding-left:22px;font-size:13px}
details{margin-top:8px;font-size:13px}summary{cursor:pointer;color:var(--muted)}
#pair-view{position:fixed;inset:0;background:rgba(20,24,32,.55);z-index:10;padding:20px;overflow:auto}
.pair-box{background:var(--bg);max-width:1500px;margin:0 auto;border-radius:8px;padding:12px 16px}
.pair-head{display:flex;justify-content:space-between;align-items:center;gap:12px;margin-bottom:8px}
#pair-grid{display:grid;grid-template-columns:1fr 1fr;gap:14px}#pair-grid .card{margin:0}
@media print{.filters{position:static}pre{max-height:none}}
@media (max-width:900px){#pair-grid{grid-template-columns:1fr}}
"""

SCRIPT = """
'use strict';
(() => {
  const data = JSON.parse(document.getElementById('aflab-data').textContent);
  const labels = data.labels || {};
  const all = Object.values(data.samples).flat();
  const TIER = {free: 'free (training)', paid: 'paid (unmonitored)'};
  const str = v => (v === null || v === undefined) ? '(no verdict)' : String(v);
  const key = (s, tier) => JSON.stringify([s.run, s.query_id, s.epoch, tier]);
  const index = new Map(all.map((s, i) => [key(s, s.tier), i]));
  const pairOf = s => index.get(key(s, s.tier === 'free' ? 'paid' : 'free'));
  const FILTERS = {run: s => s.run, tier: s => s.tier, bucket: s => s.bucket,
    af: s => s.af_verdict, category: s => s.category};
  const $ = id => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const block = (parent, title, text, cls) =>
    parent.append(el('h4', null, title), el('pre', cls, text));

  function head(s) {
    const h = el('div', 'head');
    const tier = el('span', 'badge', TIER[s.tier] || str(s.tier));
    tier.dataset.tier = str(s.tier);
    const bucket = el('span', 'badge', str(s.bucket));
    bucket.dataset.bucket = str(s.bucket);
    h.append(tier, bucket, el('span', 'badge', 'AF: ' + str(s.af_verdict)),
      el('span', 'meta', `${str(s.category)} · ${str(s.query_id)} · epoch ${str(s.epoch)}` +
        ` · ${str(s.outcome)} (${str(s.reason)})`),
      el('span', 'meta', labels[s.run] || str(s.run)));
    return h;
  }

  function judges(s) {
    const d = el('div', 'judges');
    d.append(el('h4', null, 'Judges'));
    for (const [name, j] of Object.entries(s.judges || {})) {
      const m = (j && j.metadata) || {};
      const row = el('div', 'judge');
      row.append(el('span', 'jname', name), el('span', 'badge', str(j && j.value)));
      if (j && j.explanation) row.append(el('span', 'expl', String(j.explanation)));
      if (typeof m.share === 'number') {
        row.append(el('span', 'expl', `yes share ${(100 * m.share).toFixed(0)}%`));
      }
      d.append(row);
      const votes = (Array.isArray(m.votes) ? m.votes : []).filter(v => v && typeof v === 'object');
      const evidence = m.evidence && typeof m.evidence === 'object' ? m.evidence : {};
      const names = votes.flatMap(v => Object.keys(v)).concat(Object.keys(evidence));
      const criteria = [...new Set(names)];
      if (!criteria.length) continue;
      const ul = el('ul', 'evidence');
      for (const c of criteria) {
        const li = el('li', null, c.replace(/_/g, ' '));
        if (votes.length) {
          const yes = votes.filter(v => v[c] === true).length;
          li.append(el('span', 'meta', ` ${yes}/${votes.length} yes`));
        }
        if (evidence[c]) li.append(': ', el('q', null, String(evidence[c])));
        ul.append(li);
      }
      d.append(ul);
    }
    return d;
  }

  function body(s) {
    const b = el('div', 'body');
    block(b, 'Query', str(s.query));
    const pads = s.scratchpads || [];
    pads.forEach((t, i) => block(b, `Scratchpad ${i + 1} of ${pads.length}`, String(t), 'scratch'));
    if (!pads.length) b.append(el('h4', null, 'No scratchpad'));
    const output = s.output === null || s.output === undefined ? '(none parsed)' : String(s.output);
    block(b, 'Final output', output);
    b.append(judges(s));
    const raw = el('details');
    raw.append(el('summary', null, `Raw replies (${(s.replies || []).length})`));
    (s.replies || []).forEach(r => raw.append(el('pre', null, String(r))));
    b.append(raw);
    return b;
  }

  const cards = all.map((s, i) => {
    const c = el('article', 'card');
    c.id = 's-' + i;
    for (const [name, get] of Object.entries(FILTERS)) c.dataset[name] = str(get(s));
    c.dataset.query = str(s.query_id);
    const links = el('div', 'links');
    const j = pairOf(s);
    if (j === undefined) links.append(el('span', 'meta', 'No paired sample in the other tier.'));
    else {
      const a = el('a', 'pair-link', `Paired sample: ${TIER[all[j].tier] || str(all[j].tier)} →`);
      a.href = '#s-' + j;
      a.addEventListener('click', e => { e.preventDefault(); reveal(j); });
      const b = el('button', 'pair-side', 'Side by side');
      b.type = 'button';
      b.addEventListener('click', () => sideBySide(i, j));
      links.append(a, b);
    }
    c.append(head(s), links, body(s));
    return c;
  });

  function apply() {
    const want = {};
    for (const name of Object.keys(FILTERS)) want[name] = $('filter-' + name).value;
    let shown = 0;
    all.forEach((s, i) => {
      const ok = Object.entries(FILTERS).every(([n, get]) => !want[n] || str(get(s)) === want[n]);
      cards[i].hidden = !ok;
      shown += ok ? 1 : 0;
    });
    $('shown-count').textContent = `showing ${shown} of ${all.length} samples`;
  }

  function reset() {
    for (const name of Object.keys(FILTERS)) $('filter-' + name).value = '';
    apply();
  }

  function reveal(j) {
    if (cards[j].hidden) reset();
    cards.forEach(c => c.classList.remove('flash'));
    cards[j].classList.add('flash');
    cards[j].scrollIntoView({block: 'start'});
  }

  function sideBySide(i, j) {
    const pair = all[i].tier === 'paid' ? [all[j], all[i]] : [all[i], all[j]];
    $('pair-grid').replaceChildren(...pair.map(s => {
      const c = el('article', 'card');
      c.dataset.tier = str(s.tier);
      c.append(head(s), body(s));
      return c;
    }));
    const s = all[i];
    const run = labels[s.run] || str(s.run);
    $('pair-title').textContent = `Query ${str(s.query_id)}, epoch ${str(s.epoch)}: ${run}`;
    $('pair-view').hidden = false;
    $('pair-close').focus();
  }

  const close = () => { $('pair-view').hidden = true; };
  $('pair-close').addEventListener('click', close);
  $('pair-view').addEventListener('click', e => { if (e.target === $('pair-view')) close(); });
  document.addEventListener('keydown', e => { if (e.key === 'Escape') close(); });
  $('filter-reset').addEventListener('click', reset);
  for (const [name, get] of Object.entries(FILTERS)) {
    const select = $('filter-' + name);
    select.append(new Option('all', ''));
    for (const v of [...new Set(all.map(s => str(get(s))))].sort()) {
      select.append(new Option(name === 'run' ? (labels[v] || v) : v, v));
    }
    select.addEventListener('change', apply);
  }
  const list = document.createDocumentFragment();
  for (const c of cards) list.append(c);
  $('cards').append(list);
  apply();
})();
"""
