// The application side of the integration tests: OdinClient instances created and driven by commands, every event
// reported as one JSON object. The same module runs in headless Chromium (served by driver.mjs, loading the package
// over HTTP) and in Node.js (inside driver.mjs, with the ws package).
//
// Commands: {cmd:'open', name, url, token | jwt:{sub, ttls:[seconds...]}, options:{...}, persist:'key'}
//           {cmd:'close', name}  {cmd:'send', name, frame, times}  {cmd:'busy', name, ms}  {cmd:'release'}
//           {cmd:'state', name}

export function createHarness({ OdinClient, localStorageCursor, WebSocket, report, storage, pauseSocket, resumeSockets }) {
  const clients = new Map();
  const received = new Map(); // name -> messages received so far (n)
  const tokensIssued = new Map();

  // every frame a client sends, seen at the WebSocket (pings included)
  const proto = (WebSocket || globalThis.WebSocket).prototype;
  const send = proto.send;
  const sockets = new Map(); // name -> the client's current socket
  proto.send = function (data) {
    if (this.__odinName) report({ ev: 'sent', name: this.__odinName, frame: String(data).slice(0, 200) });
    return send.call(this, data);
  };

  async function getToken(name, jwt) {
    const i = tokensIssued.get(name) || 0;
    tokensIssued.set(name, i + 1);
    const ttl = jwt.ttls[Math.min(i, jwt.ttls.length - 1)];
    const res = await fetch(jwt.tokenUrl + '?sub=' + encodeURIComponent(jwt.sub) + '&ttl=' + ttl + '&client=' + encodeURIComponent(name));
    if (!res.ok) throw new Error('token endpoint answered ' + res.status);
    return res.text();
  }

  function open(c) {
    const options = { ...c.options };
    if (c.jwt) options.getToken = () => getToken(c.name, c.jwt);
    else options.token = c.token;
    if (WebSocket) {
      // Node.js: the ws package, each socket labelled with its client
      options.WebSocket = class extends WebSocket {
        constructor(...args) {
          super(...args);
          this.__odinName = c.name;
          sockets.set(c.name, this);
        }
      };
    }
    if (c.persist) options.cursor = localStorageCursor(c.persist, storage);
    const client = new OdinClient(c.url, options);
    clients.set(c.name, client);
    received.set(c.name, 0);
    const say = (ev, v) => report({ ev, name: c.name, ...v });
    client.on('message', m => {
      const n = received.get(c.name);
      received.set(c.name, n + 1);
      // the data without the padding some tests add to make messages big
      const data = m.data && typeof m.data === 'object' && 'pad' in m.data ? { ...m.data, pad: m.data.pad.length } : m.data;
      say('message', { n, hasId: typeof m.id === 'string', id: m.id, type: m.type, data });
    });
    client.on('connected', e => {
      if (!WebSocket) labelBrowserSocket(c.name);
      say('connected', e);
    });
    client.on('disconnected', e => say('disconnected', e));
    client.on('resumed', e => say('resumed', e));
    client.on('refreshed', e => say('refreshed', e));
    client.on('control', e => say('control', { frame: e }));
    client.on('error', e => say('error', { kind: e.kind, message: e.message, code: e.code }));
    client.connect();
    return { opened: c.name };
  }

  // in a browser the client uses the platform's WebSocket; the socket it opened is the newest one created
  const created = [];
  if (!WebSocket && globalThis.WebSocket) {
    const Platform = globalThis.WebSocket;
    globalThis.WebSocket = new Proxy(Platform, {
      construct(target, args) {
        const ws = new target(...args);
        created.push(ws);
        return ws;
      },
    });
  }
  function labelBrowserSocket(name) {
    const ws = created.find(s => s.readyState === 1 && !s.__odinName);
    if (ws) {
      ws.__odinName = name;
      sockets.set(name, ws);
    }
    created.splice(0, created.length, ...created.filter(s => s.readyState < 2 && !s.__odinName));
  }

  function run(cmd) {
    const client = clients.get(cmd.name);
    switch (cmd.cmd) {
      case 'open':
        return open(cmd);
      case 'close':
        client.close();
        return { closed: cmd.name };
      case 'send': {
        let sent = 0;
        for (let i = 0; i < (cmd.times || 1); i++) if (client.send(cmd.frame)) sent++;
        return { sent };
      }
      case 'busy': {
        // the client stops reading until 'release' (or ms): Node pauses the socket; in a browser the page's main
        // thread waits in a synchronous request that the driver answers on 'release'
        if (pauseSocket) return pauseSocket(sockets.get(cmd.name), cmd.ms);
        setTimeout(() => {
          const hold = new XMLHttpRequest();
          hold.open('GET', '/hold?ms=' + cmd.ms, false);
          hold.send();
        }, 0);
        return { busy: cmd.ms };
      }
      case 'release':
        if (resumeSockets) resumeSockets();
        return { released: true };
      case 'state':
        return { name: cmd.name, state: client.state, lastId: client.lastId, received: received.get(cmd.name) };
      default:
        throw new Error('unknown command ' + cmd.cmd);
    }
  }

  return { run };
}
