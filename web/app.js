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

// How each sortable table is sorted, by table id: kept across refreshes, so a refresh never undoes a click.
const sortState = {};

// A table whose columns sort when their header is clicked. columns: [{title, value(row), render(row), num}]
function sortableTable(columns, rows, id) {
  const state = sortState[id] || (sortState[id] = { by: -1, descending: true });
  const tbody = el('tbody');
  const head = el('tr');
  const draw = () => {
    const sorted = rows.slice();
    if (state.by >= 0) {
      const value = columns[state.by].value;
      sorted.sort((a, b) => {
        const x = value(a), y = value(b);
        const cmp = (x === null) - (y === null) || (x < y ? -1 : x > y ? 1 : 0);
        return state.descending ? -cmp : cmp;
      });
    }
    head.replaceChildren(...columns.map((c, i) => el('th', {
      class: `sortable${c.num ? ' num' : ''}${state.by === i ? (state.descending ? ' sorted-desc' : ' sorted-asc') : ''}`,
      onclick: () => { state.descending = state.by === i ? !state.descending : true; state.by = i; draw(); },
    }, c.title)));
    tbody.replaceChildren(...sorted.map((r) => el('tr', {}, columns.map((c) =>
      el('td', { class: c.num ? 'num' : undefined }, c.render ? c.render(r) : fmtNumber(c.value(r)))))));
  };
  draw();
  return el('table', { id }, el('thead', {}, head), tbody);
}

// ---- live refresh ----
//
// Each page is drawn once into named sections, then refreshed in place every `live.period` (half the rules'
// evaluation interval, from 0.5 s to 10 s) while the tab is visible: a section is redrawn only when what it shows
// changed, so sort orders, filters, typed text, the scroll position and the flame graphs' zoom stay as they are.
// A refresh that fails leaves the page as it was and says so in the header.
const live = { period: 5000, timer: null, refreshes: 0, refresh: null, running: false };

// The section `id` of the page, redrawn by `build()` when `key` differs from what it shows.
function fill(id, key, build) {
  const section = document.getElementById(id);
  if (!section || section.dataset.key === key) return;
  section.dataset.key = key;
  section.replaceChildren(...[build()].flat(Infinity).filter((n) => n !== null && n !== undefined));
}

function sections(...ids) { return ids.map((id) => el('section', { id })); }

function parseDurationMs(text) {
  let ms = 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g;
  const unit = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3, y: 31536000e3 };
  let m;
  while ((m = re.exec(text || ''))) ms += parseFloat(m[1]) * unit[m[2]];
  return ms;
}

function liveStatus(text, failed) {
  const node = document.getElementById('live');
  if (!node) return;
  node.textContent = text;
  node.className = failed ? 'error' : 'muted';
}

// Refreshes start every `live.period` from the start of the one before (right away if one took longer), so that a
// change is on screen within the period and the time one refresh takes.
// One refresh at a time: while one runs, it schedules the next itself.
function scheduleRefresh(delay = live.period) {
  clearTimeout(live.timer);
  if (!live.refresh || document.hidden || live.running) return;
  live.timer = setTimeout(async () => {
    const started = Date.now();
    live.running = true;
    try {
      await live.refresh();
      liveStatus(`live · updated ${new Date().toLocaleTimeString()}`, false);
    } catch (e) {
      liveStatus(`not updating: ${e.message} (retrying)`, true);
    }
    live.running = false;
    live.refreshes += 1;
    document.body.setAttribute('data-refreshes', String(live.refreshes));
    scheduleRefresh(Math.max(0, live.period - (Date.now() - started)));
  }, delay);
}

document.addEventListener('visibilitychange', () => scheduleRefresh(0));

// ---- pages ----

function incidentsTable(list) {
  if (list.length === 0) return el('p', { class: 'muted' }, 'Nothing is firing.');
  const rows = list.slice().sort((a, b) => (a.state === 'firing' ? 0 : 1) - (b.state === 'firing' ? 0 : 1));
  return el('table', { id: 'incidents' },
    el('thead', {}, el('tr', {}, ['State', 'Alert', 'Endpoint', 'Value', 'Threshold', 'Since', 'Why'].map((t) => el('th', {}, t)))),
    el('tbody', {}, rows.map((i) => el('tr', { 'data-id': i.id },
      el('td', {}, stateCell(i.state)),
      el('td', {}, el('a', { href: `/incidents/${i.id}` }, i.alertname)),
      el('td', {}, labelList(i.labels)),
      el('td', { class: 'num' }, fmtNumber(i.value)),
      el('td', { class: 'num' }, fmtNumber(i.threshold)),
      el('td', {}, fmtTime(i.firedAt || i.activeAt)),
      el('td', {}, i.sourceDegraded ? `${i.reason} (not judged now: ${i.sourceDegraded})` : i.reason)))));
}

// Rows whose text holds every word of the filter (case-insensitive).
function matchesFilter(text, filter) {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  const t = text.toLowerCase();
  return words.every((w) => t.includes(w));
}

function hotspotsTable(data, filter) {
  if (data.hotspots.length === 0) return el('p', { class: 'muted' }, 'No latency histograms seen yet.');
  const rows = data.hotspots.filter((h) => matchesFilter(`${h.histogram} ${JSON.stringify(h.labels)}`, filter));
  return [
    el('p', { class: 'muted' }, `Endpoints by share of server time, weighted by drift (window ${fmtSeconds(data.window_seconds)}). Click a column to sort.`
      + (filter ? ` ${rows.length} of ${data.hotspots.length} match the filter.` : '')),
    sortableTable([
      { title: 'Endpoint', value: (h) => JSON.stringify(h.labels), render: (h) => labelList(h.labels) },
      { title: 'Rank', value: (h) => h.rank, num: true },
      { title: 'Share of time', value: (h) => h.share, render: (h) => `${fmtNumber(100 * h.share)}%`, num: true },
      { title: 'Requests/s', value: (h) => h.request_rate, num: true },
      { title: 'p50', value: (h) => h.p50.value, render: (h) => fmtSeconds(h.p50.value), num: true },
      { title: 'p99', value: (h) => h.p99.value, render: (h) => `${fmtSeconds(h.p99.value)} (${fmtSeconds(h.p99.lower)}–${fmtSeconds(h.p99.upper)})`, num: true },
      { title: 'Drift', value: (h) => (h.drift ? h.drift.ratio : null), render: (h) => (h.drift ? `×${fmtNumber(h.drift.ratio)}${h.drift.firing ? ' firing' : ''}` : '—'), num: true },
    ], rows, 'hotspots'),
  ];
}

function targetsTable(data) {
  const rows = data.activeTargets.slice().sort((a, b) => (a.health === 'down' ? 0 : 1) - (b.health === 'down' ? 0 : 1));
  return el('table', { id: 'targets' },
    el('thead', {}, el('tr', {}, ['Job', 'Target', 'Health', 'Last scrape', 'Duration', 'Samples', 'Last error'].map((t) => el('th', {}, t)))),
    el('tbody', {}, rows.map((t) => el('tr', {},
      el('td', {}, t.job), el('td', {}, t.scrapeUrl), el('td', {}, el('span', { class: `health-${t.health}` }, t.health)),
      el('td', {}, fmtTime(t.lastScrape)), el('td', { class: 'num' }, fmtSeconds(t.lastScrapeDuration)),
      el('td', { class: 'num' }, t.samples), el('td', { class: 'error' }, t.lastError)))));
}

// A filter box whose text survives refreshes; `redraw` runs as it changes.
function filterBox(id, placeholder, redraw) {
  return el('input', { id, class: 'filter', type: 'search', placeholder, oninput: redraw });
}

async function overview(main) {
  let hotspots = null;
  const filterText = () => document.getElementById('hotspot-filter').value.trim();
  const drawHotspots = () => {
    if (hotspots) fill('hotspots-section', JSON.stringify([hotspots, filterText(), sortState.hotspots || null]), () => hotspotsTable(hotspots, filterText()));
  };
  main.replaceChildren(el('h1', {}, 'Overview'),
    el('h2', {}, 'Incidents firing and pending'), ...sections('incidents-section'),
    el('h2', {}, 'Hotspots'), filterBox('hotspot-filter', 'Filter endpoints (e.g. checkout)', drawHotspots),
    ...sections('hotspots-section'),
    el('h2', {}, 'Scrape health'), ...sections('targets-section'));
  // Later refreshes keep what is shown when a request fails; the first shows the error in its place.
  let first = true;
  const refresh = async () => {
    const [incidents, hot, targets] = await Promise.allSettled([
      api('/api/v1/incidents?state=open&limit=200'), api('/api/v1/hotspots?limit=200'), api('/api/v1/targets')]);
    const failed = [incidents, hot, targets].find((r) => r.status === 'rejected');
    if (incidents.status === 'fulfilled') fill('incidents-section', JSON.stringify(incidents.value), () => incidentsTable(incidents.value.incidents));
    else if (first) fill('incidents-section', 'error', () => errorBox(incidents.reason));
    if (hot.status === 'fulfilled') {
      // Its time moves at every ranking: compare what the table shows.
      hotspots = hot.value;
      drawHotspots();
    } else if (first) fill('hotspots-section', 'error', () => errorBox(hot.reason));
    if (targets.status === 'fulfilled') {
      const shown = targets.value.activeTargets.map((t) => [t.scrapeUrl, t.health, t.lastError]);
      fill('targets-section', JSON.stringify([shown, targets.value.activeTargets.map((t) => t.lastScrape)]), () => targetsTable(targets.value));
    } else if (first) fill('targets-section', 'error', () => errorBox(targets.reason));
    first = false;
    if (failed) throw failed.reason;
  };
  await refresh().catch(() => {});
  live.refresh = refresh;
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

function incidentHead(incident) {
  const silenceLink = `/silences?${new URLSearchParams(Object.entries(incident.labels).map(([k, v]) => ['matcher', `${k}="${v}"`]).concat([['matcher', `alertname="${incident.alertname}"`]]))}`;
  return [
    el('h1', {}, incident.alertname, ' ', stateCell(incident.state)),
    el('p', {}, labelList(incident.labels)),
    el('p', {}, el('a', { href: silenceLink, id: 'silence-link' }, 'Silence this…')),
    // A rule on a query source whose answers are missing or partial is not judged: the incident stands still.
    incident.sourceDegraded ? el('p', { class: 'degraded', id: 'source-degraded' }, `Not judged now: ${incident.sourceDegraded}`) : null,
  ];
}

function incidentEvidence(incident) {
  return [
    el('h2', {}, 'What fired and why'),
    el('table', { id: 'evidence' }, el('tbody', {},
      el('tr', {}, el('th', {}, 'Why'), el('td', {}, incident.reason || '—')),
      el('tr', {}, el('th', {}, 'Value'), el('td', {}, fmtNumber(incident.value))),
      el('tr', {}, el('th', {}, 'Threshold'), el('td', {}, fmtNumber(incident.threshold))),
      Object.entries(incident.evidence || {}).map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', {}, fmtNumber(v, 5)))),
      Object.entries(incident.annotations || {}).map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', {}, v))))),
    incident.resolution ? el('p', { class: 'muted', id: 'resolution' }, `Resolved: ${incident.resolution.reason || ''} (value ${fmtNumber(incident.resolution.value)})`) : null,
  ];
}

function incidentExemplars(incident) {
  if (!incident.exemplars.length) return [];
  return [el('h2', {}, 'Slow requests'), el('ul', {}, incident.exemplars.map((e) => el('li', {},
    e.url ? el('a', { href: e.url, rel: 'noopener noreferrer' }, e.traceId || 'trace') : (e.traceId || 'exemplar'),
    ` ${fmtSeconds(e.value)} at ${fmtTime(e.at)}`)))];
}

async function incidentProfiles(incident) {
  const out = [];
  const ok = incident.profiles.filter((p) => !p.error);
  const failed = incident.profiles.filter((p) => p.error);
  if (failed.length || !ok.length) out.push(el('h2', {}, 'Profiles'));
  for (const p of failed) out.push(el('p', { class: 'error' }, `Capture ${p.id}: ${p.error}`));
  if (!ok.length) {
    out.push(el('p', { class: 'muted' }, 'No profile was captured for this incident.'));
    return out;
  }
  const newest = ok[ok.length - 1];
  let profile = null;
  try { profile = await api(`/api/v1/profiles/${newest.id}`); } catch (e) { out.push(errorBox(e)); }
  if (profile && profile.summary && profile.summary.explanation) {
    out.push(el('h2', {}, 'What explains it'), el('p', { id: 'explanation' }, profile.summary.explanation));
  }
  const off = profile && profile.summary && profile.summary.offcpu;
  if (off && off.waiting && off.waiting.length) {
    const rows = off.grown && off.grown.length ? off.grown : off.waiting;
    out.push(el('h2', {}, off.grown && off.grown.length ? 'Waits that grew against the baseline' : 'Where threads waited'),
      el('table', { id: 'waits' },
        el('thead', {}, el('tr', {}, ['Function', 'Wait', 'Share of waiting', off.grown && off.grown.length ? 'Share of the growth' : ''].map((t) => el('th', {}, t)))),
        el('tbody', {}, rows.map((w) => el('tr', {},
          el('td', {}, el('code', {}, w.name)), el('td', {}, w.class),
          el('td', { class: 'num' }, `${fmtNumber(100 * w.share)}%`),
          el('td', { class: 'num' }, w.growth_share === undefined ? '' : `${fmtNumber(100 * w.growth_share)}%`))))));
  }
  if (profile && profile.summary && profile.summary.grown) {
    out.push(el('h2', {}, 'Frames that grew against the baseline'), el('table', { id: 'grown' },
      el('thead', {}, el('tr', {}, ['Frame', 'Class', 'Baseline', 'Now', 'Grew'].map((t) => el('th', {}, t)))),
      el('tbody', {}, profile.summary.grown.map((g) => el('tr', {},
        el('td', {}, el('code', {}, g.name)), el('td', {}, g.class),
        el('td', { class: 'num' }, `${fmtNumber(100 * g.base_share)}%`), el('td', { class: 'num' }, `${fmtNumber(100 * g.share)}%`),
        el('td', { class: 'num' }, `+${fmtNumber(g.grew_pp)} pp`))))));
  }
  out.push(el('h2', {}, 'Flame graph'), el('iframe', { class: 'flamegraph', id: 'flamegraph', src: `/api/v1/profiles/${newest.id}.svg`, title: 'Flame graph' }));
  if (profile && profile.links && profile.links.offcpuSvg) {
    out.push(el('h2', {}, 'Off-CPU flame graph (waiting only)'),
      el('iframe', { class: 'flamegraph', id: 'offcpu', src: `/api/v1/profiles/${newest.id}.offcpu.svg`, title: 'Off-CPU flame graph' }));
  }
  if (profile && profile.links && profile.links.diffSvg) {
    out.push(el('h2', {}, 'Differential flame graph (against the baseline)'),
      el('iframe', { class: 'flamegraph', id: 'diff', src: `/api/v1/profiles/${newest.id}.diff.svg`, title: 'Differential flame graph' }));
  }
  return out;
}

function incidentNotifications(incident) {
  if (!incident.notifications.length) return [el('h2', {}, 'Notifications'), el('p', { class: 'muted' }, 'None sent.')];
  return [el('h2', {}, 'Notifications'), el('table', { id: 'notifications' },
    el('thead', {}, el('tr', {}, ['Receiver', 'State', 'Created', 'Attempts', 'Last status', 'Last error'].map((t) => el('th', {}, t)))),
    el('tbody', {}, incident.notifications.map((n) => el('tr', {},
      el('td', {}, n.receiver), el('td', {}, n.state), el('td', {}, fmtTime(n.createdAt)), el('td', { class: 'num' }, n.attempts),
      el('td', { class: 'num' }, n.lastStatus || '—'), el('td', { class: 'error' }, n.lastError)))))];
}

async function incidentPage(main, id) {
  let incident;
  try { incident = await api(`/api/v1/incidents/${encodeURIComponent(id)}`); } catch (e) {
    main.replaceChildren(el('h1', {}, 'Incident'), errorBox(e));
    return;
  }
  main.replaceChildren(...sections('incident-head', 'incident-evidence'), el('h2', {}, 'Timeline'),
    ...sections('incident-timeline', 'incident-chart', 'incident-exemplars', 'incident-profiles', 'incident-notifications'));
  const draw = async () => {
    document.title = `${incident.alertname} · hotspotd`;
    fill('incident-head', JSON.stringify([incident.alertname, incident.state, incident.labels, incident.sourceDegraded]), () => incidentHead(incident));
    fill('incident-evidence', JSON.stringify([incident.reason, incident.value, incident.threshold, incident.evidence, incident.annotations, incident.resolution]),
      () => incidentEvidence(incident));
    // An open incident's timeline runs to now.
    fill('incident-timeline', JSON.stringify([incident.timeline, incident.resolvedAt || Date.now()]), () => timelineChart(incident));
    try {
      const data = await api(`/api/v1/incidents/${encodeURIComponent(id)}/series`);
      fill('incident-chart', JSON.stringify([data, incident.firedAt, incident.resolvedAt]), () => [el('h2', {}, 'The endpoint around the incident'),
        data.series.map((s, i) => lineChart(s, incident, i === 0 ? data.threshold : null, data, `chart-${i}`))]);
    } catch (e) {
      fill('incident-chart', 'error', () => el('p', { class: 'muted' }, `No chart: ${e.message}`));
    }
    fill('incident-exemplars', JSON.stringify(incident.exemplars), () => incidentExemplars(incident));
    // The flame graphs reload (and lose their zoom) only when a new capture arrives.
    const profilesKey = JSON.stringify(incident.profiles);
    const section = document.getElementById('incident-profiles');
    if (section.dataset.key !== profilesKey) {
      const built = await incidentProfiles(incident);
      fill('incident-profiles', profilesKey, () => built);
    }
    fill('incident-notifications', JSON.stringify(incident.notifications), () => incidentNotifications(incident));
  };
  await draw();
  live.refresh = async () => {
    incident = await api(`/api/v1/incidents/${encodeURIComponent(id)}`);
    await draw();
  };
}

function profilesTable(profiles, filter) {
  const rows = profiles.filter((p) => matchesFilter(`${p.id} ${p.target} ${p.kind} ${p.incident || ''}`, filter));
  if (!rows.length) return el('p', { class: 'muted' }, profiles.length ? 'No profile matches the filter.' : 'No profiles yet.');
  return el('table', { id: 'profiles' },
    el('thead', {}, el('tr', {}, ['Profile', 'Target', 'Kind', 'Incident', 'Started', 'Duration', 'Samples', 'Top frame'].map((t) => el('th', {}, t)))),
    el('tbody', {}, rows.map((p) => el('tr', { 'data-id': p.id },
      el('td', {}, p.error ? p.id : el('a', { href: `/profiles/${p.id}` }, p.id)),
      el('td', {}, p.target), el('td', {}, p.kind),
      el('td', {}, p.incident ? el('a', { href: `/incidents/${p.incident}` }, p.incident) : '—'),
      el('td', {}, fmtTime(p.startedAt)), el('td', { class: 'num' }, fmtSeconds(p.durationSeconds)),
      el('td', { class: 'num' }, p.samples),
      el('td', {}, p.error ? el('span', { class: 'error' }, p.error)
        : (p.summary && p.summary.top_self && p.summary.top_self[0] ? el('code', {}, p.summary.top_self[0].name) : '—'))))));
}

async function profilesPage(main) {
  let profiles = null;
  const filterText = () => document.getElementById('profile-filter').value.trim();
  const draw = () => {
    if (profiles) fill('profiles-section', JSON.stringify([profiles, filterText()]), () => profilesTable(profiles, filterText()));
  };
  main.replaceChildren(el('h1', {}, 'Profiles'), filterBox('profile-filter', 'Filter by target, kind or incident', draw),
    ...sections('profiles-section'));
  const refresh = async () => {
    profiles = (await api('/api/v1/profiles?limit=500')).profiles;
    draw();
  };
  try { await refresh(); } catch (e) { fill('profiles-section', 'error', () => errorBox(e)); }
  live.refresh = refresh;
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
  live.refresh = () => listSilences(list, true);
}

// The silences list; on a refresh (`refreshing`), redrawn only when it changed, and a failure leaves it as it was.
async function listSilences(container, refreshing) {
  let silences;
  try { silences = await api('/api/v1/silences'); } catch (e) {
    if (refreshing) throw e;
    container.replaceChildren(errorBox(e));
    return;
  }
  const key = JSON.stringify(silences);
  if (refreshing && container.dataset.key === key) return;
  container.dataset.key = key;
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
  const status = async () => {
    const s = await api('/api/v1/status');
    document.getElementById('status').textContent = `${s.version} · up ${fmtSeconds(s.uptimeSeconds)}`;
    const interval = parseDurationMs(s.config && s.config.evaluationInterval);
    if (interval > 0) live.period = Math.max(500, Math.min(interval / 2, 10000));
  };
  try { await status(); } catch (e) { /* the page still works */ }
  document.body.setAttribute('data-loaded', 'true');
  document.body.setAttribute('data-refresh-ms', String(live.period));
  if (live.refresh) {
    // The page's data at every refresh; the header's status line every 10 s or so.
    const page = live.refresh;
    let statusAt = Date.now();
    live.refresh = async () => {
      await page();
      if (Date.now() - statusAt >= 10000) {
        statusAt = Date.now();
        await status();
      }
    };
    liveStatus('live', false);
    scheduleRefresh();
  }
}

route();
