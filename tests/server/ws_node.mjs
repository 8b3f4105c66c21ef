// tests/server/ws_node.mjs: tuttid's WebSocket endpoint as seen by an
// independent peer, Node's `ws` client (tests/package.json; `npm ci` in
// tests/). Starts the real tuttid on a free loopback port with a temporary
// database and checks: the JSON request layer (hello, ping, ids echoed),
// binary echo, fragmented text and binary messages with a ping between the
// fragments, messages near TT_MAX_WS_MESSAGE and one byte over it (1009),
// ping/pong, the close handshake, and a client that never reads: the server
// drops it while another client keeps being answered. Prints TAP.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const BUILDDIR = process.env.TT_BUILDDIR || path.resolve('build');
const SRCDIR = process.env.TT_SRCDIR || path.resolve('.');
const MAX_MESSAGE = 4 * 1024 * 1024; // TT_MAX_WS_MESSAGE, common/limits.h

let n = 0;
let failed = 0;
function ok(cond, name, diag) {
  n++;
  if (!cond) failed++;
  console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${name}`);
  if (!cond && diag !== undefined)
    for (const line of String(diag).split('\n').slice(0, 20))
      console.log(`#   ${line}`);
  return cond;
}
function is(got, want, name) {
  return ok(got === want, name, `got  ${JSON.stringify(got)}\nwant ${JSON.stringify(want)}`);
}
function done() {
  console.log(`1..${n}`);
  process.exit(failed ? 1 : 0);
}

// `ws` from tests/node_modules, found from this file or from the source tree.
async function loadWs() {
  try {
    return (await import('ws')).default;
  } catch {
    const req = createRequire(path.join(SRCDIR, 'tests', 'package.json'));
    return req('ws');
  }
}

function startServer() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tutti-ws-node-'));
  const proc = spawn(path.join(BUILDDIR, 'server', 'tuttid'),
    ['--listen', '127.0.0.1:0', '--db', path.join(tmp, 'tutti.db'),
     '--web', path.join(SRCDIR, 'clients', 'web', 'public'), '--log-level', 'info'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  const srv = { proc, tmp, log: '', port: 0 };
  // 'close' comes after the end of its stderr, so the log is then complete.
  srv.closed = new Promise((resolve) => proc.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no port in log:\n${srv.log}`)), 10000);
    proc.stderr.on('data', (d) => {
      srv.log += d;
      const m = /listening on http:\/\/[^\s]*:(\d+)\//.exec(srv.log);
      if (m && !srv.port) {
        srv.port = Number(m[1]);
        clearTimeout(timer);
        resolve(srv);
      }
    });
    proc.on('error', (e) => reject(new Error(`cannot run tuttid: ${e.message}`)));
    proc.on('exit', (code) => reject(new Error(`tuttid exited (${code}):\n${srv.log}`)));
  });
}

async function stopServer(srv) {
  if (srv.proc.exitCode === null) srv.proc.kill('SIGTERM');
  const code = await srv.closed;
  fs.rmSync(srv.tmp, { recursive: true, force: true });
  return code;
}

// Resolves with the first value of `event` on emitter, or rejects after ms.
function once(emitter, event, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout waiting for ${event}`)), ms);
    emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

// A client whose incoming messages queue up for next().
function client(WebSocket, port) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const queue = [];
  const waiting = [];
  ws.on('message', (data, isBinary) => {
    const m = { data, isBinary };
    if (waiting.length) waiting.shift()(m);
    else queue.push(m);
  });
  ws.next = (ms = 10000) => new Promise((resolve, reject) => {
    if (queue.length) return resolve(queue.shift());
    const timer = setTimeout(() => reject(new Error('timeout waiting for a message')), ms);
    waiting.push((m) => { clearTimeout(timer); resolve(m); });
  });
  ws.json = async (ms) => {
    const m = await ws.next(ms);
    return { ...JSON.parse(m.data.toString('utf8')), binaryFrame: m.isBinary };
  };
  return ws;
}

async function testJson(WebSocket, port) {
  const ws = client(WebSocket, port);
  await once(ws, 'open');
  ok(true, 'ws connects to /ws');
  ws.send(JSON.stringify({ type: 'hello', id: 1, client: 'ws_node' }));
  const hello = await ws.json();
  is(hello.type, 'hello', 'hello answered with hello');
  is(hello.id, 1, 'hello reply echoes the integer id');
  ok(!hello.binaryFrame, 'the reply is a text frame');
  ok(typeof hello.version === 'string' && Array.isArray(hello.capabilities),
    'hello carries a version and capabilities', JSON.stringify(hello));
  ws.send(JSON.stringify({ type: 'ping', id: 'p-1' }));
  const pong = await ws.json();
  is(pong.type, 'pong', 'ping answered with pong');
  is(pong.id, 'p-1', 'pong echoes the string id');
  ws.send(JSON.stringify({ type: 'ping' }));
  const bare = await ws.json();
  ok(bare.type === 'pong' && !('id' in bare), 'a request without id gets a reply without id',
    JSON.stringify(bare));
  ws.send('{"type": "ping", ');
  const bad = await ws.json();
  ok(bad.type === 'error' && bad.error && bad.error.code === 'bad_json',
    'bad JSON gets an error reply that says so', JSON.stringify(bad));
  ws.send(JSON.stringify({ type: 'ping', id: 2 }));
  is((await ws.json()).id, 2, 'the connection keeps answering after bad JSON');
  return ws;
}

async function testBinaryAndFragments(ws) {
  const bin = crypto.randomBytes(1000);
  ws.send(bin);
  let m = await ws.next();
  ok(m.isBinary && Buffer.compare(m.data, bin) === 0, 'binary message echoed byte for byte');

  // A text request in three fragments, with a ping between two of them.
  const text = JSON.stringify({ type: 'ping', id: 'frag', pad: 'x'.repeat(300) });
  const pongWait = once(ws, 'pong');
  ws.send(text.slice(0, 10), { fin: false });
  ws.ping('between');
  ws.send(text.slice(10, 200), { fin: false });
  ws.send(text.slice(200), { fin: true });
  const reply = await ws.json();
  is(reply.id, 'frag', 'a text request sent in three fragments is answered');
  const [pongData] = await pongWait;
  is(pongData.toString(), 'between', 'a ping between fragments is answered with its payload');

  // A binary message in fragments, one of them empty.
  const parts = [crypto.randomBytes(70000), Buffer.alloc(0), crypto.randomBytes(5)];
  ws.send(parts[0], { binary: true, fin: false });
  ws.send(parts[1], { binary: true, fin: false });
  ws.send(parts[2], { binary: true, fin: true });
  m = await ws.next();
  ok(m.isBinary && Buffer.compare(m.data, Buffer.concat(parts)) === 0,
    'a fragmented binary message is reassembled and echoed');

  // Multi-byte UTF-8 cut between fragments ('é' is C3 A9).
  const accented = Buffer.from(JSON.stringify({ type: 'ping', id: 'caf\u00e9' }), 'utf8');
  const cut = accented.indexOf(0xc3) + 1;
  ws.send(accented.subarray(0, cut), { binary: false, fin: false });
  ws.send(accented.subarray(cut), { binary: false, fin: true });
  is((await ws.json()).id, 'caf\u00e9', 'a code point split between fragments is accepted');
}

async function testPing(ws) {
  const payload = Buffer.from('are you there');
  const wait = once(ws, 'pong');
  ws.ping(payload);
  const [data] = await wait;
  ok(Buffer.compare(data, payload) === 0, 'ping answered by a pong with the same payload');
  const wait125 = once(ws, 'pong');
  const big = Buffer.alloc(125, 0x61);
  ws.ping(big);
  ok(Buffer.compare((await wait125)[0], big) === 0, 'a 125-byte ping is answered');
}

async function testLarge(WebSocket, port) {
  // Just under the limit, then exactly at it, then one byte over.
  const ws = client(WebSocket, port);
  await once(ws, 'open');
  const near = crypto.randomBytes(MAX_MESSAGE - 1024);
  ws.send(near);
  const m = await ws.next(30000);
  ok(m.isBinary && m.data.length === near.length && Buffer.compare(m.data, near) === 0,
    `a ${near.length}-byte binary message is echoed whole`);
  const exact = crypto.randomBytes(MAX_MESSAGE);
  const closed = once(ws, 'close', 30000);
  ws.send(exact);
  ws.send(JSON.stringify({ type: 'ping', id: 'after-max' }));
  const first = await Promise.race([ws.next(30000), closed.then(() => null)]);
  if (first && first.isBinary) {
    ok(first.data.length === MAX_MESSAGE && Buffer.compare(first.data, exact) === 0,
      `a message of exactly TT_MAX_WS_MESSAGE (${MAX_MESSAGE}) bytes is accepted and echoed`);
    is(JSON.parse((await ws.next()).data).id, 'after-max', 'and the connection goes on');
    ws.close(1000);
  } else {
    ok(false, `a message of exactly TT_MAX_WS_MESSAGE (${MAX_MESSAGE}) bytes is accepted`,
      'the server closed the connection instead (echo over TT_MAX_WS_SENDQ?)');
  }
  await closed.catch(() => {});

  const over = client(WebSocket, port);
  await once(over, 'open');
  const overClosed = once(over, 'close', 30000);
  over.send(crypto.randomBytes(MAX_MESSAGE + 1));
  const [code, reason] = await overClosed;
  is(code, 1009, 'one byte over TT_MAX_WS_MESSAGE is closed with 1009');
  ok(reason.length > 0, `with a reason (${reason})`);
}

// A raw client: upgrades by hand, then writes masked frames and never reads.
function rawClient(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const key = crypto.randomBytes(16).toString('base64');
    let head = Buffer.alloc(0);
    const onData = (d) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.off('data', onData);
      sock.pause(); // from now on, never read
      if (!/^HTTP\/1\.1 101/.test(head.toString('latin1')))
        return reject(new Error(`upgrade refused: ${head.toString('latin1')}`));
      resolve(sock);
    };
    sock.on('data', onData);
    sock.on('error', () => {});
    sock.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  });
}

function maskedFrame(opcode, payload) {
  const mask = crypto.randomBytes(4);
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len])
    : len < 65536 ? Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 255])
      : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]),
        (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(len)); return b; })()]);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = payload[i] ^ mask[i & 3];
  return Buffer.concat([head, mask, body]);
}

async function testNonReader(WebSocket, port) {
  const lazy = await rawClient(port);
  ok(true, 'a raw client upgrades and stops reading');
  let lost = false;
  lazy.on('close', () => { lost = true; });
  lazy.on('error', () => { lost = true; });
  const frame = maskedFrame(0x2, crypto.randomBytes(1024 * 1024));
  // Each binary message is echoed: output the client never reads. Past the
  // kernel's socket buffers and TT_MAX_WS_SENDQ the server must drop it.
  const other = client(WebSocket, port);
  await once(other, 'open');
  let sent = 0;
  let asked = 0;
  let answered = 0;
  for (let i = 0; i < 64 && !lost; i++) {
    const flushed = lazy.write(frame);
    sent += frame.length;
    if (!flushed)
      await Promise.race([once(lazy, 'drain', 2000).catch(() => {}),
        once(lazy, 'close', 2000).catch(() => {})]);
    if (i % 8 === 0) {
      asked++;
      other.send(JSON.stringify({ type: 'ping', id: i }));
      const r = await other.json(10000).catch(() => null);
      if (r && r.id === i) answered++;
    }
  }
  ok(asked > 0 && answered === asked,
    `another client is answered all along (${answered} of ${asked} pings)`);
  // Reading now must end in EOF or a reset, not in all the echoes.
  let got = 0;
  const ended = new Promise((resolve) => {
    if (lazy.destroyed) return resolve(true);
    lazy.on('data', (d) => { got += d.length; });
    lazy.on('end', () => resolve(true));
    lazy.on('close', () => resolve(true));
    setTimeout(() => resolve(false), 15000);
  });
  lazy.resume();
  const wasDropped = await ended;
  ok(wasDropped, 'the server closed the connection of the client that did not read');
  ok(got < sent, `it received less than was echoed (${got} of ${sent} bytes)`);
  other.send(JSON.stringify({ type: 'ping', id: 'last' }));
  is((await other.json()).id, 'last', 'the other client is still served afterwards');
  other.close(1000);
  lazy.destroy();
}

async function testClose(WebSocket, port) {
  const ws = client(WebSocket, port);
  await once(ws, 'open');
  const closed = once(ws, 'close');
  ws.close(4000, 'done here');
  const [code] = await closed;
  is(code, 4000, 'the server echoes the close code');
}

async function main() {
  let WebSocket;
  try {
    WebSocket = await loadWs();
  } catch (e) {
    ok(false, "Node's ws package is installed (npm ci in tests/)", e.message);
    return done();
  }
  let srv;
  try {
    srv = await startServer();
  } catch (e) {
    ok(false, 'tuttid starts and reports its port', e.message);
    return done();
  }
  ok(srv.port > 0, `tuttid listens on port ${srv.port}`);
  const steps = [
    async () => {
      const ws = await testJson(WebSocket, srv.port);
      await testBinaryAndFragments(ws);
      await testPing(ws);
      ws.close(1000);
    },
    () => testLarge(WebSocket, srv.port),
    () => testNonReader(WebSocket, srv.port),
    () => testClose(WebSocket, srv.port),
  ];
  for (const step of steps) {
    try {
      await step();
    } catch (e) {
      ok(false, `no exception (${e.message})`, e.stack);
    }
  }
  const code = await stopServer(srv);
  is(code, 0, 'tuttid stops cleanly on SIGTERM');
  // Under --enable-sanitizers a report fails the test, whatever the exit.
  const reports = srv.log.split('\n').filter((l) =>
    /AddressSanitizer|LeakSanitizer|runtime error:/.test(l));
  ok(reports.length === 0, 'tuttid logged no sanitizer report', reports.slice(0, 20).join('\n'));
  done();
}

main();
