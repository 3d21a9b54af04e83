// Runs the flame graph's embedded script against the frames of a real SVG written by `hotspotd flamegraph`, in a
// small stand-in for the browser's DOM: zoom into a frame (it fills the width, its ancestors stay greyed, others
// hide), search (matching frames turn magenta and the matched share is shown, nested matches counted once), and
// reset. Exits 1 with the failed check.
//   node flamegraph_script_test.js FILE.svg
'use strict';
const fs = require('fs');
const svg = fs.readFileSync(process.argv[2], 'utf8');
let failures = 0;
function check(ok, what) {
  if (!ok) { console.error('FAIL: ' + what); failures++; } else { console.log('ok: ' + what); }
}
function unescape(s) {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}
function element(tag, attrs, text) {
  return {
    tag, attrs: Object.assign({}, attrs), style: {}, textContent: text || '', listeners: {}, children: [],
    getAttribute(k) { return this.attrs[k] === undefined ? null : this.attrs[k]; },
    setAttribute(k, v) { this.attrs[k] = String(v); },
    addEventListener(type, f) { this.listeners[type] = f; },
    querySelector(sel) { return this.children.find((c) => c.tag === sel) || null; },
  };
}
function attrsOf(text) {
  const out = {};
  for (const m of text.matchAll(/([\w-]+)="([^"]*)"/g)) out[m[1]] = m[2];
  return out;
}
const groups = [];
for (const m of svg.matchAll(/<g class="f"><title>(.*?)<\/title><rect ([^>]*)\/>(?:<text ([^>]*)>(.*?)<\/text>)?<\/g>/g)) {
  const g = element('g', {});
  const title = element('title', {}, unescape(m[1]));
  g.children.push(title, element('rect', attrsOf(m[2])));
  if (m[3] !== undefined) g.children.push(element('text', attrsOf(m[3]), unescape(m[4])));
  g.firstElementChild = title;
  groups.push(g);
}
const root = attrsOf(svg.match(/<svg ([^>]*)>/)[1]);
const ids = {};
for (const id of ['details', 'reset', 'matched', 'search']) ids[id] = element('text', {});
global.document = {
  documentElement: element('svg', root),
  getElementById: (id) => ids[id],
  querySelectorAll: () => groups,
};
let searchTerm = 'hot_function';
global.window = { addEventListener() {} };
global.prompt = () => searchTerm;
const script = svg.match(/<script><!\[CDATA\[([\s\S]*)\]\]><\/script>/)[1];
eval(script);

const rectOf = (g) => g.querySelector('rect');
const byName = (name) => groups.find((g) => g.firstElementChild.textContent.startsWith(name + ' ('));
const hot = byName('hotspotd_test_hot_function');
const cold = byName('hotspotd_test_cold_function');
const all = byName('all');
check(groups.length > 3 && hot && cold && all, 'the SVG has the frames of the profile');
const width = +root.width - 20;

hot.listeners.click.call(hot);
check(Math.abs(+rectOf(hot).getAttribute('width') - width) < 0.2, 'zoom: the clicked frame fills the width');
check(cold.style.display === 'none', 'zoom: a frame beside it is hidden');
check(all.style.opacity === '0.5' && Math.abs(+rectOf(all).getAttribute('width') - width) < 0.2,
      'zoom: the root stays, greyed, full width');
check(ids.reset.style.display === '', 'zoom: Reset Zoom is shown');

ids.reset.listeners.click();
check(cold.style.display === '' && +rectOf(hot).getAttribute('width') < width - 1, 'reset: back to the whole graph');

ids.search.listeners.click();
check(rectOf(hot).getAttribute('fill') === 'rgb(230,0,230)', 'search: the matching frame is highlighted');
check(rectOf(cold).getAttribute('fill') !== 'rgb(230,0,230)', 'search: other frames are not');
const share = parseFloat(ids.matched.textContent.replace('Matched: ', ''));
const expected = 100 * +rectOf(hot).getAttribute('width') / width;
check(Math.abs(share - expected) < 0.5, 'search: the matched share is the frame\'s (' + ids.matched.textContent + ')');
searchTerm = 'hotspotd_test_';  // both functions, and nested matches would count once
ids.search.listeners.click();
const both = 100 * (+rectOf(hot).getAttribute('width') + +rectOf(cold).getAttribute('width')) / width;
check(Math.abs(parseFloat(ids.matched.textContent.replace('Matched: ', '')) - both) < 0.5, 'search: two functions add up');
searchTerm = '(';
ids.search.listeners.click();
check(ids.matched.textContent === 'Invalid expression', 'search: a broken expression says so');
hot.listeners.mouseover.call(hot);
check(ids.details.textContent.startsWith('hotspotd_test_hot_function ('), 'hover: the details line names the frame');
process.exit(failures ? 1 : 0);
