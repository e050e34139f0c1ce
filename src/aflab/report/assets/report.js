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
