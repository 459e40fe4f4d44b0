// Unit tests of the client's policy: back-off, what each close code leads to, the cursor, liveness, token refresh
// and the online event. The WebSocket is the fake of fake-websocket.js; the timers and the clock are node:test's.
import { test, beforeEach, afterEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import { OdinClient, backoffDelay, closeDecision, jwtExpiry, localStorageCursor, retryAfterMs, DEFAULTS } from '../src/index.js';
import { FakeWebSocket, FakeNodeWebSocket } from './fake-websocket.js';

const URL_ = 'ws://127.0.0.1:3001/ws';

beforeEach(() => {
  FakeWebSocket.reset();
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
});

afterEach(() => mock.timers.reset());

/** Lets promises (getToken) settle; the mocked timers do not move. */
const settle = () => new Promise(resolve => setImmediate(resolve));

function client(options = {}) {
  const c = new OdinClient(URL_, { token: 'user-42', WebSocket: FakeWebSocket, random: () => 0.5, network: null, ...options });
  const events = [];
  for (const e of ['message', 'connected', 'disconnected', 'resumed', 'refreshed', 'error', 'control']) {
    c.on(e, v => events.push([e, v]));
  }
  c.events = events;
  c.of = name => events.filter(([e]) => e === name).map(([, v]) => v);
  return c;
}

function jwt(claims) {
  const b64 = o => Buffer.from(JSON.stringify(o)).toString('base64url');
  return b64({ alg: 'HS256', typ: 'JWT' }) + '.' + b64(claims) + '.signature';
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

test('back-off: full jitter over an exponential ceiling, from min to max', () => {
  const o = { minDelayMs: 1000, maxDelayMs: 30000, factor: 2 };
  assert.equal(backoffDelay(0, o, () => 0), 1000);
  assert.equal(backoffDelay(0, o, () => 0.999999), 1000 + 999.999);
  assert.equal(backoffDelay(3, o, () => 0.5), 1000 + 0.5 * 8000);
  assert.equal(backoffDelay(4, o, () => 1), 17000);
  assert.equal(backoffDelay(5, o, () => 1), 30000, 'capped at max');
  assert.equal(backoffDelay(500, o, () => 1), 30000, 'no overflow for a long outage');
  assert.equal(backoffDelay(2, { minDelayMs: 100, maxDelayMs: 10000, factor: 3 }, () => 1), 100 + 900);
  // spread: 1000 clients after the same failure do not come back in the same millisecond
  const delays = Array.from({ length: 1000 }, () => backoffDelay(2, o));
  const milliseconds = new Set(delays.map(Math.floor));
  assert.ok(milliseconds.size > 800, 'jittered: 1000 delays fall in ' + milliseconds.size + ' distinct milliseconds');
  for (const d of delays) assert.ok(d >= 1000 && d <= 5000, 'within [min, min + min*factor^2]: ' + d);
});

test('close codes: what is retried, how soon, and with which token', () => {
  const d = code => closeDecision(code);
  assert.deepEqual(d(1001), { retry: true, soon: true, freshToken: false });
  assert.deepEqual(d(4401), { retry: true, soon: true, freshToken: true });
  assert.deepEqual(d(401), { retry: true, soon: false, freshToken: true });
  for (const code of [1013, 503, 4408, 1011, 1012, 1000]) {
    assert.deepEqual(d(code), { retry: true, soon: false, freshToken: false }, String(code));
  }
  for (const code of [1002, 1007, 1008, 1009, 400, 403, 404]) assert.equal(d(code).retry, false, String(code));
  assert.deepEqual(closeDecision(1006, true), { retry: true, soon: false, freshToken: false });
  assert.deepEqual(closeDecision(1006, false), { retry: true, soon: false, freshToken: true }, 'a browser\'s refused handshake');
});

test('reconnects with a growing, jittered back-off, and from the first step after a stable connection', () => {
  const c = client().connect();
  assert.equal(FakeWebSocket.instances.length, 1);
  assert.equal(FakeWebSocket.last().url.searchParams.get('token'), 'user-42');
  FakeWebSocket.last().serverClose(1006);
  const expected = [1500, 2000, 3000, 5000, 9000, 16000, 16000];
  for (let i = 0; i < expected.length; i++) {
    const { delayMs, willRetry, code } = c.of('disconnected').at(-1);
    assert.deepEqual({ delayMs, willRetry, code }, { delayMs: expected[i], willRetry: true, code: 1006 }, 'attempt ' + i);
    assert.equal(c.state, 'reconnecting');
    mock.timers.tick(delayMs - 1);
    assert.equal(FakeWebSocket.instances.length, i + 1, 'not before the delay');
    mock.timers.tick(1);
    assert.equal(FakeWebSocket.instances.length, i + 2);
    FakeWebSocket.last().serverClose(1006); // refused again (the node is down)
  }
  // a connection that opened and lived 10 s resets the back-off
  mock.timers.tick(30000);
  FakeWebSocket.last().open();
  mock.timers.tick(10000);
  FakeWebSocket.last().frame({ type: 'pong' });
  FakeWebSocket.last().serverClose(1006);
  assert.equal(c.of('disconnected').at(-1).delayMs, 1500);
  c.close();
});

test('1001 (a draining node) reconnects soon, spread over minDelayMs, without growing the back-off', () => {
  const c = client({ random: () => 0.25 }).connect();
  FakeWebSocket.last().open();
  FakeWebSocket.last().serverClose(1001, 'going away');
  assert.deepEqual(c.of('disconnected')[0], { code: 1001, reason: 'going away', willRetry: true, delayMs: 250 });
  mock.timers.tick(250);
  assert.equal(FakeWebSocket.instances.length, 2);
  FakeWebSocket.last().open();
  FakeWebSocket.last().serverClose(1001);
  assert.equal(c.of('disconnected')[1].delayMs, 250);
  c.close();
});

test('1013 (too slow) and 503 back off and reconnect', () => {
  const c = client({ WebSocket: FakeNodeWebSocket }).connect();
  FakeWebSocket.last().open();
  FakeWebSocket.last().serverClose(1013, 'too slow');
  assert.equal(c.of('disconnected')[0].delayMs, 1500);
  mock.timers.tick(1500);
  FakeWebSocket.last().refuse(503, 'too many connections');
  assert.deepEqual(c.of('disconnected')[1], { code: 503, reason: 'too many connections', willRetry: true, delayMs: 2000 });
  assert.ok(FakeWebSocket.last().terminated, 'the refused request is ended');
  mock.timers.tick(2000);
  assert.equal(FakeWebSocket.instances.length, 3);
  c.close();
});

test('a 503 with Retry-After (a node admitting a reconnect storm) waits what it says plus a share of a second', () => {
  const c = client({ WebSocket: FakeNodeWebSocket }).connect();
  FakeWebSocket.last().refuse(503, 'too many handshakes: retry after 7 s', { 'retry-after': '7' });
  assert.deepEqual(c.of('disconnected')[0],
    { code: 503, reason: 'too many handshakes: retry after 7 s', willRetry: true, delayMs: 7500 });
  mock.timers.tick(7499);
  assert.equal(FakeWebSocket.instances.length, 1);
  mock.timers.tick(1);
  assert.equal(FakeWebSocket.instances.length, 2);
  FakeWebSocket.last().refuse(503, 'too many handshakes: retry after 2 s', { 'retry-after': '2' });
  assert.equal(c.of('disconnected')[1].delayMs, 2500, 'the server\'s line, not a growing back-off');
  c.close();
});

test('Retry-After: seconds or an HTTP date', () => {
  assert.equal(retryAfterMs('3'), 3000);
  assert.equal(retryAfterMs(' 0 '), 0);
  assert.equal(retryAfterMs(new Date(Date.now() + 5000).toUTCString()), 5000);
  assert.equal(retryAfterMs(undefined), null);
  assert.equal(retryAfterMs('soon'), null);
});

for (const [code, how] of [[1008, 'close'], [1009, 'close'], [1007, 'close'], [1002, 'close'], [403, 'refuse'], [400, 'refuse'], [404, 'refuse']]) {
  test(`${code} is reported and not retried`, () => {
    const c = client({ WebSocket: FakeNodeWebSocket }).connect();
    if (how === 'close') {
      FakeWebSocket.last().open();
      FakeWebSocket.last().serverClose(code, 'policy');
    } else {
      FakeWebSocket.last().refuse(code, 'origin not allowed\n');
    }
    assert.equal(c.of('disconnected')[0].willRetry, false);
    assert.equal(c.of('disconnected')[0].code, code);
    const err = c.of('error')[0];
    assert.equal(err.kind, 'closed');
    assert.equal(err.code, code);
    assert.equal(c.state, 'closed');
    mock.timers.tick(10 * 60 * 1000);
    assert.equal(FakeWebSocket.instances.length, 1, 'no reconnect, ever');
    c.connect(); // the application may start again, e.g. after fixing what it sent
    assert.equal(FakeWebSocket.instances.length, 2);
    c.close();
  });
}

test('close() sends 1000, stops, and nothing reconnects', () => {
  const c = client().connect();
  const ws = FakeWebSocket.last();
  ws.open();
  c.close();
  assert.equal(ws.closedWith, 1000);
  ws.serverClose(1000); // the close handshake completes later
  assert.deepEqual(c.of('disconnected'), [{ code: 1000, reason: 'closed by the client', willRetry: false }]);
  mock.timers.tick(60000);
  assert.equal(FakeWebSocket.instances.length, 1);
  assert.equal(c.state, 'closed');
  // close() while a retry is pending cancels it
  c.connect();
  FakeWebSocket.last().serverClose(1006);
  c.close();
  mock.timers.tick(60000);
  assert.equal(FakeWebSocket.instances.length, 2);
});

test('cursor: the last id goes out as since= on reconnect, URL-encoded, and is saved', () => {
  const saved = [];
  const c = client({ cursor: { load: () => null, save: id => saved.push(id) } }).connect();
  const ws = FakeWebSocket.last();
  assert.equal(ws.url.searchParams.has('since'), false, 'nothing to resume from yet');
  ws.open();
  ws.frame({ type: 'order', id: 'a1', data: { n: 1 } });
  const odd = 'e7.AZ-_~0:3/+ &=?%x';
  ws.frame({ type: 'order', channel: 'orders', id: odd, data: { n: 2 } });
  assert.deepEqual(c.of('message').map(m => m.data.n), [1, 2]);
  assert.equal(c.of('message')[1].channel, 'orders');
  assert.deepEqual(saved, ['a1', odd]);
  assert.equal(c.lastId, odd);
  ws.serverClose(1006);
  mock.timers.tick(1500);
  const again = FakeWebSocket.last();
  assert.equal(again.url.searchParams.get('since'), odd);
  assert.deepEqual([...again.url.searchParams.keys()], ['token', 'since'], 'encoded: ' + again.url.search);
  c.close();
});

test('cursor: a stored cursor resumes the first connect; recovered:false is reported and the cursor kept', () => {
  const store = new Map([['odin', 'stored-7']]);
  const storage = { getItem: k => store.get(k) ?? null, setItem: (k, v) => store.set(k, v), removeItem: k => store.delete(k) };
  const c = client({ cursor: localStorageCursor('odin', storage) }).connect();
  let ws = FakeWebSocket.last();
  assert.equal(ws.url.searchParams.get('since'), 'stored-7');
  ws.open();
  assert.deepEqual(c.of('connected'), [{ since: 'stored-7' }]);
  ws.frame({ type: 'resumed', recovered: false, replayed: 0 });
  assert.deepEqual(c.of('resumed'), [{ recovered: false, replayed: 0 }]);
  assert.equal(c.lastId, 'stored-7', 'kept until a new message supersedes it');
  ws.serverClose(1006);
  mock.timers.tick(1500);
  ws = FakeWebSocket.last();
  assert.equal(ws.url.searchParams.get('since'), 'stored-7', 'still resumes from the old cursor');
  ws.open();
  ws.frame({ type: 'resumed', recovered: true, replayed: 1 });
  ws.frame({ type: 'x', id: 'new-1', data: null });
  assert.equal(store.get('odin'), 'new-1');
  assert.deepEqual(c.of('resumed')[1], { recovered: true, replayed: 1 });
  c.close();
});

test('frames: control frames are not messages; unknown ones are passed on; errors are reported', () => {
  const c = client().connect();
  const ws = FakeWebSocket.last();
  ws.open();
  ws.frame({ type: 'pong' });
  ws.frame({ type: 'subscribed', channel: 'news' });
  ws.frame({ type: 'future-control', x: 1 });
  ws.frame({ type: 'error', message: 'unknown op' });
  ws.frame('not json');
  ws.frame('[1,2]');
  ws.frame({ type: 'order', data: 5 }); // not a message: every message frame has an id
  assert.deepEqual(c.of('control'), [{ type: 'subscribed', channel: 'news' }, { type: 'future-control', x: 1 },
    { type: 'order', data: 5 }]);
  assert.deepEqual(c.of('error').map(e => e.kind), ['server', 'frame', 'frame']);
  assert.equal(c.of('error')[0].message, 'unknown op');
  assert.deepEqual(c.of('message'), []);
  assert.equal(c.lastId, null);
  assert.equal(c.state, 'open', 'none of this closes the connection');
  c.close();
});

test('liveness: {"op":"ping"} after silence; no answer within pongTimeoutMs drops the connection and reconnects', () => {
  const c = client({ pingAfterMs: 10000, pongTimeoutMs: 5000 }).connect();
  const ws = FakeWebSocket.last();
  ws.open();
  mock.timers.tick(6000);
  ws.frame({ type: 'x', id: '1', data: null }); // traffic postpones the ping
  mock.timers.tick(9999);
  assert.deepEqual(ws.sent, []);
  mock.timers.tick(1);
  assert.deepEqual(ws.sent, [{ op: 'ping' }]);
  mock.timers.tick(4000);
  ws.frame({ type: 'pong' });
  mock.timers.tick(9999);
  assert.equal(ws.sent.length, 1, 'the pong counts as traffic');
  mock.timers.tick(1);
  assert.equal(ws.sent.length, 2);
  assert.equal(c.state, 'open');
  mock.timers.tick(4999);
  assert.equal(c.state, 'open');
  mock.timers.tick(1); // no pong: the peer is gone (laptop lid, lost Wi-Fi), though no close event came
  assert.equal(c.state, 'reconnecting');
  const d = c.of('disconnected')[0];
  assert.equal(d.code, 1006);
  assert.match(d.reason, /ping/);
  assert.ok(ws.closedWith !== null, 'the dead socket is closed, not waited for');
  mock.timers.tick(d.delayMs);
  assert.equal(FakeWebSocket.instances.length, 2);
  assert.equal(FakeWebSocket.last().url.searchParams.get('since'), '1');
  ws.serverClose(1006); // the old socket's late close changes nothing
  assert.equal(c.of('disconnected').length, 1);
  c.close();
});

test('a connect that does not open within connectTimeoutMs is a failed attempt', () => {
  const c = client({ connectTimeoutMs: 3000 }).connect();
  mock.timers.tick(3000);
  assert.equal(c.of('disconnected')[0].code, 1006);
  assert.match(c.of('disconnected')[0].reason, /not open within 3000 ms/);
  mock.timers.tick(1500);
  assert.equal(FakeWebSocket.instances.length, 2);
  c.close();
});

test('JWT: getToken() to connect (header with ws, ?access_token= in browsers), refresh before exp', async () => {
  let n = 0;
  const tokens = [];
  const getToken = async () => {
    const t = jwt({ sub: 'user-42', n: ++n, exp: nowSeconds() + 120 });
    tokens.push(t);
    return t;
  };
  const c = client({ token: undefined, getToken, WebSocket: FakeNodeWebSocket, pingAfterMs: 1e9 }).connect();
  await settle();
  let ws = FakeWebSocket.last();
  assert.equal(ws.init.headers.Authorization, 'Bearer ' + tokens[0]);
  assert.equal(ws.url.searchParams.has('access_token'), false);
  assert.equal(ws.url.searchParams.has('token'), false);
  ws.open();
  // 120 s to live: refreshed a quarter of it (30 s, less than refreshBeforeMs) before exp
  mock.timers.tick(89999);
  await settle();
  assert.deepEqual(ws.sent, []);
  mock.timers.tick(1);
  await settle();
  assert.deepEqual(ws.sent, [{ op: 'refresh', token: tokens[1] }]);
  ws.frame({ type: 'refreshed', expiresAt: Date.now() + 3_600_000 });
  assert.equal(c.of('refreshed')[0].expiresAt, Date.now() + 3_600_000);
  mock.timers.tick(3_600_000 - DEFAULTS.refreshBeforeMs - 1);
  await settle();
  assert.equal(ws.sent.filter(f => f.op === 'refresh').length, 1);
  mock.timers.tick(1);
  await settle();
  assert.equal(ws.sent.filter(f => f.op === 'refresh').length, 2, 'the next refresh follows the server\'s expiresAt');
  c.close();

  // in a browser (the platform's WebSocket): ?access_token=
  globalThis.WebSocket = FakeWebSocket;
  try {
    const b = client({ token: undefined, getToken, WebSocket: undefined }).connect();
    await settle();
    ws = FakeWebSocket.last();
    assert.equal(ws.url.searchParams.get('access_token'), tokens.at(-1));
    assert.equal(ws.init, undefined);
    b.close();
  } finally {
    delete globalThis.WebSocket;
  }
});

test('JWT: 4401 gets a fresh token and reconnects soon; 401 gets a fresh token with back-off', async () => {
  let n = 0;
  const getToken = async () => jwt({ sub: 'u', n: ++n, exp: nowSeconds() + 3600 });
  const c = client({ token: undefined, getToken, WebSocket: FakeNodeWebSocket, refreshToken: false }).connect();
  await settle();
  FakeWebSocket.last().open();
  FakeWebSocket.last().frame({ type: 'x', id: 'c9', data: 1 });
  FakeWebSocket.last().serverClose(4401, 'token expired');
  assert.deepEqual(c.of('disconnected')[0], { code: 4401, reason: 'token expired', willRetry: true, delayMs: 500 });
  mock.timers.tick(500);
  await settle();
  assert.equal(n, 2, 'a fresh token before reconnecting');
  let ws = FakeWebSocket.last();
  assert.equal(JSON.parse(Buffer.from(ws.init.headers.Authorization.split('.')[1], 'base64url')).n, 2);
  assert.equal(ws.url.searchParams.get('since'), 'c9');
  ws.refuse(401, 'invalid JWT: expired');
  assert.deepEqual(c.of('disconnected')[1], { code: 401, reason: 'invalid JWT: expired', willRetry: true, delayMs: 1500 });
  mock.timers.tick(1500);
  await settle();
  assert.equal(n, 3);
  ws = FakeWebSocket.last();
  ws.open();
  ws.serverClose(1006); // a crash after opening: the token is still good
  mock.timers.tick(c.of('disconnected').at(-1).delayMs);
  await settle();
  assert.equal(n, 3, 'no new token for a crash');
  assert.equal(FakeWebSocket.instances.length, 4);
  c.close();
});

test('JWT in a browser: a handshake that fails before open (status unknown) fetches a fresh token', async () => {
  let n = 0;
  const c = client({ token: undefined, getToken: () => jwt({ sub: 'u', n: ++n }), WebSocket: FakeWebSocket }).connect();
  await settle();
  FakeWebSocket.last().serverClose(1006);
  mock.timers.tick(1500);
  await settle();
  assert.equal(n, 2);
  c.close();
});

test('getToken() failing is reported and retried with back-off', async () => {
  let fail = true;
  const c = client({ token: undefined, getToken: async () => { if (fail) throw new Error('backend down'); return jwt({ sub: 'u' }); } }).connect();
  await settle();
  assert.equal(FakeWebSocket.instances.length, 0);
  assert.equal(c.of('error')[0].kind, 'getToken');
  assert.match(c.of('error')[0].message, /backend down/);
  assert.equal(c.of('disconnected')[0].delayMs, 1500);
  fail = false;
  mock.timers.tick(1500);
  await settle();
  assert.equal(FakeWebSocket.instances.length, 1);
  c.close();
});

test('a 4401 or 401 without getToken stops: the same token would be refused forever', () => {
  const c = client({ WebSocket: FakeNodeWebSocket }).connect();
  FakeWebSocket.last().refuse(401, 'missing JWT');
  assert.equal(c.of('disconnected')[0].willRetry, false);
  assert.equal(c.state, 'closed');
});

test('online: reconnects at once while waiting, and checks an open connection with a ping', () => {
  const network = new EventTarget();
  const c = client({ network }).connect();
  FakeWebSocket.last().serverClose(1006);
  for (let i = 0; i < 5; i++) {
    mock.timers.tick(c.of('disconnected').at(-1).delayMs);
    FakeWebSocket.last().serverClose(1006);
  }
  assert.equal(c.of('disconnected').at(-1).delayMs, 16000, 'a long wait after an outage');
  network.dispatchEvent(new Event('online'));
  assert.equal(FakeWebSocket.instances.length, 7, 'reconnected without waiting 30 s');
  const ws = FakeWebSocket.last();
  ws.open();
  mock.timers.tick(16000); // the cancelled retry does not fire
  assert.equal(FakeWebSocket.instances.length, 7);
  ws.frame({ type: 'pong' });
  network.dispatchEvent(new Event('online'));
  assert.deepEqual(ws.sent.at(-1), { op: 'ping' });
  c.close();
  network.dispatchEvent(new Event('online'));
  assert.equal(FakeWebSocket.instances.length, 7, 'not listening once closed');
});

test('a URL the WebSocket refuses is reported once and not retried', () => {
  class Refusing extends FakeWebSocket {
    constructor(url) {
      super(url);
      throw new SyntaxError('The URL\'s scheme must be either \'ws\' or \'wss\'');
    }
  }
  const c = new OdinClient('http://127.0.0.1:3001/ws', { token: 't', WebSocket: Refusing, network: null });
  const events = [];
  c.on('disconnected', d => events.push(d));
  c.on('error', e => events.push(e.kind));
  c.connect();
  assert.equal(c.state, 'closed');
  assert.equal(events[0].willRetry, false);
  assert.equal(events[1], 'closed');
  mock.timers.tick(60000);
  assert.equal(FakeWebSocket.instances.length, 1);
});

test('jwtExpiry reads exp; options are checked', () => {
  assert.equal(jwtExpiry(jwt({ exp: 1700000000 })), 1700000000000);
  assert.equal(jwtExpiry(jwt({ sub: 'x' })), null);
  assert.equal(jwtExpiry('garbage'), null);
  assert.throws(() => new OdinClient(URL_, { WebSocket: FakeWebSocket }), /token.*getToken/);
  assert.throws(() => new OdinClient(URL_, { token: 'a', getToken: () => 'b', WebSocket: FakeWebSocket }), /either/);
  assert.throws(() => new OdinClient('', { token: 'a' }), /URL/);
});

test('a listener that throws does not break delivery to the others or the connection', () => {
  const c = client().connect();
  const ws = FakeWebSocket.last();
  ws.open();
  c.on('message', () => { throw new Error('app bug'); });
  const got = [];
  c.on('message', m => got.push(m.id));
  ws.frame({ type: 'x', id: '1', data: null });
  assert.deepEqual(got, ['1']);
  assert.equal(c.state, 'open');
  assert.throws(() => mock.timers.tick(1), /app bug/, 'and surfaces as an uncaught error');
  c.close();
});
