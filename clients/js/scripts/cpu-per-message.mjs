// CPU per message of odin-ws-client in Node.js, against a real odin-ws node: the client process's CPU time
// (process.cpuUsage, user + system) over the messages it received, beside a bare ws socket that only JSON.parses
// each frame (what a hand-written loop does at least), in alternating rounds. The producer is another process.
// usage: node scripts/cpu-per-message.mjs [--ws ws://127.0.0.1:3001/ws] [--api http://127.0.0.1:3004]
//        [--messages 200000] [--rounds 3] [--batch 500]
import { spawn } from 'node:child_process';
import { WebSocket } from 'ws';
import { OdinClient } from '../src/index.js';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const wsUrl = args.ws || 'ws://127.0.0.1:3001/ws';
const api = args.api || 'http://127.0.0.1:3004';
const messages = Number(args.messages || 200000);
const rounds = Number(args.rounds || 3);
const batch = Number(args.batch || 500);

if (args.role === 'producer') {
  // publishes `messages` envelopes to `token`, `batch` per request, each request after the previous answer
  const body = i => JSON.stringify(Array.from({ length: batch }, (_, k) => ({
    type: 'bench', token: args.token, data: { seq: i + k, text: 'an order was shipped', n: 42 },
  })));
  for (let i = 0; i < messages; i += batch) {
    const r = await fetch(api + '/api/publish', { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(i) });
    if (r.status !== 202) throw new Error('publish: ' + r.status + ' ' + await r.text());
  }
  process.exit(0);
}

function produce(token) {
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--role', 'producer', '--token', token,
    '--api', api, '--messages', String(messages), '--batch', String(batch)], { stdio: 'inherit' });
  return new Promise((resolve, reject) => child.on('exit', code => code === 0 ? resolve() : reject(new Error('producer ' + code))));
}

async function measure(kind, round) {
  const token = 'cpu-' + kind + '-' + round;
  let received = 0;
  let done;
  const all = new Promise(resolve => { done = resolve; });
  let close;
  let opened;
  const open = new Promise(resolve => { opened = resolve; });
  if (kind === 'odin-ws-client') {
    const client = new OdinClient(wsUrl, { token, WebSocket });
    client.on('connected', opened);
    client.on('message', m => { if (m.data.seq >= 0 && ++received === messages) done(); });
    client.connect();
    close = () => client.close();
  } else {
    const ws = new WebSocket(wsUrl + '?token=' + token);
    ws.onopen = opened;
    ws.onmessage = ev => { const m = JSON.parse(ev.data); if (m.data.seq >= 0 && ++received === messages) done(); };
    close = () => ws.close();
  }
  await open;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const producing = produce(token);
  await all;
  const cpu = process.cpuUsage(cpu0);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await producing;
  close();
  return { kind, round, messages, seconds: +seconds.toFixed(2),
    cpuMicrosPerMessage: +((cpu.user + cpu.system) / messages).toFixed(3), perSecond: Math.round(messages / seconds) };
}

const results = [];
for (let round = 1; round <= rounds; round++) {
  for (const kind of round % 2 ? ['odin-ws-client', 'bare-ws'] : ['bare-ws', 'odin-ws-client']) {
    const r = await measure(kind, round);
    results.push(r);
    console.log(JSON.stringify(r));
  }
}
const median = kind => {
  const v = results.filter(r => r.kind === kind).map(r => r.cpuMicrosPerMessage).sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)];
};
console.log(JSON.stringify({ node: process.version, medianCpuMicrosPerMessage: { 'odin-ws-client': median('odin-ws-client'), 'bare-ws': median('bare-ws') } }));
process.exit(0);
