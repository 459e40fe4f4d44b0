// Runs odin-ws-client against real odin-ws nodes for the Java integration tests (io.odin.ws.client.JsClient*Test),
// in Node.js (the ws package) or in headless Chromium (Debian's, through playwright-core; the page loads the
// package over HTTP from this process). Talks over stdin/stdout, one JSON object a line:
//   in:  the harness's commands (harness.js), plus {cmd:'exit'}; 'release' also answers a busy page's /hold
//   out: {ev:'ready', tokenUrl}, {ev:'answer', to, ...}, the clients' events ({ev:'message', name, n, id, data ...}),
//        {ev:'token', name, exp} for each JWT issued, {ev:'fail', message}
// usage: node driver.mjs --env node|browser [--chromium PATH] [--jwt-secret SECRET]
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const packageDir = path.resolve(here, '../..');
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));

function say(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// the package's entry point, as package.json exports it: what an application imports
const pkg = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
const entry = path.join(packageDir, pkg.exports['.'].default);

// the application's backend: serves the page and the package, and issues JWTs (HS256, signed with the node's secret)
function signJwt(sub, ttlSeconds) {
  const b64 = o => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const body = b64({ alg: 'HS256', typ: 'JWT' }) + '.' + b64({ sub, iat: now, exp: now + ttlSeconds });
  return body + '.' + crypto.createHmac('sha256', args['jwt-secret']).update(body).digest('base64url');
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>odin-ws-client test page</title>
<script type="module">
  import { OdinClient, localStorageCursor } from '/odin-ws-client.js';
  import { createHarness } from '/harness.js';
  window.harness = createHarness({ OdinClient, localStorageCursor, report: o => window.odinReport(o), storage: localStorage });
  window.harnessReady = true;
</script>`;

const held = []; // answers of /hold, sent on 'release'
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const send = (type, body) => {
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  };
  if (url.pathname === '/') return send('text/html', PAGE);
  if (url.pathname === '/odin-ws-client.js') return send('text/javascript', fs.readFileSync(entry));
  if (url.pathname === '/harness.js') return send('text/javascript', fs.readFileSync(path.join(here, 'harness.js')));
  if (url.pathname === '/hold') {
    // a busy page: its synchronous request is answered on 'release' (or after ms)
    const done = () => { if (!res.writableEnded) send('text/plain', 'released'); };
    held.push(done);
    setTimeout(done, Number(url.searchParams.get('ms')));
    return;
  }
  if (url.pathname === '/token' && args['jwt-secret']) {
    const ttl = Number(url.searchParams.get('ttl'));
    const jwt = signJwt(url.searchParams.get('sub'), ttl);
    say({ ev: 'token', name: url.searchParams.get('client'), exp: Math.floor(Date.now() / 1000) + ttl });
    return send('text/plain', jwt);
  }
  res.writeHead(404).end();
});
await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
const origin = 'http://127.0.0.1:' + server.address().port;

let run; // (command) => Promise<answer>
let shutdown = async () => {};
try {
  if (args.env === 'browser') {
    const { chromium } = await import('playwright-core');
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'odin-client-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: args.chromium || '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = context.pages()[0] || await context.newPage();
    page.on('pageerror', e => say({ ev: 'fail', message: 'page error: ' + e.message }));
    await page.exposeFunction('odinReport', o => say(o));
    await page.goto(origin + '/', { waitUntil: 'load' });
    await page.waitForFunction(() => window.harnessReady === true);
    run = cmd => page.evaluate(c => window.harness.run(c), cmd);
    shutdown = async () => {
      await context.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    };
  } else {
    const { OdinClient, localStorageCursor } = await import(entry);
    const { WebSocket } = await import('ws');
    const { createHarness } = await import('./harness.js');
    const storage = new Map();
    const paused = new Set();
    const harness = createHarness({
      OdinClient, localStorageCursor, WebSocket, report: say,
      storage: { getItem: k => storage.get(k) ?? null, setItem: (k, v) => storage.set(k, v), removeItem: k => storage.delete(k) },
      pauseSocket: (ws, ms) => {
        ws.pause();
        paused.add(ws);
        setTimeout(() => ws.resume(), ms);
        return { paused: ms };
      },
      resumeSockets: () => {
        for (const ws of paused) ws.resume();
        paused.clear();
      },
    });
    run = async cmd => harness.run(cmd);
  }
} catch (e) {
  say({ ev: 'fail', message: String(e && e.stack || e) });
  process.exit(1);
}

say({ ev: 'ready', env: args.env, tokenUrl: origin + '/token' });
const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const cmd = JSON.parse(line);
  if (cmd.cmd === 'exit') break;
  if (cmd.cmd === 'release') held.splice(0).forEach(done => done());
  try {
    say({ ev: 'answer', to: cmd.cmd, ...(await run(cmd)) });
  } catch (e) {
    say({ ev: 'fail', message: cmd.cmd + ': ' + String(e && e.message || e) });
  }
}
await shutdown();
server.close();
process.exit(0);
