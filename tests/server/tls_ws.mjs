// tests/server/tls_ws.mjs: two WebSocket clients over TLS with Node's `ws`
// package (tests/node_modules), for tests/server/tls.py. Not a test by
// itself: it prints one JSON object of what happened and tls.py judges it.
//
//   node tls_ws.mjs PORT CA_FILE SESSION_ID TOKEN CODE
//
// Client a joins and creates a document, client b opens it, a writes CODE
// into it and evaluates it; b must see a's edit. A third client without
// the CA must be refused by Node's own certificate check.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const [port, caFile, session, token, code] = process.argv.slice(2);
const SRCDIR = process.env.TT_SRCDIR || path.resolve('.');

async function loadWs() {
  try {
    return (await import('ws')).default;
  } catch {
    return createRequire(path.join(SRCDIR, 'tests', 'package.json'))('ws');
  }
}

// One client: send() returns the reply with the request's id; wait()
// returns the first message (received before or after) that pred accepts.
function client(WebSocket, opts) {
  const ws = new WebSocket(`wss://localhost:${port}/ws`, opts);
  const seen = [];
  const waiters = [];
  let nextId = 1;
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const m = JSON.parse(data.toString());
    seen.push(m);
    for (const w of waiters.splice(0)) {
      if (w.pred(m)) w.resolve(m);
      else waiters.push(w);
    }
  });
  const c = {
    ws,
    open: new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    }),
    wait(pred, ms = 10000) {
      const m = seen.find(pred);
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        waiters.push({ pred, resolve });
        setTimeout(() => reject(new Error('no such message within ' + ms + ' ms')), ms);
      });
    },
    send(msg) {
      const id = nextId++;
      ws.send(JSON.stringify({ ...msg, id }));
      return c.wait((m) => m.id === id);
    },
  };
  return c;
}

const out = {};
const timer = setTimeout(() => {
  out.timeout = true;
  console.log(JSON.stringify(out));
  process.exit(1);
}, 30000);

try {
  const WebSocket = await loadWs();
  const ca = fs.readFileSync(caFile);
  const a = client(WebSocket, { ca });
  const b = client(WebSocket, { ca });
  await Promise.all([a.open, b.open]);
  out.connected = true;
  out.protocol = a.ws._socket.getProtocol();
  out.cipher = a.ws._socket.getCipher().name;
  await a.send({ type: 'hello', name: 'ann' });
  await b.send({ type: 'hello', name: 'bo' });
  out.joined = (await a.send({ type: 'join', session, token })).type;
  await b.send({ type: 'join', session, token });
  const doc = (await a.send({ type: 'doc.create', name: 'main' })).doc.id;
  out.b_snapshot = (await b.send({ type: 'doc.open', doc })).type;
  await a.send({ type: 'doc.open', doc });
  out.ack = (await a.send({ type: 'op', doc, rev: 0, op: [code], seq: 1 })).type;
  const remote = await b.wait((m) => m.type === 'ops' && m.doc === doc);
  out.remote_text = remote.ops.map((o) => o.op.filter((x) => typeof x === 'string').join('')).join('');
  const ev = await a.send({ type: 'eval', doc });
  out.eval_ok = ev.ok === true;
  out.doc = doc;
  a.ws.close();
  b.ws.close();
} catch (e) {
  out.error = String(e && e.message);
}

// Without the CA, Node itself must refuse the server's certificate.
try {
  const WebSocket = await loadWs();
  const c = client(WebSocket, {});
  await c.open;
  out.untrusted = 'connected';
  c.ws.close();
} catch (e) {
  out.untrusted = String(e && (e.code || e.message));
}
clearTimeout(timer);
console.log(JSON.stringify(out));
process.exit(0);
