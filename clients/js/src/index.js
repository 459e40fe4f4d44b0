// odin-ws-client: the WebSocket client of odin-ws for browsers and Node.js (docs/protocol.md is the wire contract).
// No dependencies: it uses the platform's WebSocket, URL, JSON, atob and timers.

/** Defaults of every option with a number (milliseconds unless said). */
export const DEFAULTS = Object.freeze({
  minDelayMs: 1000, // the shortest wait before a reconnect, and the spread of a 1001/4401 reconnect
  maxDelayMs: 30000, // the longest wait before a reconnect
  factor: 2, // how fast the wait grows with each failed attempt in a row
  pingAfterMs: 10000, // silence after which {"op":"ping"} is sent
  pongTimeoutMs: 5000, // no frame within this after a ping: the connection is dead, reconnect
  connectTimeoutMs: 10000, // a connect that has not opened by then counts as a failed attempt
  refreshBeforeMs: 60000, // send {"op":"refresh"} this long before the JWT's exp (at most a quarter of its life)
});

/** A connection that lived this long starts the back-off from the first step again when it closes. */
const STABLE_MS = 10000;

/**
 * The wait before reconnect attempt number {@code attempt} (0 for the first after a failure): exponential with
 * full jitter, between minDelayMs and min(maxDelayMs, minDelayMs + minDelayMs * factor^attempt).
 */
export function backoffDelay(attempt, opts = DEFAULTS, random = Math.random) {
  const min = opts.minDelayMs ?? DEFAULTS.minDelayMs;
  const max = opts.maxDelayMs ?? DEFAULTS.maxDelayMs;
  const factor = opts.factor ?? DEFAULTS.factor;
  const ceiling = Math.min(max, min * Math.pow(factor, Math.min(attempt, 64)));
  return Math.min(max, min + random() * ceiling);
}

/**
 * What to do after a connection ended with {@code code}: a WebSocket close code, or the HTTP status of a refused
 * handshake (400 to 599, as Node's `ws` reports it). {@code opened}: the connection had opened (a browser reports
 * every refused handshake as 1006 before open).
 * Returns {retry, soon, freshToken}: retry at all; soon (a short spread instead of the back-off, for a draining
 * node or an expired token); freshToken (call getToken() before the next attempt).
 */
export function closeDecision(code, opened = true) {
  switch (code) {
    case 1001: // going away: the node drains, another takes the connection
      return { retry: true, soon: true, freshToken: false };
    case 4401: // the JWT reached its exp
      return { retry: true, soon: true, freshToken: true };
    case 401: // the JWT was refused at the handshake
      return { retry: true, soon: false, freshToken: true };
    case 1002: case 1003: case 1007: case 1008: case 1009: case 1010: // the client's fault: a loop would not help
    case 400: case 403: case 404: case 426:
      return { retry: false, soon: false, freshToken: false };
    case 1006: // abnormal: a crash, the network, or (in a browser) any refused handshake
      return { retry: true, soon: false, freshToken: !opened };
    default: // 1000 from the server, 1011-1014 (1013: too slow, resume), 4408, 503 and the rest: back off
      return { retry: true, soon: false, freshToken: false };
  }
}

/**
 * A Retry-After header in milliseconds: delay-seconds (what odin-ws sends with a 503 while it admits a reconnect storm
 * at ws.maxHandshakesPerSecond) or an HTTP date; null when absent or unreadable.
 */
export function retryAfterMs(header, now = Date.now()) {
  if (header == null) return null;
  const text = String(header).trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** The expiry of a JWT in epoch milliseconds, from its exp claim; null when it has none or cannot be read. */
export function jwtExpiry(jwt) {
  try {
    const part = String(jwt).split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const exp = JSON.parse(atob(part + '='.repeat((4 - (part.length % 4)) % 4))).exp;
    return typeof exp === 'number' ? exp * 1000 : null;
  } catch {
    return null;
  }
}

/** A cursor store in localStorage (or another Storage), so that a reloaded page resumes where it was. */
export function localStorageCursor(key, storage = globalThis.localStorage) {
  return {
    load: () => storage.getItem(key),
    save: id => storage.setItem(key, id),
    clear: () => storage.removeItem(key),
  };
}

/**
 * A connection to odin-ws that reconnects by itself and resumes from the last message it received.
 * Events: message, connected, disconnected, resumed, refreshed, error, control (see index.d.ts).
 */
export class OdinClient {
  constructor(url, options = {}) {
    if (!url) throw new TypeError('OdinClient: a URL (or a function returning one) is required');
    if (!options.token === !options.getToken) {
      throw new TypeError('OdinClient: give either token (auth.mode=none) or getToken() (auth.mode=jwt)');
    }
    this._url = url;
    this._o = { ...DEFAULTS };
    for (const k of Object.keys(options)) if (options[k] !== undefined) this._o[k] = options[k];
    this._WebSocket = options.WebSocket || globalThis.WebSocket;
    if (typeof this._WebSocket !== 'function') {
      throw new TypeError('OdinClient: no WebSocket here; pass one, e.g. { WebSocket } from the ws package');
    }
    // Authorization header where the WebSocket takes headers (the ws package in Node.js), ?access_token= elsewhere
    this._jwtInHeader = options.jwtIn ? options.jwtIn === 'header'
      : Boolean(options.WebSocket) && options.WebSocket !== globalThis.WebSocket;
    this._random = options.random || Math.random;
    this._network = options.network !== undefined ? options.network
      : (typeof window !== 'undefined' ? window : null);
    this._listeners = {};
    this._lastId = options.cursor ? options.cursor.load() ?? null : null;
    this._state = 'closed';
    this._ws = null;
    this._gen = 0; // sockets of older generations are ignored
    this._attempt = 0; // failed attempts in a row
    this._jwt = null;
    this._timers = {};
    this._onOnline = () => this._online();
  }

  /** Listens to an event; returns a function that stops listening. */
  on(event, fn) {
    (this._listeners[event] ||= []).push(fn);
    return () => this.off(event, fn);
  }

  off(event, fn) {
    const list = this._listeners[event];
    if (list) this._listeners[event] = list.filter(f => f !== fn);
  }

  /** 'connecting', 'open', 'reconnecting' (waiting for the next attempt) or 'closed'. */
  get state() {
    return this._state;
  }

  /** The id of the last message received: what the next connect sends as since=. */
  get lastId() {
    return this._lastId;
  }

  /** Starts connecting (and reconnecting, until close() or a close code that must not be retried). */
  connect() {
    if (this._state !== 'closed') return this;
    this._state = 'connecting';
    this._attempt = 0;
    if (this._network) this._network.addEventListener('online', this._onOnline);
    this._open();
    return this;
  }

  /** Closes the connection for good (code 1000); connect() starts again. */
  close() {
    if (this._state === 'closed') return;
    const ws = this._detach();
    this._stop();
    if (ws) ws.close(1000);
    this._emit('disconnected', { code: 1000, reason: 'closed by the client', willRetry: false });
  }

  /** Sends a client op ({"op":"ping"}, ...) on the open connection; false when not connected. */
  send(op) {
    if (this._state !== 'open') return false;
    this._ws.send(typeof op === 'string' ? op : JSON.stringify(op));
    return true;
  }

  _emit(event, value) {
    const list = this._listeners[event];
    if (!list) return;
    for (const fn of list) {
      try {
        fn(value);
      } catch (e) {
        setTimeout(() => { throw e; }, 0); // a listener's bug surfaces, and the connection goes on
      }
    }
  }

  _error(kind, message, extra) {
    const e = new Error(message);
    e.kind = kind;
    Object.assign(e, extra);
    this._emit('error', e);
  }

  _stop() {
    this._state = 'closed';
    this._clearTimers();
    if (this._network) this._network.removeEventListener('online', this._onOnline);
  }

  _clearTimers() {
    for (const k of Object.keys(this._timers)) clearTimeout(this._timers[k]);
    this._timers = {};
  }

  _timer(name, ms, fn) {
    clearTimeout(this._timers[name]);
    this._timers[name] = setTimeout(() => {
      delete this._timers[name];
      fn();
    }, ms);
  }

  async _open() {
    const gen = ++this._gen;
    this._state = 'connecting';
    let url;
    try {
      url = new URL(typeof this._url === 'function' ? await this._url() : this._url);
      if (this._o.getToken && !this._jwt) {
        this._jwt = await this._o.getToken();
        if (!this._jwt) throw new Error('getToken() returned no token');
      }
    } catch (e) {
      if (gen !== this._gen) return;
      this._error('getToken', 'could not prepare the connection: ' + (e && e.message || e));
      this._ended(1006, 'no URL or token: ' + (e && e.message || e), false);
      return;
    }
    if (gen !== this._gen) return; // closed meanwhile
    let init;
    if (!this._o.getToken) url.searchParams.set('token', this._o.token);
    else if (this._jwtInHeader) init = { headers: { Authorization: 'Bearer ' + this._jwt } };
    else url.searchParams.set('access_token', this._jwt);
    if (this._lastId != null) url.searchParams.set('since', this._lastId);

    let ws;
    try {
      ws = init ? new this._WebSocket(url.href, init) : new this._WebSocket(url.href);
    } catch (e) {
      // a URL the WebSocket refuses (not ws: or wss:, say) would be refused again: report and stop
      this._stop();
      this._emit('disconnected', { code: 1006, reason: String(e && e.message || e), willRetry: false });
      this._error('closed', 'cannot open a WebSocket to ' + url.origin + url.pathname + ': ' + (e && e.message || e));
      return;
    }
    this._ws = ws;
    let opened = false;
    let refused = null; // {code, reason} of a refused handshake, where the WebSocket tells it
    if (typeof ws.on === 'function') {
      // the ws package: a refused handshake is 'unexpected-response' with the status (a browser sees only 1006)
      ws.on('unexpected-response', (req, res) => {
        refused = { code: res.statusCode, reason: '', retryAfterMs: retryAfterMs(res.headers && res.headers['retry-after']) };
        res.setEncoding('utf8');
        res.on('data', chunk => { if (refused.reason.length < 512) refused.reason += chunk; });
        res.on('end', () => ws.terminate());
        res.on('error', () => ws.terminate());
      });
    }
    this._timer('connect', this._o.connectTimeoutMs, () => {
      if (gen === this._gen) this._drop(1006, 'not open within ' + this._o.connectTimeoutMs + ' ms', false);
    });
    ws.onopen = () => {
      if (gen !== this._gen) return;
      opened = true;
      this._openedAt = this._lastFrameAt = Date.now();
      this._state = 'open';
      clearTimeout(this._timers.connect);
      this._armPing();
      if (this._o.getToken) this._scheduleRefresh(jwtExpiry(this._jwt));
      this._emit('connected', { since: this._lastId });
    };
    ws.onmessage = ev => {
      if (gen === this._gen) this._frame(ev.data);
    };
    ws.onerror = () => {}; // the close event follows and says what happened
    ws.onclose = ev => {
      if (gen !== this._gen) return;
      if (refused) this._ended(refused.code, refused.reason.trim(), false, refused.retryAfterMs);
      else this._ended(ev.code, ev.reason, opened);
    };
  }

  _frame(text) {
    this._lastFrameAt = Date.now();
    if (this._pinged) {
      this._pinged = false; // answered: the next ping is due pingAfterMs from now
      this._armPing();
    }
    let f;
    try {
      f = JSON.parse(text);
    } catch {
      this._error('frame', 'a frame that is not JSON: ' + String(text).slice(0, 100));
      return;
    }
    if (f === null || typeof f !== 'object' || Array.isArray(f)) {
      this._error('frame', 'a frame that is not a JSON object: ' + String(text).slice(0, 100));
      return;
    }
    if (typeof f.id === 'string') {
      this._lastId = f.id;
      if (this._o.cursor) this._o.cursor.save(f.id);
      this._emit('message', f);
      return;
    }
    switch (f.type) {
      case 'pong':
        return;
      case 'resumed':
        this._emit('resumed', { recovered: f.recovered === true, replayed: f.replayed | 0 });
        return;
      case 'refreshed':
        this._emit('refreshed', { expiresAt: f.expiresAt ?? null });
        this._scheduleRefresh(typeof f.expiresAt === 'number' ? f.expiresAt : null);
        return;
      case 'error':
        this._error('server', String(f.message));
        return;
      default:
        // a control frame this version does not know (every message frame has an id)
        this._emit('control', f);
    }
  }

  // Liveness: one timer for the whole connection; each frame only stamps _lastFrameAt (cheap per message).
  _armPing() {
    const silent = Date.now() - this._lastFrameAt;
    if (this._pinged) {
      if (silent >= this._o.pongTimeoutMs) {
        this._drop(1006, 'no answer to {"op":"ping"} within ' + this._o.pongTimeoutMs + ' ms', true);
        return;
      }
      this._timer('ping', this._o.pongTimeoutMs - silent, () => this._armPing());
      return;
    }
    if (silent >= this._o.pingAfterMs) {
      this._ping();
      return;
    }
    this._timer('ping', this._o.pingAfterMs - silent, () => this._armPing());
  }

  _ping() {
    if (this._state !== 'open') return;
    this.send(PING);
    this._pinged = true;
    this._lastFrameAt = Date.now(); // the pong timeout counts from the ping
    this._timer('ping', this._o.pongTimeoutMs, () => this._armPing());
  }

  _online() {
    if (this._state === 'reconnecting') {
      clearTimeout(this._timers.retry);
      delete this._timers.retry;
      this._open();
    } else if (this._state === 'open' && !this._pinged) {
      this._ping(); // the network changed under an open connection: check it now
    }
  }

  _scheduleRefresh(expiresAt) {
    clearTimeout(this._timers.refresh);
    if (expiresAt == null || this._o.refreshToken === false) return;
    const left = expiresAt - Date.now();
    const wait = Math.max(0, left - Math.min(this._o.refreshBeforeMs, left / 4));
    this._timer('refresh', wait, () => this._refresh(this._gen));
  }

  async _refresh(gen) {
    let jwt;
    try {
      jwt = await this._o.getToken();
    } catch (e) {
      if (gen !== this._gen) return;
      this._error('getToken', 'could not refresh the token: ' + (e && e.message || e));
      const left = jwtExpiry(this._jwt) - Date.now();
      if (left > 2000) this._timer('refresh', left / 2, () => this._refresh(gen)); // else 4401 comes, then getToken
      return;
    }
    if (gen !== this._gen || !jwt) return;
    this._jwt = jwt;
    this.send({ op: 'refresh', token: jwt });
  }

  /** Gives up on the current socket without waiting for its close handshake (a dead peer never answers). */
  _drop(code, reason, opened) {
    const ws = this._ws;
    this._ended(code, reason, opened);
    try {
      if (typeof ws.terminate === 'function') ws.terminate();
      else ws.close();
    } catch {
      // already closing
    }
  }

  /** Forgets the current socket: its late events are ignored. */
  _detach() {
    const ws = this._ws;
    this._ws = null;
    this._gen++;
    return ws;
  }

  /**
   * The connection ended (or never opened): reconnect as the close code says, or stop. {@code retryAfterMs}: a refused
   * handshake's Retry-After (a node admitting a reconnect storm at its rate), which replaces the back-off.
   */
  _ended(code, reason, opened, retryAfterMs = null) {
    this._detach();
    this._clearTimers();
    this._pinged = false;
    if (opened && Date.now() - this._openedAt >= STABLE_MS) this._attempt = 0;
    const d = closeDecision(code, opened);
    if (d.freshToken && this._o.getToken) this._jwt = null;
    if (!d.retry || (d.freshToken && !this._o.getToken && code !== 1006)) {
      this._stop();
      this._emit('disconnected', { code, reason, willRetry: false });
      this._error('closed', 'odin-ws closed the connection with ' + code + (reason ? ' (' + reason + ')' : '')
        + ': not retried', { code, reason });
      return;
    }
    // the server's line-up, plus a random share of a second so that the clients told the same second spread over it
    const delayMs = retryAfterMs != null ? retryAfterMs + this._random() * 1000
      : d.soon ? this._random() * this._o.minDelayMs : backoffDelay(this._attempt++, this._o, this._random);
    this._state = 'reconnecting';
    this._emit('disconnected', { code, reason, willRetry: true, delayMs });
    this._timer('retry', delayMs, () => this._open());
  }
}

const PING = '{"op":"ping"}';
