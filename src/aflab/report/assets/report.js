'use strict';
(() => {
  // The transcripts are files beside the page (aflab/report/transcripts.py): transcripts/index.js
  // holds every sample's filter and pair fields, column by column; chunk-NNNNN.js the records of
  // `size` samples. Each is loaded as a <script> (fetch() of file:// is blocked) that hands its
  // data to window.aflabTranscripts. A page shows as many cards as a chunk holds, loading only
  // the chunks they are in (one when no filter is set) and keeping at most KEEP chunks.
  const KEEP = 60;
  const data = JSON.parse(document.getElementById('aflab-data').textContent);
  const labels = data.labels || {};
  const TIER = {free: 'free (training)', paid: 'paid (unmonitored)'};
  const FILTERS = ['run', 'tier', 'bucket', 'af', 'category'];
  const str = v => (v === null || v === undefined) ? '(no verdict)' : String(v);
  const $ = id => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const block = (parent, title, text, cls) =>
    parent.append(el('h4', null, title), el('pre', cls, text));

  let index = null;  // {size, count, chunks, values: {column: [...]}, columns: {column: [codes]}}
  const chunks = new Map();  // chunk number -> its records, least recently used first
  const loading = new Map();  // chunk number -> the promise of its records
  let shown = [];  // the numbers of the samples the filters let through, ascending
  let page = 0;
  let drawn = 0;  // the latest render asked for: an older one that finishes later is dropped
  let pairs = new Map();

  window.aflabTranscripts = {
    index(d) { index = d; },
    chunk(n, records) { chunks.set(n, records); },
  };

  function load(src) {
    return new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = src;
      s.onload = () => { s.remove(); resolve(); };
      s.onerror = () => { s.remove(); reject(new Error(`${src} could not be loaded`)); };
      document.head.append(s);
    });
  }

  const chunkFile = n => `transcripts/chunk-${String(n).padStart(5, '0')}.js`;
  function chunk(n) {
    if (chunks.has(n)) {
      const records = chunks.get(n);
      chunks.delete(n);
      chunks.set(n, records);
      return Promise.resolve(records);
    }
    if (!loading.has(n)) {
      const file = chunkFile(n);
      loading.set(n, load(file).then(() => {
        if (!chunks.has(n)) throw new Error(`${file} holds no transcripts`);
        return chunks.get(n);
      }).finally(() => loading.delete(n)));
    }
    return loading.get(n);
  }
  const chunkOf = i => Math.floor(i / index.size);
  // The records of samples `ids`, as a function of the sample's number.
  async function need(ids) {
    const numbers = [...new Set(ids.map(chunkOf))];
    const got = new Map(numbers.map((n, k) => [n, k]));
    const records = await Promise.all(numbers.map(chunk));
    return i => records[got.get(chunkOf(i))][i % index.size];
  }
  const value = (column, i) => index.values[column][index.columns[column][i]];

  function forget(keep) {
    for (const n of chunks.keys()) {
      if (chunks.size <= KEEP) break;
      if (!keep.has(n)) chunks.delete(n);
    }
  }

  const pairKey = (i, tier) => [index.columns.run[i], index.columns.query[i],
    index.columns.epoch[i], tier].join(' ');
  const pairOf = i => pairs.get(pairKey(i, value('tier', i) === 'free' ? 'paid' : 'free'));

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

  function card(i, record) {
    const s = record(i);
    const c = el('article', 'card');
    c.id = 's-' + i;
    for (const name of FILTERS) c.dataset[name] = str(value(name, i));
    c.dataset.query = str(s.query_id);
    const links = el('div', 'links');
    const j = pairOf(i);
    if (j === undefined) links.append(el('span', 'meta', 'No paired sample in the other tier.'));
    else {
      const tier = value('tier', j);
      const a = el('a', 'pair-link', `Paired sample: ${TIER[tier] || str(tier)} →`);
      a.href = '#s-' + j;
      a.addEventListener('click', e => { e.preventDefault(); reveal(j); });
      const b = el('button', 'pair-side', 'Side by side');
      b.type = 'button';
      b.addEventListener('click', () => sideBySide(i, j));
      links.append(a, b);
    }
    c.append(head(s), links, body(s));
    return c;
  }

  const pageCount = () => Math.max(1, Math.ceil(shown.length / index.size));

  function controls() {
    const last = pageCount() - 1;
    $('page-info').textContent = `page ${page + 1} of ${last + 1}`;
    $('page-first').disabled = $('page-prev').disabled = page === 0;
    $('page-next').disabled = $('page-last').disabled = page === last;
  }

  function fail(error) {
    $('cards').setAttribute('aria-busy', 'false');
    $('cards').replaceChildren(el('p', 'note', `Transcripts could not be shown: ${error.message}.` +
      ' The page reads them from the transcripts folder beside it: keep the report folder whole.'));
  }

  // Draws the current page; resolves once its cards are in place (or a newer page was asked).
  async function render() {
    const mine = ++drawn;
    controls();
    const ids = shown.slice(page * index.size, (page + 1) * index.size);
    $('cards').setAttribute('aria-busy', 'true');
    let record;
    try {
      record = await need(ids);
    } catch (error) {
      if (mine === drawn) fail(error);
      return;
    }
    if (mine !== drawn) return;
    forget(new Set(ids.map(chunkOf)));
    $('cards').replaceChildren(...ids.map(i => card(i, record)));
    $('cards').setAttribute('aria-busy', 'false');
    if (!performance.getEntriesByName('aflab-first-page').length) {
      performance.mark('aflab-first-page');
    }
    $('cards').dataset.page = String(page + 1);
  }

  function turn(to) {
    page = Math.min(Math.max(0, to), pageCount() - 1);
    render().then(() => {
      if ($('cards').getBoundingClientRect().top < 0) $('cards').scrollIntoView({block: 'start'});
    });
  }

  function filtered() {
    const want = [];
    for (const name of FILTERS) {
      const chosen = $('filter-' + name).value;
      if (!chosen) continue;
      const codes = new Set();
      index.values[name].forEach((v, code) => { if (str(v) === chosen) codes.add(code); });
      want.push([index.columns[name], codes]);
    }
    const ids = [];
    for (let i = 0; i < index.count; i++) {
      if (want.every(([column, codes]) => codes.has(column[i]))) ids.push(i);
    }
    return ids;
  }

  function apply() {
    shown = filtered();
    page = 0;
    $('shown-count').textContent = `showing ${shown.length} of ${index.count} samples`;
    return render();
  }

  function clearFilters() {
    for (const name of FILTERS) $('filter-' + name).value = '';
  }

  // The page holding sample j, with the filters reset if they hide it; j flashes there.
  async function reveal(j) {
    let at = position(j);
    if (at < 0) {
      clearFilters();
      shown = filtered();
      $('shown-count').textContent = `showing ${shown.length} of ${index.count} samples`;
      at = position(j);
    }
    page = Math.floor(at / index.size);
    await render();
    const target = $('s-' + j);
    if (!target) return;
    document.querySelectorAll('#cards .card.flash').forEach(c => c.classList.remove('flash'));
    target.classList.add('flash');
    target.scrollIntoView({block: 'start'});
  }

  function position(j) {
    let lo = 0, hi = shown.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (shown[mid] < j) lo = mid + 1; else hi = mid;
    }
    return shown[lo] === j ? lo : -1;
  }

  async function sideBySide(i, j) {
    let record;
    try {
      record = await need([i, j]);
    } catch (error) {
      fail(error);
      return;
    }
    const pair = value('tier', i) === 'paid' ? [j, i] : [i, j];
    $('pair-grid').replaceChildren(...pair.map(k => {
      const s = record(k);
      const c = el('article', 'card');
      c.dataset.tier = str(s.tier);
      c.append(head(s), body(s));
      return c;
    }));
    const s = record(i);
    const run = labels[s.run] || str(s.run);
    $('pair-title').textContent = `Query ${str(s.query_id)}, epoch ${str(s.epoch)}: ${run}`;
    $('pair-view').hidden = false;
    $('pair-close').focus();
  }

  // A link to one card, #s-N (the judge agreement section's, or another page's): that card, on
  // its page, with the filters reset if they hide it. Followed when the page opens on such an
  // address and whenever one is clicked, the same one again included.
  function linked() {
    const m = /^#s-(\d+)$/.exec(location.hash);
    const j = m ? Number(m[1]) : -1;
    return index && j < index.count ? j : -1;
  }
  function follow() {
    const j = linked();
    if (j >= 0) reveal(j);
  }
  window.addEventListener('hashchange', follow);
  document.addEventListener('click', e => {
    const a = e.target.closest && e.target.closest('a.sample-link');
    if (a && a.hash === location.hash) follow();
  });

  function start() {
    if (!index) throw new Error('transcripts/index.js holds no index');
    pairs = new Map();
    for (let i = 0; i < index.count; i++) pairs.set(pairKey(i, value('tier', i)), i);
    for (const name of FILTERS) {
      const select = $('filter-' + name);
      select.append(new Option('all', ''));
      for (const v of [...new Set(index.values[name].map(str))].sort()) {
        select.append(new Option(name === 'run' ? (labels[v] || v) : v, v));
      }
      select.addEventListener('change', apply);
    }
    $('filter-reset').addEventListener('click', () => { clearFilters(); apply(); });
    $('page-first').addEventListener('click', () => turn(0));
    $('page-prev').addEventListener('click', () => turn(page - 1));
    $('page-next').addEventListener('click', () => turn(page + 1));
    $('page-last').addEventListener('click', () => turn(pageCount() - 1));
    return apply().then(follow);
  }

  const close = () => { $('pair-view').hidden = true; };
  $('pair-close').addEventListener('click', close);
  $('pair-view').addEventListener('click', e => { if (e.target === $('pair-view')) close(); });
  document.addEventListener('keydown', e => { if (e.key === 'Escape') close(); });
  if (data.samples) {
    load('transcripts/index.js').then(start).catch(fail);
  } else {
    index = {size: 1, count: 0, chunks: 0, values: {}, columns: {}};
    for (const name of FILTERS) index.values[name] = [];
    start();
  }
})();
