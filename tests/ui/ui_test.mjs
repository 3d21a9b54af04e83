// Loads each page of hotspotd's web UI from a running daemon in headless Chromium and checks what the on-call
// would look at: the firing incident and the hotspot row on the overview (and that sorting works), the incident's
// evidence, timeline marks, notifications and grown frames, its flame graph rendering inside the page with search
// highlighting frames, the profiles list and viewer, and the silences page creating and expiring a silence.
// Then the pages stay live: refreshes keep the overview's sort, filter, focus and scroll, and the incident page
// turns to resolved by itself within one evaluation interval of the daemon resolving it (after the test drains the
// queue through TARGET_URL/drain), without reloading its flame graph.
// Screenshots of each page go to the artifacts directory. Exit code 0 when every check holds.
//   node ui_test.mjs BASE_URL INCIDENT_ID HOT_FRAME ARTIFACTS_DIR TARGET_URL
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const [base, incident, hotFrame, artifacts, targetUrl] = process.argv.slice(2);
mkdirSync(artifacts, { recursive: true });
const failures = [];
function check(condition, what) {
  if (!condition) failures.push(what);
  console.log(`${condition ? 'ok  ' : 'FAIL'} ${what}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

async function open(path) {
  await page.goto(base + path);
  await page.waitForSelector('body[data-loaded="true"]', { timeout: 20000 });
}

try {
  // Overview.
  await open('/');
  const incidents = await page.textContent('#incidents');
  check(incidents.includes('QueueDeep') && incidents.includes('firing'), 'overview lists the firing incident');
  check(await page.locator('#hotspots tbody tr').count() >= 1, 'overview has a hotspot row');
  check((await page.textContent('#hotspots')).includes('/checkout'), 'the hotspot row names its endpoint');
  await page.click('#hotspots th:has-text("p99")');
  check(await page.locator('#hotspots tbody tr').count() >= 1, 'sorting by p99 keeps the rows');
  check((await page.textContent('#targets')).includes('up'), 'overview shows scrape health');
  await page.screenshot({ path: `${artifacts}/overview.png`, fullPage: true });

  // Incident.
  await open(`/incidents/${incident}`);
  const evidence = await page.textContent('#evidence');
  check(evidence.includes('Threshold') && evidence.includes('50'), 'incident page shows the evidence and threshold');
  check(await page.locator('#timeline .mark-firing').count() === 1, 'the timeline marks when it fired');
  check(await page.locator('#chart-0 path.line').count() === 1, 'the chart draws the endpoint around the incident');
  check(await page.locator('#chart-0 .mark-firing').count() === 1, 'the chart marks when it fired');
  check(await page.locator('#chart-0 .threshold').count() === 1, 'the chart shows the threshold');
  check((await page.textContent('#notifications')).includes('delivered'), 'the notifications sent are listed');
  const frame = page.frameLocator('#flamegraph');
  await frame.locator('g title', { hasText: hotFrame }).first().waitFor({ state: 'attached', timeout: 20000 });
  check(true, 'the flame graph renders inside the incident page');
  page.once('dialog', (d) => d.accept(hotFrame));
  await frame.locator('#search').click();
  const matched = await frame.locator('svg').first().getAttribute('data-matched');
  check(matched !== null && parseFloat(matched) > 50, `search highlights the hot frame (matched ${matched}%)`);
  await page.screenshot({ path: `${artifacts}/incident.png`, fullPage: true });

  // Profiles.
  await open('/profiles');
  const firstProfile = page.locator('#profiles tbody a[href^="/profiles/"]').first();
  check(await firstProfile.count() === 1, 'the profiles list links the captured profile');
  await page.screenshot({ path: `${artifacts}/profiles.png`, fullPage: true });
  await firstProfile.click();
  await page.waitForSelector('body[data-loaded="true"]');
  check((await page.textContent('#top')).includes(hotFrame), 'the profile viewer lists the top frame');
  await page.frameLocator('#flamegraph').locator('g title', { hasText: hotFrame }).first().waitFor({ state: 'attached' });
  await page.screenshot({ path: `${artifacts}/profile.png`, fullPage: true });

  // Silences: from the incident's link, prefilled; create, then expire.
  await open(`/incidents/${incident}`);
  await page.click('#silence-link');
  await page.waitForSelector('body[data-loaded="true"]');
  check((await page.inputValue('#matchers')).includes('alertname="QueueDeep"'), 'the silence form is prefilled');
  await page.fill('#createdBy', 'ui-test');
  await page.fill('#comment', 'testing the UI');
  await page.click('#silence-form button[type=submit]');
  await page.waitForSelector('#silences tbody tr');
  check((await page.textContent('#silence-message')).includes('created'), 'a silence is created');
  check((await page.textContent('#silences')).includes('active'), 'the new silence is active');
  await page.screenshot({ path: `${artifacts}/silences.png`, fullPage: true });
  await page.click('#silences button.expire');
  await page.waitForFunction(() => document.querySelector('#silences') && document.querySelector('#silences').textContent.includes('expired'));
  check(true, 'expiring the silence marks it expired');

  // Live overview: a short window, so that the page scrolls; sort by p99 ascending, filter, scroll, keep focus.
  await page.setViewportSize({ width: 1400, height: 300 });
  await open('/');
  const period = Number(await page.getAttribute('body', 'data-refresh-ms'));
  check(period >= 500 && period <= 1000, `the pages refresh every ${period} ms (half the 1 s evaluation interval, at least 0.5 s)`);
  await page.click('#hotspots th:has-text("p99")');
  await page.click('#hotspots th:has-text("p99")');
  await page.fill('#hotspot-filter', 'checkout');
  await page.focus('#hotspot-filter');
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  const scrolled = await page.evaluate(() => window.scrollY);
  const refreshes = async () => Number((await page.getAttribute('body', 'data-refreshes')) || 0);
  const before = await refreshes();
  await page.waitForFunction((n) => Number(document.body.getAttribute('data-refreshes') || 0) >= n + 3, before, { timeout: 20000 });
  check(await page.locator('#hotspots th.sorted-asc:has-text("p99")').count() === 1, 'refreshes keep the sort (p99, ascending)');
  check(await page.inputValue('#hotspot-filter') === 'checkout', 'refreshes keep the filter text');
  check(await page.evaluate(() => document.activeElement && document.activeElement.id) === 'hotspot-filter', 'refreshes keep the focus');
  const rowsText = await page.locator('#hotspots tbody tr').allTextContents();
  check(rowsText.length >= 1 && rowsText.every((t) => t.includes('checkout')), 'the filtered rows stay filtered');
  check(scrolled > 0 && await page.evaluate(() => window.scrollY) === scrolled, `refreshes keep the scroll position (${scrolled}px)`);
  check((await page.textContent('#live')).startsWith('live'), 'the header says the page is live');

  // Live incident page: the daemon resolves the incident; the page shows it within one evaluation interval (1 s).
  await page.setViewportSize({ width: 1400, height: 1000 });
  await open(`/incidents/${incident}`);
  await page.locator('#flamegraph').evaluate((f) => { f.dataset.marker = 'kept'; });
  check((await page.textContent('#incident-head')).includes('firing'), 'the incident page shows it firing');
  await fetch(`${targetUrl}/drain`);
  let resolvedAt = 0;
  for (let i = 0; i < 600 && !resolvedAt; i++) {
    const r = await (await fetch(`${base}/api/v1/incidents/${incident}`)).json();
    if (r.data.state === 'resolved') resolvedAt = Date.now();
    else await new Promise((done) => setTimeout(done, 50));
  }
  check(resolvedAt > 0, 'the daemon resolved the incident once the queue drained');
  await page.waitForSelector('#incident-head .state-resolved', { timeout: 10000 });
  const shownAfter = Date.now() - resolvedAt;
  check(shownAfter <= 1000, `the page showed it resolved ${shownAfter} ms after the daemon did (within the 1 s evaluation interval)`);
  check(await page.locator('#timeline .mark-resolved').count() === 1, 'the timeline gains its resolved mark');
  check(await page.locator('#resolution').count() === 1, 'the page says why it resolved');
  check(await page.locator('#flamegraph').evaluate((f) => f.dataset.marker) === 'kept', 'the flame graph was not reloaded');
  await page.screenshot({ path: `${artifacts}/incident-resolved.png`, fullPage: true });

  check(errors.length === 0, `no script errors (${errors.join('; ')})`);
} catch (e) {
  failures.push(String(e));
  console.log(`FAIL ${e}`);
  await page.screenshot({ path: `${artifacts}/failure.png`, fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
if (failures.length) {
  console.log(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('all UI checks passed');
