// hotspotd's web UI: plain DOM code over the JSON API (/api/v1/...), no build step and nothing loaded from
// elsewhere. Every value from the API goes into the page as text, never as markup.
'use strict';

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

async function api(path, options) {
  const res = await fetch(path, options);
  let body = null;
  try { body = await res.json(); } catch (e) { /* not JSON */ }
  if (!res.ok || !body || body.status !== 'success') {
    throw new Error((body && body.error) || `${res.status} ${res.statusText}`);
  }
  return body.data;
}

function fmtNumber(v, digits = 3) {
  if (v === null || v === undefined) return 'n/a';
  if (typeof v !== 'number') return String(v);
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(2);
  return String(Number(v.toPrecision(digits)));
}

function fmtSeconds(v) {
  if (v === null || v === undefined) return 'n/a';
  if (v < 1e-3) return `${fmtNumber(v * 1e6)}µs`;
  if (v < 1) return `${fmtNumber(v * 1e3)}ms`;
  return `${fmtNumber(v)}s`;
}

function fmtTime(t) {
  if (!t) return '—';
  const d = new Date(t);
  return isNaN(d) ? t : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function labelList(labels) {
  return el('span', { class: 'labels' }, Object.entries(labels || {}).map(([k, v]) => el('code', {}, `${k}="${v}"`)));
}

function stateCell(state) { return el('span', { class: `state-${state}` }, state); }

function errorBox(err) { return el('p', { class: 'error' }, `Could not load: ${err.message}`); }

// A table whose columns sort when their header is clicked. columns: [{title, value(row), render(row), num}]
function sortableTable(columns, rows, id) {
  let sortBy = -1, descending = true;
  const tbody = el('tbody');
  const draw = () => {
    const sorted = rows.slice();
    if (sortBy >= 0) {
      const value = columns[sortBy].value;
      sorted.sort((a, b) => {
        const x = value(a), y = value(b);
        const cmp = (x === null) - (y === null) || (x < y ? -1 : x > y ? 1 : 0);
        return descending ? -cmp : cmp;
      });
    }
    tbody.replaceChildren(...sorted.map((r) => el('tr', {}, columns.map((c) =>
      el('td', { class: c.num ? 'num' : undefined }, c.render ? c.render(r) : fmtNumber(c.value(r)))))));
  };
  const head = el('tr', {}, columns.map((c, i) => el('th', {
    class: `sortable${c.num ? ' num' : ''}`,
    onclick: () => { descending = sortBy === i ? !descending : true; sortBy = i; draw(); },
  }, c.title)));
  draw();
  return el('table', { id }, el('thead', {}, head), tbody);
}

// ---- pages ----

async function overview(main) {
  main.replaceChildren(el('h1', {}, 'Overview'));
  const [incidents, hotspots, targets] = await Promise.allSettled([
    api('/api/v1/incidents?state=open&limit=200'), api('/api/v1/hotspots?limit=200'), api('/api/v1/targets')]);

  main.append(el('h2', {}, 'Incidents firing and pending'));
  if (incidents.status === 'rejected') main.append(errorBox(incidents.reason));
  else if (incidents.value.incidents.length === 0) main.append(el('p', { class: 'muted' }, 'Nothing is firing.'));
  else {
    const rows = incidents.value.incidents.slice().sort((a, b) => (a.state === 'firing' ? 0 : 1) - (b.state === 'firing' ? 0 : 1));
    main.append(el('table', { id: 'incidents' },
      el('thead', {}, el('tr', {}, ['State', 'Alert', 'Endpoint', 'Value', 'Threshold', 'Since', 'Why'].map((t) => el('th', {}, t)))),
      el('tbody', {}, rows.map((i) => el('tr', {},
        el('td', {}, stateCell(i.state)),
        el('td', {}, el('a', { href: `/incidents/${i.id}` }, i.alertname)),
        el('td', {}, labelList(i.labels)),
        el('td', { class: 'num' }, fmtNumber(i.value)),
        el('td', { class: 'num' }, fmtNumber(i.threshold)),
        el('td', {}, fmtTime(i.firedAt || i.activeAt)),
        el('td', {}, i.sourceDegraded ? `${i.reason} (not judged now: ${i.sourceDegraded})` : i.reason))))));
  }

  main.append(el('h2', {}, 'Hotspots'));
  if (hotspots.status === 'rejected') main.append(errorBox(hotspots.reason));
  else if (hotspots.value.hotspots.length === 0) main.append(el('p', { class: 'muted' }, 'No latency histograms seen yet.'));
  else {
    main.append(el('p', { class: 'muted' }, `Endpoints by share of server time, weighted by drift (window ${fmtSeconds(hotspots.value.window_seconds)}). Click a column to sort.`));
    main.append(sortableTable([
      { title: 'Endpoint', value: (h) => JSON.stringify(h.labels), render: (h) => labelList(h.labels) },
      { title: 'Rank', value: (h) => h.rank, num: true },
      { title: 'Share of time', value: (h) => h.share, render: (h) => `${fmtNumber(100 * h.share)}%`, num: true },
      { title: 'Requests/s', value: (h) => h.request_rate, num: true },
      { title: 'p50', value: (h) => h.p50.value, render: (h) => fmtSeconds(h.p50.value), num: true },
      { title: 'p99', value: (h) => h.p99.value, render: (h) => `${fmtSeconds(h.p99.value)} (${fmtSeconds(h.p99.lower)}–${fmtSeconds(h.p99.upper)})`, num: true },
      { title: 'Drift', value: (h) => (h.drift ? h.drift.ratio : null), render: (h) => (h.drift ? `×${fmtNumber(h.drift.ratio)}${h.drift.firing ? ' firing' : ''}` : '—'), num: true },
    ], hotspots.value.hotspots, 'hotspots'));
  }

  main.append(el('h2', {}, 'Scrape health'));
  if (targets.status === 'rejected') main.append(errorBox(targets.reason));
  else {
    const rows = targets.value.activeTargets.slice().sort((a, b) => (a.health === 'down' ? 0 : 1) - (b.health === 'down' ? 0 : 1));
    main.append(el('table', { id: 'targets' },
      el('thead', {}, el('tr', {}, ['Job', 'Target', 'Health', 'Last scrape', 'Duration', 'Samples', 'Last error'].map((t) => el('th', {}, t)))),
      el('tbody', {}, rows.map((t) => el('tr', {},
        el('td', {}, t.job), el('td', {}, t.scrapeUrl), el('td', {}, el('span', { class: `health-${t.health}` }, t.health)),
        el('td', {}, fmtTime(t.lastScrape)), el('td', { class: 'num' }, fmtSeconds(t.lastScrapeDuration)),
        el('td', { class: 'num' }, t.samples), el('td', { class: 'error' }, t.lastError))))));
  }
}

// The incident's marks on one time axis: when it went pending, fired and resolved.
function timelineChart(incident) {
  const points = incident.timeline.filter((t) => t.at).map((t) => ({ state: t.state, at: Date.parse(t.at) }));
  const start = points[0].at, end = incident.resolvedAt ? Date.parse(incident.resolvedAt) : Date.now();
  const span = Math.max(end - start, 1000), pad = span * 0.1;
  const x = (t) => 40 + (860 - 40) * (t - (start - pad)) / (span + 2 * pad);
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('viewBox', '0 0 900 120');
  svg.setAttribute('id', 'timeline');
  const add = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text) n.textContent = text;
    svg.append(n);
  };
  add('line', { x1: 40, x2: 860, y1: 70, y2: 70, stroke: '#999' });
  const firing = points.find((p) => p.state === 'firing');
  if (firing) add('rect', { x: x(firing.at), y: 55, width: Math.max(2, x(end) - x(firing.at)), height: 30, fill: '#b3261e', opacity: 0.25 });
  points.forEach((p, i) => {
    const color = p.state === 'firing' ? '#b3261e' : p.state === 'resolved' ? '#1e7b34' : '#a15c00';
    add('line', { x1: x(p.at), x2: x(p.at), y1: 30, y2: 95, stroke: color, 'stroke-width': 2, class: `mark-${p.state}` });
    // Labels on rows of their own: pending and firing are often the same second.
    add('text', { x: Math.min(x(p.at) + 4, 700), y: 14 + 14 * i, 'font-size': 12, fill: color }, `${p.state} ${fmtTime(new Date(p.at).toISOString())}`);
  });
  return svg;
}

// A line chart of one series around the incident, with the firing and resolve marks and (for the judged series)
// the threshold. points: [[unix seconds, value or null], ...]
function lineChart(series, incident, threshold, range, id) {
  const ns = 'http://www.w3.org/2000/svg';
  const W = 900, H = 220, L = 70, R = 20, T = 24, B = 28;
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('id', id);
  const add = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    svg.append(n);
    return n;
  };
  const pts = series.points.filter((p) => p[1] !== null);
  const t0 = range.from, t1 = range.to;
  const values = pts.map((p) => p[1]).concat(threshold !== null && threshold !== undefined ? [threshold] : []);
  const lo = Math.min(0, ...values), hi = Math.max(...values, lo + 1e-9) * 1.1;
  const x = (t) => L + (W - L - R) * (t - t0) / Math.max(t1 - t0, 1);
  const y = (v) => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
  const fmt = series.unit === 'seconds' ? fmtSeconds : series.unit === 'ratio' ? (v) => `${fmtNumber(100 * v)}%` : fmtNumber;
  add('text', { x: L, y: 16, 'font-size': 12, 'font-weight': 600 }, series.name);
  add('line', { x1: L, x2: W - R, y1: y(lo), y2: y(lo), stroke: '#999' });
  add('text', { x: L - 6, y: y(hi) + 4, 'font-size': 11, 'text-anchor': 'end', fill: '#65707a' }, fmt(hi));
  add('text', { x: L - 6, y: y(lo) + 4, 'font-size': 11, 'text-anchor': 'end', fill: '#65707a' }, fmt(lo));
  add('text', { x: L, y: H - 8, 'font-size': 11, fill: '#65707a' }, fmtTime(new Date(t0 * 1000).toISOString()));
  add('text', { x: W - R, y: H - 8, 'font-size': 11, 'text-anchor': 'end', fill: '#65707a' }, fmtTime(new Date(t1 * 1000).toISOString()));
  if (threshold !== null && threshold !== undefined) {
    add('line', { x1: L, x2: W - R, y1: y(threshold), y2: y(threshold), stroke: '#a15c00', 'stroke-dasharray': '5 4', class: 'threshold' });
    add('text', { x: W - R, y: y(threshold) - 4, 'font-size': 11, 'text-anchor': 'end', fill: '#a15c00' }, `threshold ${fmt(threshold)}`);
  }
  for (const [state, at] of [['firing', incident.firedAt], ['resolved', incident.resolvedAt]]) {
    if (!at) continue;
    const t = Date.parse(at) / 1000;
    if (t < t0 || t > t1) continue;
    const color = state === 'firing' ? '#b3261e' : '#1e7b34';
    add('line', { x1: x(t), x2: x(t), y1: T, y2: H - B, stroke: color, 'stroke-width': 2, class: `mark-${state}` });
    add('text', { x: x(t) + 4, y: T + 12, 'font-size': 11, fill: color }, state);
  }
  // The line, broken where there is no value.
  let d = '', pen = false;
  for (const [t, v] of series.points) {
    if (v === null) { pen = false; continue; }
    d += `${pen ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)} `;
    pen = true;
  }
  if (d) add('path', { d, fill: 'none', stroke: '#1f5fa8', 'stroke-width': 1.5, class: 'line' });
  if (!pts.length) add('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', fill: '#65707a' }, 'no data in the store for this window');
  return svg;
}

async function incidentPage(main, id) {
  let incident;
  try { incident = await api(`/api/v1/incidents/${encodeURIComponent(id)}`); } catch (e) {
    main.replaceChildren(el('h1', {}, 'Incident'), errorBox(e));
    return;
  }
  document.title = `${incident.alertname} · hotspotd`;
  const silenceLink = `/silences?${new URLSearchParams(Object.entries(incident.labels).map(([k, v]) => ['matcher', `${k}="${v}"`]).concat([['matcher', `alertname="${incident.alertname}"`]]))}`;
  main.replaceChildren(
    el('h1', {}, incident.alertname, ' ', stateCell(incident.state)),
    el('p', {}, labelList(incident.labels)),
    el('p', {}, el('a', { href: silenceLink, id: 'silence-link' }, 'Silence this…')));
  // A rule on a query source whose answers are missing or partial is not judged: the incident stands still.
  if (incident.sourceDegraded) {
    main.append(el('p', { class: 'degraded', id: 'source-degraded' }, `Not judged now: ${incident.sourceDegraded}`));
  }

  const evidence = el('table', { id: 'evidence' }, el('tbody', {},
    el('tr', {}, el('th', {}, 'Why'), el('td', {}, incident.reason || '—')),
    el('tr', {}, el('th', {}, 'Value'), el('td', {}, fmtNumber(incident.value))),
    el('tr', {}, el('th', {}, 'Threshold'), el('td', {}, fmtNumber(incident.threshold))),
    Object.entries(incident.evidence || {}).map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', {}, fmtNumber(v, 5)))),
    Object.entries(incident.annotations || {}).map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', {}, v)))));
  main.append(el('h2', {}, 'What fired and why'), evidence);
  if (incident.resolution) main.append(el('p', { class: 'muted' }, `Resolved: ${incident.resolution.reason || ''} (value ${fmtNumber(incident.resolution.value)})`));
  main.append(el('h2', {}, 'Timeline'), timelineChart(incident));
  try {
    const data = await api(`/api/v1/incidents/${encodeURIComponent(id)}/series`);
    main.append(el('h2', {}, 'The endpoint around the incident'));
    data.series.forEach((s, i) => main.append(lineChart(s, incident, i === 0 ? data.threshold : null, data, `chart-${i}`)));
  } catch (e) {
    main.append(el('p', { class: 'muted' }, `No chart: ${e.message}`));
  }

  if (incident.exemplars.length) {
    main.append(el('h2', {}, 'Slow requests'), el('ul', {}, incident.exemplars.map((e) => el('li', {},
      e.url ? el('a', { href: e.url, rel: 'noopener noreferrer' }, e.traceId || 'trace') : (e.traceId || 'exemplar'),
      ` ${fmtSeconds(e.value)} at ${fmtTime(e.at)}`))));
  }

  const ok = incident.profiles.filter((p) => !p.error);
  const failed = incident.profiles.filter((p) => p.error);
  if (failed.length || !ok.length) main.append(el('h2', {}, 'Profiles'));
  for (const p of failed) main.append(el('p', { class: 'error' }, `Capture ${p.id}: ${p.error}`));
  if (!ok.length) main.append(el('p', { class: 'muted' }, 'No profile was captured for this incident.'));
  else {
    const newest = ok[ok.length - 1];
    let profile = null;
    try { profile = await api(`/api/v1/profiles/${newest.id}`); } catch (e) { main.append(errorBox(e)); }
    if (profile && profile.summary && profile.summary.grown) {
      main.append(el('h2', {}, 'Frames that grew against the baseline'), el('table', { id: 'grown' },
        el('thead', {}, el('tr', {}, ['Frame', 'Class', 'Baseline', 'Now', 'Grew'].map((t) => el('th', {}, t)))),
        el('tbody', {}, profile.summary.grown.map((g) => el('tr', {},
          el('td', {}, el('code', {}, g.name)), el('td', {}, g.class),
          el('td', { class: 'num' }, `${fmtNumber(100 * g.base_share)}%`), el('td', { class: 'num' }, `${fmtNumber(100 * g.share)}%`),
          el('td', { class: 'num' }, `+${fmtNumber(g.grew_pp)} pp`))))));
    }
    main.append(el('h2', {}, 'Flame graph'), el('iframe', { class: 'flamegraph', id: 'flamegraph', src: `/api/v1/profiles/${newest.id}.svg`, title: 'Flame graph' }));
    if (profile && profile.links && profile.links.diffSvg) {
      main.append(el('h2', {}, 'Differential flame graph (against the baseline)'),
        el('iframe', { class: 'flamegraph', id: 'diff', src: `/api/v1/profiles/${newest.id}.diff.svg`, title: 'Differential flame graph' }));
    }
  }

  main.append(el('h2', {}, 'Notifications'));
  if (!incident.notifications.length) main.append(el('p', { class: 'muted' }, 'None sent.'));
  else {
    main.append(el('table', { id: 'notifications' },
      el('thead', {}, el('tr', {}, ['Receiver', 'State', 'Created', 'Attempts', 'Last status', 'Last error'].map((t) => el('th', {}, t)))),
      el('tbody', {}, incident.notifications.map((n) => el('tr', {},
        el('td', {}, n.receiver), el('td', {}, n.state), el('td', {}, fmtTime(n.createdAt)), el('td', { class: 'num' }, n.attempts),
        el('td', { class: 'num' }, n.lastStatus || '—'), el('td', { class: 'error' }, n.lastError))))));
  }
}

async function profilesPage(main) {
  main.replaceChildren(el('h1', {}, 'Profiles'));
  let data;
  try { data = await api('/api/v1/profiles?limit=500'); } catch (e) { main.append(errorBox(e)); return; }
  if (!data.profiles.length) { main.append(el('p', { class: 'muted' }, 'No profiles yet.')); return; }
  main.append(el('table', { id: 'profiles' },
    el('thead', {}, el('tr', {}, ['Profile', 'Target', 'Kind', 'Incident', 'Started', 'Duration', 'Samples', 'Top frame'].map((t) => el('th', {}, t)))),
    el('tbody', {}, data.profiles.map((p) => el('tr', {},
      el('td', {}, p.error ? p.id : el('a', { href: `/profiles/${p.id}` }, p.id)),
      el('td', {}, p.target), el('td', {}, p.kind),
      el('td', {}, p.incident ? el('a', { href: `/incidents/${p.incident}` }, p.incident) : '—'),
      el('td', {}, fmtTime(p.startedAt)), el('td', { class: 'num' }, fmtSeconds(p.durationSeconds)),
      el('td', { class: 'num' }, p.samples),
      el('td', {}, p.error ? el('span', { class: 'error' }, p.error)
        : (p.summary && p.summary.top_self && p.summary.top_self[0] ? el('code', {}, p.summary.top_self[0].name) : '—')))))));
}

async function profilePage(main, id) {
  let p;
  try { p = await api(`/api/v1/profiles/${encodeURIComponent(id)}`); } catch (e) {
    main.replaceChildren(el('h1', {}, 'Profile'), errorBox(e));
    return;
  }
  main.replaceChildren(el('h1', {}, `Profile ${p.id}`),
    el('p', {}, `${p.kind} profile of ${p.target}, ${fmtSeconds(p.durationSeconds)} from ${fmtTime(p.startedAt)}, ${p.samples} samples`,
      p.incident ? [' for incident ', el('a', { href: `/incidents/${p.incident}` }, p.incident)] : ''));
  if (p.error) { main.append(el('p', { class: 'error' }, p.error)); return; }
  main.append(el('p', {}, el('a', { href: p.links.folded }, 'folded stacks'), ' · ', el('a', { href: p.links.svg }, 'flame graph (full window)')));
  main.append(el('iframe', { class: 'flamegraph', id: 'flamegraph', src: `/api/v1/profiles/${p.id}.svg`, title: 'Flame graph' }));
  if (p.summary && p.summary.top_self) {
    main.append(el('h2', {}, 'Where the time goes (self)'), el('table', { id: 'top' },
      el('thead', {}, el('tr', {}, ['Frame', 'Class', 'Self', 'Total', 'Called from'].map((t) => el('th', {}, t)))),
      el('tbody', {}, p.summary.top_self.map((f) => el('tr', {},
        el('td', {}, el('code', {}, f.name)), el('td', {}, f.class),
        el('td', { class: 'num' }, `${fmtNumber(100 * f.self_share)}%`), el('td', { class: 'num' }, `${fmtNumber(100 * f.total_share)}%`),
        el('td', {}, f.caller ? el('code', {}, f.caller) : '—'))))));
  }
}

async function silencesPage(main) {
  const params = new URLSearchParams(location.search);
  const prefill = params.getAll('matcher').join('\n');
  main.replaceChildren(el('h1', {}, 'Silences'));
  const message = el('p', { id: 'silence-message' });
  const form = el('form', { class: 'silence', id: 'silence-form' },
    el('label', { for: 'matchers' }, 'Matchers (one per line, e.g. route=~"/checkout.*")'),
    el('textarea', { id: 'matchers', rows: 4 }, prefill),
    el('label', { for: 'duration' }, 'Duration'), el('input', { id: 'duration', value: '2h' }),
    el('label', { for: 'createdBy' }, 'Created by'), el('input', { id: 'createdBy' }),
    el('label', { for: 'comment' }, 'Comment'), el('input', { id: 'comment' }),
    el('p', {}, el('button', { type: 'submit' }, 'Create silence')), message);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = {
      matchers: form.querySelector('#matchers').value.split('\n').map((s) => s.trim()).filter(Boolean),
      duration: form.querySelector('#duration').value.trim(),
      createdBy: form.querySelector('#createdBy').value.trim(),
      comment: form.querySelector('#comment').value.trim(),
    };
    try {
      const made = await api('/api/v1/silences', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      message.className = '';
      message.textContent = `Silence ${made.silenceID} created.`;
      await listSilences(list);
    } catch (e) {
      message.className = 'error';
      message.textContent = e.message;
    }
  });
  const list = el('div', { id: 'silence-list' });
  main.append(el('h2', {}, 'New silence'), form, el('h2', {}, 'Silences'), list);
  await listSilences(list);
}

async function listSilences(container) {
  let silences;
  try { silences = await api('/api/v1/silences'); } catch (e) { container.replaceChildren(errorBox(e)); return; }
  if (!silences.length) { container.replaceChildren(el('p', { class: 'muted' }, 'No silences.')); return; }
  container.replaceChildren(el('table', { id: 'silences' },
    el('thead', {}, el('tr', {}, ['State', 'Matchers', 'Starts', 'Ends', 'By', 'Comment', ''].map((t) => el('th', {}, t)))),
    el('tbody', {}, silences.map((s) => el('tr', { 'data-id': s.id },
      el('td', {}, s.status.state), el('td', {}, s.matchers.map((m) => el('code', {}, m, ' '))),
      el('td', {}, fmtTime(s.startsAt)), el('td', {}, fmtTime(s.endsAt)), el('td', {}, s.createdBy), el('td', {}, s.comment),
      el('td', {}, s.status.state === 'expired' ? '' : el('button', {
        class: 'expire',
        onclick: async () => {
          try { await api(`/api/v1/silences/${s.id}`, { method: 'DELETE' }); } catch (e) { alert(e.message); }
          await listSilences(container);
        },
      }, 'Expire')))))));
}

async function route() {
  const main = document.getElementById('main');
  const path = location.pathname;
  let m;
  try {
    if (path === '/' || path === '') await overview(main);
    else if ((m = path.match(/^\/incidents\/([0-9a-f]+)$/))) await incidentPage(main, m[1]);
    else if (path === '/profiles') await profilesPage(main);
    else if ((m = path.match(/^\/profiles\/([0-9a-f]+-[0-9a-f]+)$/))) await profilePage(main, m[1]);
    else if (path === '/silences') await silencesPage(main);
    else main.replaceChildren(el('h1', {}, 'Not found'), el('p', {}, el('a', { href: '/' }, 'Overview')));
  } catch (e) {
    main.append(errorBox(e));
  }
  try {
    const s = await api('/api/v1/status');
    document.getElementById('status').textContent = `${s.version} · up ${fmtSeconds(s.uptimeSeconds)}`;
  } catch (e) { /* the page still works */ }
  document.body.setAttribute('data-loaded', 'true');
}

route();
