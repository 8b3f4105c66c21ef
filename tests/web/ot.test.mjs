// tests/web/ot.test.mjs: clients/web/src/ot.js, the web client's OT module.
//
// Property tests over random operations on random text with multi-byte and
// astral characters (seeded; TT_SEED repeats a run): TP1 and the tie rule of
// transform, compose, canonical results, lengths, transformIndex. Then live,
// against the real tuttid on a loopback port: OtClients typing at once
// converge on the server's text; a client whose op in flight was lost, and
// one whose ack was lost, recover through the reconnect recipe of
// docs/protocol.md without losing or doubling an op. Prints TAP.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SRCDIR = process.env.TT_SRCDIR || path.resolve(HERE, '..', '..');
const BUILDDIR = process.env.TT_BUILDDIR || path.join(SRCDIR, 'build');
const ot = await import(path.join(SRCDIR, 'clients', 'web', 'src', 'ot.js'));
const { apply, transform, compose, normalize, baseLength, targetLength, transformIndex, OtClient } = ot;

let n = 0;
let failed = 0;
function ok(cond, name, diag) {
  n++;
  if (!cond) failed++;
  console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${name}`);
  if (!cond && diag !== undefined) {
    for (const line of String(diag).split('\n').slice(0, 20)) console.log(`#   ${line}`);
  }
  return cond;
}
function is(got, want, name) {
  const g = JSON.stringify(got);
  const w = JSON.stringify(want);
  return ok(g === w, name, `got  ${g}\nwant ${w}`);
}
function throws(f, re, name) {
  try {
    f();
  } catch (e) {
    return ok(re.test(e.message), name, `threw ${e.message}`);
  }
  return ok(false, name, 'did not throw');
}
function diag(s) {
  console.log(`# ${s}`);
}

// ---- a seeded generator (mulberry32) ----
const SEED = Number(process.env.TT_SEED || 20261121);
diag(`seed ${SEED} (set TT_SEED to repeat)`);
function rng(seed) {
  let a = seed >>> 0;
  const r = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  r.int = (lo, hi) => lo + Math.floor(r() * (hi - lo + 1));
  r.pick = (arr) => arr[Math.floor(r() * arr.length)];
  return r;
}
const R = rng(SEED);
// ASCII, 2- and 3-byte UTF-8 (é, 中, a combining accent) and astral (😀, 🎵).
const ALPHABET = ['a', 'b', 'c', ' ', '\n', '(', ')', 'é', '中', '\u0301', '😀', '🎵'];

function randomText(r, max) {
  let s = '';
  const len = r.int(0, max);
  for (let i = 0; i < len; i++) s += r.pick(ALPHABET);
  return s;
}

function isPairStart(text, p) {
  const u = text.charCodeAt(p);
  return u >= 0xd800 && u <= 0xdbff;
}

// A random valid op on text: boundaries never split a pair.
function randomOp(r, text) {
  const out = [];
  let p = 0;
  while (p < text.length) {
    let m = Math.min(text.length - p, r.int(1, 5));
    if (p + m < text.length && isPairStart(text, p + m - 1)) m++;
    const k = r();
    if (k < 0.2) out.push(randomText(r, 4) || 'x');
    if (k < 0.55) out.push(m);
    else out.push(-m);
    p += m;
  }
  if (r() < 0.4) out.push(randomText(r, 4) || 'y');
  return out;
}

// [old position, new position] of every unit op retains.
function survivors(op) {
  const out = [];
  let i = 0;
  let j = 0;
  for (const c of op) {
    if (typeof c === 'string') {
      j += c.length;
    } else if (c > 0) {
      for (let k = 0; k < c; k++) out.push([i + k, j + k]);
      i += c;
      j += c;
    } else {
      i -= c;
    }
  }
  return out;
}

function isCanonical(op) {
  for (let i = 0; i < op.length; i++) {
    const c = op[i];
    if (c === 0 || c === '') return false;
    if (i > 0) {
      const p = op[i - 1];
      if (typeof p === 'string' && typeof c === 'string') return false;
      if (typeof p === 'number' && typeof c === 'number' && (p > 0) === (c > 0)) return false;
      if (typeof p === 'number' && p < 0 && typeof c === 'string') return false;
    }
  }
  return true;
}

// ---- examples from docs/collab.md ----
is(apply('hello world', [6, -5, 'there']), 'hello there', 'apply: the wire example');
is(apply('a😀b', [1, -2, 1]), 'ab', 'apply: deleting an emoji takes 2 units');
throws(() => apply('a😀b', [2, -1, 1]), /surrogate pair/, 'apply: a boundary inside a surrogate pair is refused');
throws(() => apply('abc', [2]), /base length 2 != text length 3/, 'apply: a short op is refused');
throws(() => apply('abc', [4]), /base length/, 'apply: a long op is refused');
throws(() => apply('ab', [1.5, 0.5]), /component 0/, 'apply: a fractional length is refused');
is(normalize([1, 2, -1, -1, 'a']), [3, 'a', -2], 'normalize: merges and puts the insert before the delete');
throws(() => normalize([1, 0]), /component 1/, 'normalize: 0 is refused with its index');
throws(() => normalize([1, '']), /component 1: empty insert/, 'normalize: an empty insert is refused');
throws(() => normalize([1.5]), /component 0/, 'normalize: a float is refused');
throws(() => normalize({}), /array/, 'normalize: a non-array is refused');
is(baseLength([3, 'ab', -2, 1]), 6, 'baseLength counts retains and deletes');
is(targetLength([3, '😀b', -2, 1]), 7, 'targetLength counts inserts in UTF-16 units');
{
  const [a1, b1] = transform([1, 'a', 2], [1, 'b', 2]);
  is(apply(apply('xyz', [1, 'a', 2]), b1), 'xabyz', 'tie: the first op\'s insert stays left (a then b\')');
  is(apply(apply('xyz', [1, 'b', 2]), a1), 'xabyz', 'tie: and b then a\' agrees');
}
is(compose([3, 'x'], [1, -2, 'y', 1]), [1, 'yx', -2], 'compose: an example (canonical: the inserts meet before the delete)');
is(compose(['héllo'], [1, -1, 'e', 3]), ['hello'], 'compose: editing inside an insert');
is(transformIndex(3, [1, 'ab', 2], false), 5, 'transformIndex: an insert before moves it');
is(transformIndex(1, [1, 'ab', 2], false), 1, 'transformIndex: another\'s insert at it leaves it in front');
is(transformIndex(1, [1, 'ab', 2], true), 3, 'transformIndex: its owner\'s insert carries it');
is(transformIndex(2, [1, -2], false), 1, 'transformIndex: inside a deletion it moves to its start');
is(transformIndex(3, [1, -1, 1], false), 2, 'transformIndex: after a deletion it moves back');

// ---- properties over random ops ----
const TRIALS = 3000;
let tp1 = 0, tp1Canon = 0, tp1Len = 0, comp = 0, compCanon = 0, idx = 0, whole = 0, tie = 0;
let firstFail = null;
for (let t = 0; t < TRIALS; t++) {
  const s = randomText(R, 30);
  const a = randomOp(R, s);
  const b = randomOp(R, s);
  const [ap, bp] = transform(a, b);
  const viaA = apply(apply(s, a), bp);
  const viaB = apply(apply(s, b), ap);
  if (viaA === viaB) tp1++;
  else if (!firstFail) firstFail = { s, a, b, viaA, viaB };
  if (isCanonical(ap) && isCanonical(bp)) tp1Canon++;
  if (baseLength(ap) === targetLength(b) && baseLength(bp) === targetLength(a) &&
      targetLength(ap) === targetLength(bp)) tp1Len++;
  if (!/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(viaA)) whole++;
  // Tie: both insert at the same place; a's text must come first.
  const p = R.int(0, s.length);
  const q = isPairStart(s, p - 1) ? p - 1 : p;
  const ia = [q, 'A', s.length - q].filter((c) => c !== 0);
  const ib = [q, 'B', s.length - q].filter((c) => c !== 0);
  const [, tb] = transform(ia, ib);
  if (apply(apply(s, ia), tb) === s.slice(0, q) + 'AB' + s.slice(q)) tie++;
  // compose: a then c in one op.
  const sa = apply(s, a);
  const c = randomOp(R, sa);
  const ac = compose(a, c);
  if (apply(s, ac) === apply(sa, c)) comp++;
  if (isCanonical(ac)) compCanon++;
  // A cursor stays inside the new text and keeps its place among the units
  // that survive: those before it stay before it, those after it after it.
  const pos = R.int(0, s.length);
  const np = transformIndex(pos, a, R() < 0.5);
  let kept = np >= 0 && np <= targetLength(a);
  for (const [from, to] of survivors(a)) {
    if ((from < pos && to >= np) || (from >= pos && to < np)) kept = false;
  }
  if (kept) idx++;
}
ok(tp1 === TRIALS, `TP1 holds for ${TRIALS} random pairs of ops on multi-byte and astral text`,
  firstFail && JSON.stringify(firstFail));
is(tp1Canon, TRIALS, 'transform\'s results are canonical');
is(tp1Len, TRIALS, 'transform\'s results have the right base and target lengths');
is(whole, TRIALS, 'no transformed result splits an astral character');
is(tie, TRIALS, 'at a tie the left op\'s insert goes first, wherever the tie is');
is(comp, TRIALS, 'apply(s, compose(a, c)) === apply(apply(s, a), c)');
is(compCanon, TRIALS, 'compose\'s results are canonical');
is(idx, TRIALS, 'transformIndex stays within the new text, between the same surviving units');
{
  // Compose is associative in effect, and a chain of edits composes into one
  // op, as the client's buffer does.
  let s = randomText(R, 20);
  const s0 = s;
  let acc = [s.length].filter((c) => c !== 0);
  let good = true;
  for (let i = 0; i < 200; i++) {
    const e = randomOp(R, s);
    s = apply(s, e);
    acc = compose(acc, e);
    if (apply(s0, acc) !== s) good = false;
  }
  ok(good, 'a buffer of 200 composed edits has the effect of the edits in turn');
}

// ---- agreement with the Python reference client (tests/lib/otclient.py) ----
{
  const cases = [];
  for (let t = 0; t < 300; t++) {
    const s = randomText(R, 20);
    const a = randomOp(R, s);
    const b = randomOp(R, s);
    cases.push({ s, a, b, c: randomOp(R, apply(s, a)) });
  }
  const py = spawnSync('python3', ['-c', `
import json, sys
sys.path.insert(0, sys.argv[1])
from otclient import transform, compose
out = []
for k in json.load(sys.stdin):
    out.append({"t": transform(k["a"], k["b"]), "c": compose(k["a"], k["c"])})
json.dump(out, sys.stdout)
`, path.join(SRCDIR, 'tests', 'lib')], { input: JSON.stringify(cases), encoding: 'utf8' });
  let same = 0;
  let first = null;
  if (py.status === 0) {
    JSON.parse(py.stdout).forEach((r, i) => {
      const k = cases[i];
      const mine = { t: transform(k.a, k.b), c: compose(k.a, k.c) };
      if (JSON.stringify(mine) === JSON.stringify(r)) same++;
      else if (!first) first = { k, mine, python: r };
    });
  }
  ok(py.status === 0 && same === cases.length,
    `transform and compose agree with the Python reference on ${cases.length} random cases`,
    py.status !== 0 ? py.stderr : JSON.stringify(first));
}

// ---- the client's own checks (no server needed) ----
{
  const sent = [];
  const c = new OtClient({ doc: 1, send: (m) => sent.push(m) });
  throws(() => c.edit(['x']), /before the document was opened/, 'OtClient: an edit before open is refused');
  c.open();
  c.receive({ type: 'doc.snapshot', doc: 1, name: 'd', rev: 4, text: 'abc', presence: [] });
  throws(() => c.edit([5]), /base length/, 'OtClient: an edit that does not fit the text is refused');
  ok(c.text === 'abc' && c.idle() && sent.length === 1, 'and changes nothing, sends nothing');
  is(c.receive({ type: 'ops', doc: 2, ops: [] }), false, 'OtClient: another document\'s message is not its own');
}

// ---- live: OtClients against the real tuttid ----
async function loadWs() {
  for (const dir of ['tests', 'bench']) {
    try {
      return createRequire(path.join(SRCDIR, dir, 'package.json'))('ws');
    } catch {
      // try the next
    }
  }
  throw new Error('Node\'s ws is not installed: npm ci in tests/');
}
const WebSocket = await loadWs();

function startServer() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tutti-ot-web-'));
  const proc = spawn(path.join(BUILDDIR, 'server', 'tuttid'),
    ['--listen', '127.0.0.1:0', '--db', path.join(tmp, 'tutti.db'), '--log-level', 'info'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  const srv = { proc, tmp, log: '', port: 0 };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no port in log:\n${srv.log}`)), 10000);
    proc.stderr.on('data', (d) => {
      srv.log += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(srv.log);
      if (m && !srv.port) {
        srv.port = Number(m[1]);
        clearTimeout(timer);
        resolve(srv);
      }
    });
    proc.on('exit', (code) => reject(new Error(`tuttid exited (${code}):\n${srv.log}`)));
  });
}

function stopServer(srv) {
  return new Promise((resolve) => {
    if (srv.proc.exitCode !== null) return resolve(srv.proc.exitCode);
    srv.proc.removeAllListeners('exit');
    srv.proc.on('exit', (code) => resolve(code));
    srv.proc.kill('SIGTERM');
  }).finally(() => fs.rmSync(srv.tmp, { recursive: true, force: true }));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One connection: JSON in and out, replies to requests by id, the rest to
// a handler (with a switch that drops incoming or outgoing messages, a
// lossy network for the recovery tests).
function connect(port) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    const c = { ws, pending: new Map(), handler: null, dropIn: false, dropOut: false, nextId: 1 };
    c.send = (obj) => {
      if (!c.dropOut && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
    };
    c.request = (obj) => new Promise((res) => {
      const id = `req-${c.nextId++}`;
      c.pending.set(id, res);
      ws.send(JSON.stringify({ ...obj, id }));
    });
    ws.on('message', (data) => {
      if (c.dropIn) return;
      const m = JSON.parse(data.toString());
      if (typeof m.id === 'string' && c.pending.has(m.id)) {
        const f = c.pending.get(m.id);
        c.pending.delete(m.id);
        f(m);
      } else if (c.handler) {
        c.handler(m);
      }
    });
    ws.on('open', () => resolve(c));
    ws.on('error', reject);
  });
}

// Owner tokens of the sessions this test created (they give the right to edit).
const TOKENS = new Map();

async function session(port, sid, name, clientId) {
  const c = await connect(port);
  await c.request({ type: 'hello', name, client_id: clientId });
  const j = await c.request({ type: 'join', session: sid, token: TOKENS.get(sid) });
  if (j.type !== 'joined') throw new Error(`join: ${JSON.stringify(j)}`);
  return c;
}

// Feeds the author's client; an exception is a failure to report, not a crash.
function handlerOf(a) {
  return (m) => {
    try {
      a.oc.receive(m);
    } catch (e) {
      a.errors.push({ exception: e.stack });
    }
  };
}

// An author: a connection, an OtClient on it, and the log of what happened.
function author(conn, doc) {
  const a = { conn, acks: [], errors: [], resyncs: 0 };
  a.oc = new OtClient({
    doc,
    send: (m) => a.conn.send(m),
    onAck: (info) => a.acks.push(info),
    onError: (m) => a.errors.push(m),
    onResync: () => { a.resyncs++; },
  });
  conn.handler = handlerOf(a);
  return a;
}

function waitFor(cond, ms) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const tick = () => {
      if (cond()) resolve(true);
      else if (Date.now() - t0 > ms) resolve(false);
      else setTimeout(tick, 5);
    };
    tick();
  });
}

function randomEdit(r, text) {
  // An insert or a small delete at a random place (never inside a pair).
  const bound = (p) => (p > 0 && p < text.length && isPairStart(text, p - 1) ? p - 1 : p);
  const p = bound(r.int(0, text.length));
  if (text.length > 0 && r() < 0.35) {
    const e = bound(Math.min(text.length, p + r.int(1, 4)));
    if (e > p) return [p, p - e, text.length - e].filter((c) => c !== 0);
  }
  return [p, randomText(r, 4) || 'z', text.length - p].filter((c) => c !== 0);
}

async function freshSnapshot(port, sid, doc) {
  const c = await session(port, sid, 'reader', 'reader');
  const snap = await c.request({ type: 'doc.open', doc });
  c.ws.close();
  return snap;
}

let srv;
try {
  srv = await startServer();
} catch (e) {
  ok(false, 'tuttid starts', e.message);
  done();
}
process.on('exit', () => {
  if (srv.proc.exitCode === null) srv.proc.kill('SIGKILL');
});
const res = await fetch(`http://127.0.0.1:${srv.port}/api/sessions`, {
  method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'ot.js' }),
});
const created = await res.json();
const sid = created.id;
TOKENS.set(sid, created.owner_token);

try {
  // Two (then four) authors typing at once, reading with random delays.
  const first = await session(srv.port, sid, 'ann', 'web-ann');
  const doc = (await first.request({ type: 'doc.create', name: 'shared' })).doc.id;
  const conns = [first];
  for (const name of ['bob', 'cy', 'dee']) conns.push(await session(srv.port, sid, name, `web-${name}`));
  const authors = conns.map((c) => author(c, doc));
  for (const a of authors) {
    a.oc.open();
  }
  ok(await waitFor(() => authors.every((a) => a.oc.state === 'open'), 5000), 'four OtClients open the document');
  const LR = rng(SEED + 1);
  for (let step = 0; step < 400; step++) {
    const a = authors[step % 2 === 0 ? 0 : LR.int(1, 3)];
    a.oc.edit(randomEdit(LR, a.oc.text));
    if (LR() < 0.3) await sleep(LR.int(0, 3));
  }
  const converged = () => authors.every((a) => a.oc.idle()) &&
    new Set(authors.map((a) => a.oc.rev)).size === 1;
  ok(await waitFor(converged, 15000), 'every edit is acknowledged and all reach one revision',
    authors.map((a) => `${a.oc.state} rev=${a.oc.rev} idle=${a.oc.idle()}`).join('\n'));
  ok(new Set(authors.map((a) => a.oc.text)).size === 1, 'all four OtClients hold the same text');
  is(authors.reduce((s, a) => s + a.acks.length, 0), authors[0].oc.rev, 'one revision per acknowledged op');
  is(authors.reduce((s, a) => s + a.acks.reduce((e, k) => e + k.edits, 0), 0), 400,
    'the acknowledged ops carry all 400 edits (composed while one was in flight)');
  ok(authors.every((a) => a.errors.length === 0 && a.resyncs === 0), 'no error and no resync',
    JSON.stringify(authors.map((a) => a.errors[0]).filter(Boolean)));
  let snap = await freshSnapshot(srv.port, sid, doc);
  ok(snap.text === authors[0].oc.text && snap.rev === authors[0].oc.rev, 'a fresh snapshot equals their text');

  // Recovery 1: bob's op never reaches the server; ann keeps typing; bob
  // reconnects: the resend is answered not_open, he replays ann's ops and
  // sends his op again on the new revision.
  const [ann, bob, cy] = authors;
  bob.conn.dropOut = true;
  bob.oc.edit([0, 'LOST-', bob.oc.text.length].filter((c) => c !== 0));
  for (let i = 0; i < 5; i++) {
    ann.oc.edit([ann.oc.text.length, `<${i}>`].filter((c) => c !== 0));
    await sleep(2);
  }
  await waitFor(() => ann.oc.idle(), 5000);
  bob.conn.ws.close();
  bob.oc.disconnected();
  bob.conn = await session(srv.port, sid, 'bob', 'web-bob');
  bob.conn.handler = handlerOf(bob);
  const acksBefore = bob.acks.length;
  bob.oc.reconnected();
  ok(await waitFor(() => bob.oc.idle() && bob.oc.rev === ann.oc.rev && ann.oc.text === bob.oc.text, 5000),
    'an op lost on the way is sent again after the reconnect and both converge');
  is(bob.acks.length - acksBefore, 1, 'it was acknowledged once');

  // Recovery 2: cy's op is stored but its ack is lost with the connection.
  cy.conn.dropIn = true;
  const annRev = ann.oc.rev;
  cy.oc.edit([cy.oc.text.length, '-STORED'].filter((c) => c !== 0));
  // The server stores it (ann receives it) and acknowledges into the void.
  ok(await waitFor(() => ann.oc.rev === annRev + 1, 5000), 'the op whose ack will be lost was stored');
  ann.oc.edit([0, '>', ann.oc.text.length].filter((c) => c !== 0));
  await waitFor(() => ann.oc.idle(), 5000);
  const revBefore = ann.oc.rev;
  cy.conn.ws.close();
  cy.oc.disconnected();
  cy.conn = await session(srv.port, sid, 'cy', 'web-cy');
  cy.conn.handler = handlerOf(cy);
  const cyAcks = cy.acks.length;
  cy.oc.reconnected();
  ok(await waitFor(() => cy.oc.idle() && cy.oc.state === 'open' && cy.oc.rev === revBefore, 5000),
    'an op whose ack was lost is recognised as stored after the reconnect',
    `cy rev=${cy.oc.rev} state=${cy.oc.state} ann rev=${revBefore}`);
  is(cy.acks.length - cyAcks, 1, 'it is acknowledged once, at its stored revision');
  ok(cy.oc.text === ann.oc.text && (cy.oc.text.match(/-STORED/g) || []).length === 1,
    'and applied once: the texts agree');
  await waitFor(() => authors.every((a) => a.oc.rev === revBefore), 3000);
  snap = await freshSnapshot(srv.port, sid, doc);
  ok(snap.text === ann.oc.text && snap.rev === revBefore && authors.every((a) => a.oc.text === snap.text),
    'after both recoveries every client holds the server\'s text');
  ok(authors.every((a) => a.errors.length === 0 && a.resyncs === 0), 'still no error and no resync',
    JSON.stringify(authors.map((a) => a.errors[0]).filter(Boolean)));
  is(authors.reduce((s, a) => s + a.acks.length, 0), revBefore, 'still one revision per acknowledged op');

  // Recovery 3: bob types while offline (nothing in flight, edits only in
  // his buffer) as ann types too; back online, ann's ops are transformed
  // over his buffer before it is sent.
  bob.conn.ws.close();
  bob.oc.disconnected();
  bob.oc.edit(['OFF1 ', bob.oc.text.length]);
  bob.oc.edit([bob.oc.text.length, ' OFF2']);
  for (let i = 0; i < 3; i++) {
    ann.oc.edit([1, `{${i}}`, ann.oc.text.length - 1]);
    await waitFor(() => ann.oc.idle(), 5000);
  }
  bob.conn = await session(srv.port, sid, 'bob', 'web-bob');
  bob.conn.handler = handlerOf(bob);
  bob.oc.reconnected();
  ok(await waitFor(() => bob.oc.idle() && bob.oc.rev === ann.oc.rev && bob.oc.rev === revBefore + 4, 5000),
    'edits made offline are sent after the missed ops are replayed over them');
  ok(ann.oc.text === bob.oc.text && /^OFF1 /.test(bob.oc.text) && / OFF2$/.test(bob.oc.text)
    && bob.oc.text.includes('{2}'), 'and both texts agree, with everybody\'s edits',
  `${JSON.stringify(ann.oc.text.slice(0, 40))} vs ${JSON.stringify(bob.oc.text.slice(0, 40))}`);
  ok(bob.errors.length === 0 && bob.resyncs === 0, 'without an error or a resync', JSON.stringify(bob.errors));

  // A refused op: the client gets the error and a fresh snapshot.
  const dee = authors[3];
  const before = dee.oc.text;
  dee.oc.sent = null;
  dee.oc.buffer = null;
  dee.oc.text = `${before}x`; // pretend it saw a text the server never had
  dee.oc.edit([before.length + 1, '!']);
  ok(await waitFor(() => dee.resyncs === 1, 5000), 'an op the server refuses brings a fresh snapshot');
  ok(dee.errors.length === 1 && dee.errors[0].error.code === 'bad_op' && dee.oc.text === before,
    'the refusal is reported (bad_op) and the text is the server\'s again', JSON.stringify(dee.errors));
  for (const a of authors) a.conn.ws.close();
} catch (e) {
  ok(false, 'the live test ran to its end', e.stack);
}
await stopServer(srv);
done();

function done() {
  console.log(`1..${n}`);
  process.exit(failed ? 1 : 0);
}
