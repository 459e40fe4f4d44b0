// Drives Debian's Chromium (playwright-core, executablePath) through odin-ws's status page. Run by
// io.odin.ws.status.StatusPageBrowserTest, which starts a node and makes traffic; talks to it over stdout:
//   LOADED {...}  the page is up and polling; the values it shows now
//   DONE {...}    the page showed the expected connections, live message rates and latency; screenshot taken
//   FAIL reason   (exit code 1)
// usage: node status-page.mjs --url URL --connections N --screenshot FILE [--chromium PATH] [--timeout MS] [--settle POLLS]
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const url = args.url;
const expected = Number(args.connections);
const timeout = Number(args.timeout || 60000);
const settlePolls = Number(args.settle || 6);
const executablePath = args.chromium || '/usr/bin/chromium';

function say(word, value) {
  process.stdout.write(word + ' ' + (typeof value === 'string' ? value : JSON.stringify(value)) + '\n');
}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'odin-chromium-'));
let context;
let exitCode = 0;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    // 1280 px: a common laptop width, where the tile subtitles used to be cut off
    viewport: { width: Number(args.width || 1280), height: 900 },
    deviceScaleFactor: 1,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] || await context.newPage();
  const origin = new URL(url).origin;
  const problems = [];
  page.on('request', r => { if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) problems.push('external request: ' + r.url()); });
  page.on('pageerror', e => problems.push('page error: ' + e.message));
  page.on('console', m => { if (m.type() === 'error') problems.push('console error: ' + m.text()); });

  const shown = () => page.evaluate(() => {
    const v = id => document.getElementById(id).getAttribute('data-value');
    const s = window.odinStatus;
    return {
      polls: s.polls, node: document.getElementById('node-id').textContent,
      connections: Number(v('connections-total')), connectionsText: document.getElementById('connections-total').textContent,
      rate: v('rate-total') === '' ? null : Number(v('rate-total')),
      deliveries: v('deliveries-rate') === '' ? null : Number(v('deliveries-rate')),
      p99: v('latency-p99') === '' ? null : Number(v('latency-p99')),
      shardLines: Object.keys(s.shardSeries).length,
      ratePoints: s.rateSeries.targeted.length,
      clusterRows: document.querySelectorAll('#nodes tbody tr').length,
      shardRows: document.querySelectorAll('#shards tbody tr').length,
      live: document.getElementById('live-text').textContent,
      // tile subtitles whose text does not fit their box (cut off or overflowing)
      cutOff: Array.from(document.querySelectorAll('.tile .sub'))
        .filter(e => e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1).map(e => e.id),
    };
  });

  await page.goto(url, { waitUntil: 'load', timeout });
  await page.waitForFunction(() => window.odinStatus && window.odinStatus.polls >= 2, null, { timeout });
  const first = await shown();
  say('LOADED', first);

  // the page must follow the traffic by itself: no reload from here on
  await page.waitForFunction(n => {
    const v = id => document.getElementById(id).getAttribute('data-value');
    return Number(v('connections-total')) >= n && Number(v('rate-total')) > 0 && Number(v('deliveries-rate')) > 0
      && v('latency-p99') !== '';
  }, expected, { timeout, polling: 200 });
  // a few more polls, so the charts have some history for the screenshot
  const polls = (await shown()).polls;
  await page.waitForFunction(p => window.odinStatus.polls >= p, polls + settlePolls, { timeout: Math.max(timeout, settlePolls * 5000) });
  const last = await shown();
  if (args.screenshot) {
    await page.screenshot({ path: args.screenshot, fullPage: true });
  }
  if (problems.length > 0) {
    say('FAIL', problems.join('; '));
    exitCode = 1;
  } else {
    say('DONE', { first, last });
  }
} catch (e) {
  say('FAIL', String(e && e.stack || e).replace(/\n/g, ' | '));
  exitCode = 1;
} finally {
  if (context) await context.close().catch(() => {});
  fs.rmSync(profile, { recursive: true, force: true });
}
process.exit(exitCode);
