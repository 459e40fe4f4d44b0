// The client's seam to the platform, for the unit tests of its policy (back-off, close codes, cursor, liveness,
// refresh): a WebSocket object whose events the test fires by hand. What a real server does is tested against
// real odin-ws nodes (src/test/java/io/odin/ws/client/JsClient*Test, through test/integration/driver.mjs).

/** A browser-like WebSocket: (url) only, events through on* properties. */
export class FakeWebSocket {
  static instances = [];

  constructor(url, init) {
    this.url = new URL(url);
    this.init = init;
    this.sent = [];
    this.readyState = 0;
    this.closedWith = null;
    FakeWebSocket.instances.push(this);
  }

  static reset() {
    FakeWebSocket.instances = [];
  }

  static last() {
    return FakeWebSocket.instances[FakeWebSocket.instances.length - 1];
  }

  send(text) {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(JSON.parse(text));
  }

  close(code) {
    this.closedWith = code ?? 1005;
    this.readyState = 2;
  }

  // what the "server" does
  open() {
    this.readyState = 1;
    this.onopen({});
  }

  frame(obj) {
    this.onmessage({ data: typeof obj === 'string' ? obj : JSON.stringify(obj) });
  }

  serverClose(code, reason = '') {
    this.readyState = 3;
    this.onclose({ code, reason, wasClean: code !== 1006 });
  }
}

/** Like Node's ws package: takes { headers } and reports a refused handshake as 'unexpected-response'. */
export class FakeNodeWebSocket extends FakeWebSocket {
  constructor(url, init) {
    super(url, init);
    this.handlers = {};
    this.terminated = false;
  }

  on(event, fn) {
    this.handlers[event] = fn;
  }

  terminate() {
    this.terminated = true;
  }

  refuse(status, body = '', headers = {}) {
    const res = { statusCode: status, headers, setEncoding() {}, listeners: {}, on(e, fn) { this.listeners[e] = fn; } };
    this.handlers['unexpected-response']({}, res);
    if (body) res.listeners.data(body);
    res.listeners.end();
    this.serverClose(1006);
  }
}
