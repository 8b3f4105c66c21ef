// bench/collab.mjs: tutti's collaborative editing under load, measured
// against y-websocket (Yjs's reference server) in the same run. Prints one
// line:
//
//   collab: clients=M tutti_ops_per_s=X tutti_ack_p99_ms=Y yws_ops_per_s=Z
//           ratio=R authors_one_doc=A authors_p95_ms=P apply_ops_per_s=T
//
// and the details of each phase on stderr. Run it through bench/collab.sh
// (it needs the built tuttid and bench/ot_apply, and `npm ci` in bench/).
//
// Phases, each bounded by its own time budget (PHASE_S, default 10 s, after
// a WARMUP_S second warm-up) and the whole run by a 115 s watchdog:
//
// 1. ot_apply: runs $TT_BUILDDIR/bench/ot_apply and copies its figure (the
//    OT core alone, one core, no I/O).
// 2. tutti: CLIENTS authors, each on a document of its own, each making
//    RATE edits per second (an open loop: edits are due at fixed times
//    whatever the server does; each edit a letter typed at the author's
//    cursor, a backspace, or now and then a jump to another place, in a
//    text of a few kilobytes) through clients/web/src/ot.js's OtClient:
//    one op in flight per author, edits made meanwhile composed into the
//    next op, as every tutti client does. tutti_ops_per_s counts the ops
//    acknowledged per second in the measuring window; an ack comes only
//    after the SQLite transaction holding the op committed (WAL,
//    synchronous=FULL: one fsync per commit, group commit across
//    connections), so these are durable ops. tutti_ack_p99_ms is the p99 of
//    the time from sending an op to its ack. The edits those ops carried
//    are reported on stderr.
// 3. yws: the same authors, documents and edit rate against y-websocket
//    2.1.0's own server (bin/server.cjs, run as a child process) with Yjs
//    clients: a Y.Doc and y-websocket's WebsocketProvider over Node's ws,
//    each edit a Y.Text insert or delete in its own transaction, so one
//    update message. The server applies each update to its Y.Doc and sends
//    it to every connection of the room, the author included;
//    yws_ops_per_s counts those echoes per second (updates the server
//    applied and relayed). The server keeps its documents in memory (not
//    durable: a crash loses everything); YWS_PERSIST=1 gives it its LevelDB
//    persistence (y-leveldb, written asynchronously without fsync, so not
//    durable either). ratio = tutti_ops_per_s / yws_ops_per_s.
// 4. authors: AUTHORS connections (default 1,000) on one document, each
//    making AUTHOR_RATE (5) edits per second, one in flight; authors_p95_ms
//    is the p95 of send -> ack. If that many cannot work here (a connection
//    fails or is dropped, or fewer than 90% of the due edits are
//    acknowledged), half the authors leave and the rest try again while
//    the budget lasts (the connections are made once), and it
//    prints the largest A that worked.
//
//    Every author receives every other author's ops, as the protocol
//    requires: A x 5 x A op deliveries per second (5 million at A = 1,000),
//    which the server must encode and send. Keeping a full OtClient per
//    author would make this one machine also transform and apply those 5
//    million ops per second for the clients, which the real authors do on
//    their own machines; so an author here is a lean client: a minimal
//    WebSocket over a raw socket (RawWs below) that decodes only its acks
//    (it skips "ops" messages by their first bytes), and bases each op (an
//    insert at a random place; edits due while one is in flight compose
//    into it) on the revision and length tracked by one full reader per
//    worker, which decodes every "ops" message. The server's work per op is what it is for any client: its
//    op is transformed over the ops since its base revision, applied,
//    committed, acknowledged and fanned out.
//
// How the 2 cores are split: tuttid (its event loop thread and its writer
// thread) and the load generator share them; the clients run in WORKERS
// (default 2) worker_threads of this process, authors spread evenly, so
// that the client side can use both cores while the server waits on fsync.
// What limits the figures:
//  - tutti_ops_per_s: a client keeps one op in flight, so M authors
//    acknowledge at most M ops per round trip, and a round trip holds a
//    commit's fsync (about 2 ms on this machine's disk, more when busy):
//    ops/s <= M / RTT. The edits do not wait: those made during a round
//    trip compose into the next op, so every offered edit is stored (the
//    edits/s figure on stderr), in fewer, larger ops. More authors raise
//    the ops figure until the server's CPU is the limit (CLIENTS=256).
//  - yws_ops_per_s: Yjs's client work per edit (a CRDT insert, encoding,
//    applying the echo), done here for all M authors on the machine's
//    cores, is the limit long before y-websocket's server is busy (its CPU
//    share is on stderr).
//  - authors: each of A authors receives the others' ops: A x 5 x A op
//    deliveries per second, on the server's sockets and the clients'.
//  - The machine: two cores shared with other work (the load average is
//    printed first on stderr); figures taken on a busy machine are lower
//    bounds.
// Loopback only.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

// Owner tokens of the sessions the bench created (they give the right to
// edit); workers get theirs in workerData.token.
const TOKENS = new Map();
import WebSocket from 'ws';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SRCDIR = path.resolve(HERE, '..');
const { OtClient } = await import(path.join(SRCDIR, 'clients', 'web', 'src', 'ot.js'));

const env = (k, d) => (process.env[k] !== undefined && process.env[k] !== '' ? Number(process.env[k]) : d);
const CFG = {
  builddir: process.env.TT_BUILDDIR || path.join(SRCDIR, 'build'),
  clients: env('CLIENTS', 64),
  rate: 0,                                  // edits per second per author, below
  phaseS: env('PHASE_S', 10),
  warmupS: env('WARMUP_S', 1),
  workers: env('WORKERS', 2),
  authors: env('AUTHORS', 1000),
  authorRate: env('AUTHOR_RATE', 5),
  ywsPersist: env('YWS_PERSIST', 0),
  budgetS: env('BUDGET_S', 115),
  // Which phases to run (for studying one; the line needs all four).
  phases: new Set((process.env.PHASES || 'apply,tutti,yws,authors').split(',')),
};
// Aim the total at the 100,000 durable ops/s target.
CFG.rate = env('RATE', Math.ceil(100000 / CFG.clients));

const log = (s) => process.stderr.write(`collab: ${s}\n`);

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)];
}

function fmt(x, digits) {
  return Number.isFinite(x) ? x.toFixed(digits) : 'nan';
}

// ======================================================================
// Workers: the client side.
// ======================================================================

// A random generator per worker (the workload need not repeat exactly).
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz ().';

// Open a WebSocket; resolves when open.
function wsOpen(url, opts) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

// A JSON request/response helper on a raw ws for the setup messages.
function rpc(ws) {
  const pending = new Map();
  let next = 1;
  const r = {
    other: null,
    request(obj) {
      return new Promise((resolve) => {
        const id = `s${next++}`;
        pending.set(id, resolve);
        ws.send(JSON.stringify({ ...obj, id }));
      });
    },
  };
  ws.on('message', (data) => {
    if (r.other && r.other(data)) return;
    const m = JSON.parse(data.toString());
    if (typeof m.id === 'string' && pending.has(m.id)) {
      const f = pending.get(m.id);
      pending.delete(m.id);
      f(m);
    }
  });
  return r;
}

// Clock: the main thread names wall-clock times; each worker maps them to
// its own performance.now().
function perfAt(wallMs) {
  return performance.now() + (wallMs - Date.now());
}

// The next edit of a performer typing into a text of length len, with its
// cursor at a.cursor: mostly a letter typed at the cursor, sometimes a
// backspace, now and then a jump to another place; once the text passes
// 3,000 units backspaces win, so it stays a few kilobytes. ASCII only:
// positions never split a surrogate pair. Returns {p, ins} or {p, del} and
// the op, and moves the cursor.
function makeEdit(r, a, len) {
  let c = Math.min(a.cursor || 0, len);
  const x = r();
  if (x < 0.05) c = Math.floor(r() * (len + 1));
  if (c > 0 && r() < (len > 3000 ? 0.6 : 0.2)) {
    a.cursor = c - 1;
    return { p: c - 1, del: 1, op: [c - 1, -1, len - c].filter((k) => k !== 0) };
  }
  const s = LETTERS[Math.floor(r() * LETTERS.length)];
  a.cursor = c + 1;
  return { p: c, ins: s, op: [c, s, len - c].filter((k) => k !== 0) };
}

// Drives nAuthors open-loop at `rate` edits per second each, from startPerf
// (the warm-up, then the window) to endPerf; calls edit(i) for each due
// edit. Each author's edits are evenly spaced, the authors' phases random.
function drive(nAuthors, rate, startPerf, endPerf, edit) {
  return new Promise((resolve) => {
    const done = new Float64Array(nAuthors);
    const phase = new Float64Array(nAuthors);
    for (let i = 0; i < nAuthors; i++) phase[i] = Math.random() / rate;
    const tick = () => {
      const now = performance.now();
      if (now >= endPerf) return resolve();
      const t = (now - startPerf) / 1000;
      if (t >= 0) {
        for (let i = 0; i < nAuthors; i++) {
          const due = Math.floor((t - phase[i]) * rate) + 1;
          // Never more than a second's worth at once after a stall.
          let k = Math.min(due - done[i], rate);
          while (k-- > 0) {
            edit(i);
            done[i]++;
          }
          if (due > done[i]) done[i] = due;
        }
      }
      setTimeout(tick, 1);
    };
    tick();
  });
}

async function tuttiConnect(port, sid, name) {
  const ws = await wsOpen(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: false });
  const r = rpc(ws);
  const h = await r.request({ type: 'hello', name, client: 'bench/collab', client_id: name });
  if (h.type !== 'hello') throw new Error(`hello: ${JSON.stringify(h)}`);
  const j = await r.request({ type: 'join', session: sid, token: TOKENS.get(sid) || (workerData && workerData.token) });
  if (j.type !== 'joined') throw new Error(`join: ${JSON.stringify(j)}`);
  return { ws, r };
}

// Phase 2, in a worker: OtClients, each on its own document.
async function workerTutti(w) {
  const r = rng(w.seed);
  const authors = [];
  for (const idx of w.indices) {
    const { ws, r: req } = await tuttiConnect(w.port, w.sid, `c${idx}`);
    const created = await req.request({ type: 'doc.create', name: `bench-${idx}` });
    if (created.type !== 'doc.created') throw new Error(`doc.create: ${JSON.stringify(created)}`);
    const a = { ws, sentAt: 0, lat: [], acks: 0, edits: 0, errors: 0, inWindow: false };
    a.oc = new OtClient({
      doc: created.doc.id,
      send: (m) => {
        if (m.type === 'op') a.sentAt = performance.now();
        ws.send(JSON.stringify(m));
      },
      onAck: (info) => {
        const now = performance.now();
        if (now >= w.winStart && now < w.winEnd) {
          a.acks++;
          a.edits += info.edits;
          a.lat.push(now - a.sentAt);
        }
      },
      onError: () => { a.errors++; },
      onResync: () => { a.errors++; },
    });
    req.other = (data) => {
      const m = JSON.parse(data.toString());
      return a.oc.receive(m);
    };
    a.oc.open();
    authors.push(a);
  }
  await waitUntil(() => authors.every((a) => a.oc.state === 'open'), 10000);
  return {
    async round(startWall, active) {
      const start = perfAt(startWall);
      w.winStart = start + w.warmupS * 1000;
      w.winEnd = w.winStart + w.phaseS * 1000;
      const mine = authors.slice(0, active);
      for (const a of mine) Object.assign(a, { acks: 0, edits: 0, errors: 0, lat: [] });
      await drive(mine.length, w.rate, start, w.winEnd, (i) => {
        const a = mine[i];
        a.oc.edit(makeEdit(r, a, a.oc.text.length).op);
      });
      const lat = [];
      let acks = 0, edits = 0, errors = 0;
      for (const a of mine) {
        acks += a.acks;
        edits += a.edits;
        errors += a.errors;
        for (const x of a.lat) lat.push(x);
      }
      return { acks, edits, errors, lat };
    },
    close() {
      for (const a of authors) a.ws.terminate();
    },
  };
}

function waitUntil(cond, ms) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      if (cond()) resolve();
      else if (Date.now() - t0 > ms) reject(new Error('timed out'));
      else setTimeout(tick, 5);
    };
    tick();
  });
}

// Phase 3, in a worker: Yjs clients, each in its own room.
async function workerYws(w) {
  process.setMaxListeners(0); // each WebsocketProvider adds an exit listener
  const Y = await import('yjs');
  const { WebsocketProvider } = await import('y-websocket');
  const r = rng(w.seed);
  const authors = [];
  // A WebSocket that timestamps each Yjs update it sends and matches it to
  // the server's echo (one author per room: echoes come back in order).
  class TimedWS extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols, { perMessageDeflate: false });
      this.sent = [];       // send times; the next echo's is sent[head]
      this.head = 0;
      this.author = null;
      this.addEventListener('message', (ev) => {
        const d = new Uint8Array(ev.data);
        if (d[0] === 0 && d[1] === 2 && this.head < this.sent.length) {
          const t0 = this.sent[this.head++];
          if (this.head > 4096) {
            this.sent = this.sent.slice(this.head);
            this.head = 0;
          }
          const now = performance.now();
          const a = this.author;
          if (a && now >= w.winStart && now < w.winEnd) {
            a.acks++;
            a.lat.push(now - t0);
          }
        }
      });
    }

    send(data) {
      const d = data instanceof Uint8Array ? data : new Uint8Array(data);
      if (d[0] === 0 && d[1] === 2) this.sent.push(performance.now());
      super.send(data);
    }
  }
  for (const idx of w.indices) {
    const doc = new Y.Doc();
    const provider = new WebsocketProvider(`ws://127.0.0.1:${w.port}`, `bench-${idx}`, doc, {
      WebSocketPolyfill: TimedWS, disableBc: true,
    });
    const a = { doc, provider, text: doc.getText('code'), acks: 0, lat: [] };
    authors.push(a);
  }
  await waitUntil(() => authors.every((a) => a.provider.synced), 10000);
  for (const a of authors) a.provider.ws.author = a;
  return {
    async round(startWall, active) {
      const start = perfAt(startWall);
      w.winStart = start + w.warmupS * 1000;
      w.winEnd = w.winStart + w.phaseS * 1000;
      const mine = authors.slice(0, active);
      for (const a of mine) Object.assign(a, { acks: 0, lat: [] });
      await drive(mine.length, w.rate, start, w.winEnd, (i) => {
        const a = mine[i];
        const e = makeEdit(r, a, a.text.length);
        if (e.del) a.text.delete(e.p, e.del);
        else a.text.insert(e.p, e.ins);
      });
      const lat = [];
      let acks = 0;
      for (const a of mine) {
        acks += a.acks;
        for (const x of a.lat) lat.push(x);
      }
      return { acks, edits: acks, errors: 0, lat };
    },
    close() {
      for (const a of authors) {
        a.provider.destroy();
        a.doc.destroy();
      }
    },
  };
}

// A minimal WebSocket client over a raw TCP socket (RFC 6455: the upgrade,
// masked frames out, unmasked frames in, ping answered), for the authors
// phase: it hands each text message to onText(buf) as a Buffer without
// decoding it, so an author can skip the others' ops by their first bytes.
// Node's ws does the same protocol work plus a per-message event, string
// and buffer juggling that costs more than the server's work at this fan-out.
class RawWs {
  static open(port) {
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1');
      const key = crypto.randomBytes(16).toString('base64');
      let head = Buffer.alloc(0);
      sock.setNoDelay(true);
      sock.once('error', reject);
      sock.on('connect', () => {
        sock.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n`
          + `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      });
      const onHead = (chunk) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        sock.off('data', onHead);
        if (!/^HTTP\/1\.1 101/.test(head.toString('latin1', 0, 12))) {
          reject(new Error(`upgrade refused: ${head.toString('latin1', 0, 200)}`));
          sock.destroy();
          return;
        }
        const ws = new RawWs(sock);
        sock.on('data', (d) => ws.feed(d));
        if (head.length > end + 4) ws.feed(head.subarray(end + 4));
        resolve(ws);
      };
      sock.on('data', onHead);
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.buf = null;
    this.onText = null;
    this.closed = false;
    sock.on('close', () => { this.closed = true; if (this.onClose) this.onClose(); });
    sock.on('error', () => {});
  }

  feed(chunk) {
    let b = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    let off = 0;
    for (;;) {
      if (b.length - off < 2) break;
      const op = b[off] & 0x0f;
      let len = b[off + 1] & 0x7f;
      let hl = 2;
      if (len === 126) {
        if (b.length - off < 4) break;
        len = b.readUInt16BE(off + 2);
        hl = 4;
      } else if (len === 127) {
        if (b.length - off < 10) break;
        len = Number(b.readBigUInt64BE(off + 2));
        hl = 10;
      }
      if (b.length - off < hl + len) break;
      const payload = b.subarray(off + hl, off + hl + len);
      off += hl + len;
      if (op === 1 && this.onText) this.onText(payload);
      else if (op === 9) this.frame(10, payload);
      else if (op === 8) this.sock.end();
    }
    this.buf = off < b.length ? Buffer.from(b.subarray(off)) : null;
  }

  frame(opcode, payload) {
    if (this.closed) return;
    const n = payload.length;
    const hl = n < 126 ? 2 : n < 65536 ? 4 : 10;
    const f = Buffer.allocUnsafe(hl + 4 + n);
    f[0] = 0x80 | opcode;
    if (n < 126) {
      f[1] = 0x80 | n;
    } else if (n < 65536) {
      f[1] = 0x80 | 126;
      f.writeUInt16BE(n, 2);
    } else {
      f[1] = 0x80 | 127;
      f.writeBigUInt64BE(BigInt(n), 2);
    }
    crypto.randomFillSync(f, hl, 4);
    for (let i = 0; i < n; i++) f[hl + 4 + i] = payload[i] ^ f[hl + (i & 3)];
    this.sock.write(f);
  }

  sendJson(obj) {
    this.frame(1, Buffer.from(JSON.stringify(obj)));
  }

  close() {
    this.sock.destroy();
  }
}

// Setup requests on a RawWs: replies by id, the rest to `other`, which
// returns true for what it handled (undecoded).
function rawRpc(ws) {
  const pending = new Map();
  let next = 1;
  const r = {
    other: null,
    request(obj) {
      return new Promise((resolve) => {
        const id = `s${next++}`;
        pending.set(id, resolve);
        ws.sendJson({ ...obj, id });
      });
    },
  };
  ws.onText = (data) => {
    if (r.other && r.other(data)) return;
    const m = JSON.parse(data.toString());
    if (typeof m.id === 'string' && pending.has(m.id)) {
      const f = pending.get(m.id);
      pending.delete(m.id);
      f(m);
    }
  };
  return r;
}

async function rawConnect(port, sid, name) {
  const ws = await RawWs.open(port);
  const r = rawRpc(ws);
  const h = await r.request({ type: 'hello', name, client: 'bench/collab', client_id: name });
  if (h.type !== 'hello') throw new Error(`hello: ${JSON.stringify(h)}`);
  const j = await r.request({ type: 'join', session: sid, token: TOKENS.get(sid) || (workerData && workerData.token) });
  if (j.type !== 'joined') throw new Error(`join: ${JSON.stringify(j).slice(0, 200)}`);
  return { ws, r };
}

// Phase 4, in a worker: lean authors on one document, and one full reader
// that tracks the document's revision and length for them.
async function workerAuthors(w) {
  const r = rng(w.seed);
  const base = { rev: 0, len: 0 };
  const reader = await rawConnect(w.port, w.sid, `reader${w.id}`);
  reader.r.other = (data) => {
    if (data.toString('latin1', 0, 13) !== '{"type":"ops"') return false;
    const m = JSON.parse(data.toString());
    for (const o of m.ops) {
      if (o.rev !== base.rev + 1) continue;
      base.rev = o.rev;
      for (const c of o.op) base.len += typeof c === 'string' ? c.length : Math.min(c, 0);
    }
    return true;
  };
  const snap = await reader.r.request({ type: 'doc.open', doc: w.doc });
  if (snap.type !== 'doc.snapshot') throw new Error(`reader open: ${JSON.stringify(snap)}`);
  if (snap.rev > base.rev) {
    base.rev = snap.rev;
    base.len = snap.text.length;
  }
  const authors = [];
  const stats = { closed: 0, errors: 0, firstError: null };
  const connectOne = async (idx) => {
    const { ws, r: req } = await rawConnect(w.port, w.sid, `a${idx}`);
    const a = { ws, seq: 0, inflight: false, sentAt: 0, acks: 0, lat: [], due: 0 };
    req.other = (data) => {
      // Skip the stream of others' ops and membership notices undecoded;
      // leave the replies to the setup requests to rawRpc().
      const head = data.toString('latin1', 0, 16);
      if (head.startsWith('{"type":"ops"') || head.startsWith('{"type":"member')) return true;
      if (head.startsWith('{"type":"error"')) {
        stats.errors++;
        if (!stats.firstError) stats.firstError = data.toString().slice(0, 300);
      }
      if (!head.startsWith('{"type":"ack"')) return false;
      const now = performance.now();
      a.inflight = false;
      if (now >= w.winStart && now < w.winEnd) {
        a.acks++;
        a.lat.push(now - a.sentAt);
      }
      return true;
    };
    ws.onClose = () => { if (!a.retired) stats.closed++; };
    const o = await req.request({ type: 'doc.open', doc: w.doc });
    if (o.type !== 'doc.snapshot') throw new Error(`open: ${JSON.stringify(o).slice(0, 200)}`);
    authors.push(a);
  };
  // Connect in small waves: a thousand handshakes at once only measure the
  // listen backlog.
  for (let i = 0; i < w.indices.length; i += 25) {
    await Promise.all(w.indices.slice(i, i + 25).map(connectOne));
  }
  function sendDue(a) {
    // The edits due while an op was in flight compose into one: an insert
    // while the text is under 3,000 units, a deletion after.
    const len = base.len;
    const k = Math.max(1, a.due);
    let op;
    if (len < 3000) {
      const p = Math.floor(r() * (len + 1));
      op = [p, 'x'.repeat(k), len - p];
    } else {
      const p = Math.floor(r() * (len - k + 1));
      op = [p, -k, len - p - k];
    }
    a.due = 0;
    a.seq++;
    a.inflight = true;
    a.sentAt = performance.now();
    a.ws.sendJson({ type: 'op', id: a.seq, doc: w.doc, rev: base.rev, seq: a.seq, op: op.filter((c) => c !== 0) });
  }
  return {
    async round(startWall, active) {
      // Authors beyond `active` leave for good (a smaller round after a
      // larger one).
      for (const a of authors.slice(active)) {
        if (!a.retired) {
          a.retired = true;
          a.ws.close();
        }
      }
      const mine = authors.slice(0, active);
      const start = perfAt(startWall);
      w.winStart = start + w.warmupS * 1000;
      w.winEnd = w.winStart + w.phaseS * 1000;
      const closed0 = stats.closed;
      const errors0 = stats.errors;
      for (const a of mine) Object.assign(a, { acks: 0, lat: [], due: 0 });
      let dueInWindow = 0;
      await drive(mine.length, w.rate, start, w.winEnd, (i) => {
        const a = mine[i];
        if (performance.now() >= w.winStart) dueInWindow++;
        a.due++;
        if (!a.inflight) sendDue(a); // else it waits and composes
      });
      const lat = [];
      let acks = 0;
      for (const a of mine) {
        acks += a.acks;
        for (const x of a.lat) lat.push(x);
      }
      return { acks, edits: acks, errors: stats.errors - errors0, closed: stats.closed - closed0, lat,
        due: dueInWindow, connected: mine.length, firstError: stats.firstError };
    },
    close() {
      for (const a of authors) {
        a.retired = true;
        a.ws.close();
      }
      reader.ws.close();
    },
  };
}

if (!isMainThread) {
  const w = workerData;
  const setup = { tutti: workerTutti, yws: workerYws, authors: workerAuthors }[w.mode];
  try {
    const h = await setup(w);
    parentPort.postMessage({ ready: true });
    for (;;) {
      const m = await new Promise((res) => parentPort.once('message', res));
      if (m.stop) break;
      parentPort.postMessage({ result: await h.round(m.start, m.active) });
    }
    h.close();
  } catch (e) {
    parentPort.postMessage({ failed: e.stack || String(e) });
  }
  process.exit(0);
}

// ======================================================================
// Main thread: servers, phases, the line.
// ======================================================================

const children = [];
const tmpdirs = [];
function cleanup() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of tmpdirs) fs.rmSync(d, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
const t0 = Date.now();
const watchdog = setTimeout(() => {
  log(`over the ${CFG.budgetS} s budget: stopping`);
  process.exit(2);
}, CFG.budgetS * 1000);
watchdog.unref();
const remainingS = () => CFG.budgetS - (Date.now() - t0) / 1000;

function startTuttid() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tutti-bench-collab-'));
  tmpdirs.push(tmp);
  const proc = spawn(path.join(CFG.builddir, 'server', 'tuttid'),
    ['--listen', '127.0.0.1:0', '--db', path.join(tmp, 'tutti.db'), '--log-level', 'info',
      '--no-demo', '--ws-per-address', '4096'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(proc);
  let buf = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tuttid: no port in its log:\n${buf}`)), 10000);
    proc.stderr.on('data', (d) => {
      if (buf.length < 65536) buf += d;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, port: Number(m[1]), log: () => buf });
      }
    });
    proc.once('exit', (code, sig) => reject(new Error(`tuttid exited (${code ?? sig}):\n${buf}`)));
  });
}

function stopChild(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.removeAllListeners('exit');
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    proc.once('exit', () => { clearTimeout(t); resolve(); });
    proc.kill('SIGTERM');
  });
}

async function createSession(port, name) {
  const res = await fetch(`http://127.0.0.1:${port}/api/sessions`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name }),
  });
  if (res.status !== 201) throw new Error(`POST /api/sessions: ${res.status}`);
  const created = await res.json();
  TOKENS.set(created.id, created.owner_token);
  return created.id;
}


function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// A pool of CFG.workers workers for one phase, n authors split evenly.
// Each worker connects its authors, says {ready}, then runs one round per
// {start, active} message (active: how many of its authors take part) and
// answers each with {result}; {stop} ends it.
async function spawnPool(mode, n, extra) {
  const per = Math.ceil(n / CFG.workers);
  const pool = { workers: [], extra, setupS: 0 };
  for (let k = 0; k < CFG.workers && k * per < n; k++) {
    const indices = [];
    for (let i = k * per; i < Math.min(n, (k + 1) * per); i++) indices.push(i);
    const wk = new Worker(new URL(import.meta.url), {
      workerData: { mode, id: k, indices, seed: 1000 + k, phaseS: CFG.phaseS, warmupS: CFG.warmupS,
        token: extra && extra.sid ? TOKENS.get(extra.sid) : undefined, ...extra },
    });
    wk.n = indices.length;
    wk.next = null; // the resolver of the message awaited
    wk.on('message', (m) => { if (wk.next) wk.next(m); });
    wk.on('error', (e) => { if (wk.next) wk.next({ failed: e.stack || String(e) }); });
    wk.on('exit', () => { wk.gone = true; if (wk.next) wk.next({ failed: 'worker exited' }); });
    pool.workers.push(wk);
  }
  const t0 = Date.now();
  const ready = await Promise.all(pool.workers.map((wk) => reply(wk)));
  pool.setupS = (Date.now() - t0) / 1000;
  const failed = ready.find((m) => m.failed);
  if (failed) {
    stopPool(pool);
    pool.failed = failed.failed;
  }
  return pool;
}

function reply(wk) {
  return new Promise((resolve) => {
    if (wk.gone) resolve({ failed: 'worker exited' });
    else wk.next = resolve;
  });
}

function stopPool(pool) {
  for (const wk of pool.workers) if (!wk.gone) wk.postMessage({ stop: true });
}

// One round: `active` authors (the first ones of each worker) drive the
// load; resolves with the merged result and the CPU both sides used in the
// measuring window.
async function runRound(pool, active) {
  const start = Date.now() + 50;
  let left = active;
  const per = Math.ceil(active / pool.workers.length);
  const results = pool.workers.map((wk) => {
    const mine = Math.min(per, left, wk.n);
    left -= mine;
    const p = reply(wk);
    wk.postMessage({ start, active: mine });
    return p;
  });
  const winStart = start + CFG.warmupS * 1000;
  const sample = (at) => new Promise((resolve) => {
    setTimeout(() => {
      const u = process.cpuUsage(); // this process: the clients' workers
      resolve({ server: cpuSeconds(pool.extra.serverPid), clients: (u.user + u.system) / 1e6 });
    }, at - Date.now());
  });
  const cpuA = sample(winStart);
  const cpuB = sample(winStart + CFG.phaseS * 1000);
  const all = (await Promise.all(results)).map((m) => (m.result ? m.result : { failed: m.failed || 'no result' }));
  const ca = await cpuA;
  const cb = await cpuB;
  const failed = all.filter((x) => x.failed);
  if (failed.length) return { failed: failed[0].failed };
  const lat = [];
  const sum = (k) => all.reduce((acc, x) => acc + (x[k] || 0), 0);
  for (const x of all) for (const v of x.lat) lat.push(v);
  lat.sort((a, b) => a - b);
  return {
    acks: sum('acks'), edits: sum('edits'), errors: sum('errors'), closed: sum('closed'),
    due: sum('due'), connected: sum('connected'), lat,
    serverCpuS: cb.server - ca.server,
    clientCpuS: cb.clients - ca.clients,
    setupS: pool.setupS,
  };
}

// A phase of one round with every author.
async function runPhase(mode, n, extra) {
  const pool = await spawnPool(mode, n, extra);
  if (pool.failed) return { failed: pool.failed };
  const res = await runRound(pool, n);
  stopPool(pool);
  return res;
}

// User + system CPU seconds a process has used (Linux /proc).
function cpuSeconds(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ ticks
  } catch {
    return NaN;
  }
}

function otApply() {
  const r = spawnSync(path.join(CFG.builddir, 'bench', 'ot_apply'), [], { encoding: 'utf8', timeout: 60000 });
  const m = /ot: apply_ops_per_s=(\d+)/.exec(r.stdout || '');
  if (!m) {
    log(`ot_apply gave no figure (${r.error || r.status}): ${(r.stderr || '').slice(0, 300)}`);
    return NaN;
  }
  if (r.stderr) log(`ot_apply: ${r.stderr.trim().split('\n').join(' | ')}`);
  return Number(m[1]);
}

async function phaseTutti() {
  const srv = await startTuttid();
  const sid = await createSession(srv.port, 'bench collab');
  const res = await runPhase('tutti', CFG.clients,
    { port: srv.port, sid, rate: CFG.rate, serverPid: srv.proc.pid });
  await stopChild(srv.proc);
  return res;
}

async function phaseYws() {
  const port = await freePort();
  const bin = path.join(HERE, 'node_modules', 'y-websocket', 'bin', 'server.cjs');
  const envv = { ...process.env, HOST: '127.0.0.1', PORT: String(port) };
  if (CFG.ywsPersist) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tutti-bench-yws-'));
    tmpdirs.push(dir);
    envv.YPERSISTENCE = dir;
  } else {
    delete envv.YPERSISTENCE;
  }
  const proc = spawn(process.execPath, [bin], { env: envv, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`y-websocket did not start: ${out}`)), 10000);
    const on = (d) => {
      out += d;
      if (/running at/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout.on('data', on);
    proc.stderr.on('data', on);
    proc.once('exit', (c) => reject(new Error(`y-websocket exited (${c}): ${out}`)));
  });
  const res = await runPhase('yws', CFG.clients, { port, rate: CFG.rate, serverPid: proc.pid });
  await stopChild(proc);
  return res;
}

// A authors on one document in one round; when that does not work, half
// of them leave and the rest try again, while the budget lasts. The
// connections are made once: joining a session of A members costs O(A)
// messages per join (everyone hears of it), O(A^2) for all of them.
const SETTLE_MS = 3000;

async function phaseAuthors() {
  const srv = await startTuttid();
  let pool = null;
  let best = { a: 0, p95: NaN };
  try {
    const sid = await createSession(srv.port, 'bench authors');
    const ws = await wsOpen(`ws://127.0.0.1:${srv.port}/ws`);
    const req = rpc(ws);
    await req.request({ type: 'hello', name: 'host' });
    await req.request({ type: 'join', session: sid, token: TOKENS.get(sid) });
    const d = await req.request({ type: 'doc.create', name: 'one' });
    ws.close();
    pool = await spawnPool('authors', CFG.authors,
      { port: srv.port, sid, doc: d.doc.id, rate: CFG.authorRate, serverPid: srv.proc.pid });
    if (pool.failed) {
      log(`authors: A=${CFG.authors} could not connect: ${String(pool.failed).split('\n')[0]}`);
      return best;
    }
    log(`authors: ${CFG.authors} connected and joined in ${fmt(pool.setupS, 1)} s`);
    for (let a = CFG.authors; a >= 1; a = Math.floor(a / 2)) {
      if (remainingS() < CFG.warmupS + CFG.phaseS + SETTLE_MS / 1000 + 3) {
        log(`authors: no time left to try A=${a}`);
        break;
      }
      const res = await runRound(pool, a);
      const worked = !res.failed && res.connected === a && res.closed === 0 && res.errors === 0 &&
        res.acks >= 0.9 * res.due;
      log(`authors: A=${a} ${res.failed ? `failed: ${String(res.failed).split('\n')[0]}`
        : `closed=${res.closed} errors=${res.errors} due=${res.due} `
          + `acked=${res.acks} p50=${fmt(percentile(res.lat, 50), 1)} ms `
          + `p95=${fmt(percentile(res.lat, 95), 1)} ms p99=${fmt(percentile(res.lat, 99), 1)} ms `
          + `tuttid cpu=${fmt(res.serverCpuS / CFG.phaseS * 100, 0)}% `
          + `clients cpu=${fmt(res.clientCpuS / CFG.phaseS * 100, 0)}%`}`
        + (res.firstError ? ` first error: ${res.firstError}` : '')
        + (worked ? '' : ' -> did not work'));
      if (res.failed) break;
      if (worked) {
        best = { a, p95: percentile(res.lat, 95) };
        break;
      }
      // Let the server's queues to the clients drain before the next round.
      await new Promise((res2) => setTimeout(res2, SETTLE_MS));
    }
  } finally {
    if (pool) stopPool(pool);
    await stopChild(srv.proc);
  }
  return best;
}

async function main() {
  log(`clients=${CFG.clients} rate=${CFG.rate} edits/s each (${CFG.clients * CFG.rate} offered), `
    + `phase ${CFG.phaseS} s after ${CFG.warmupS} s warm-up, ${CFG.workers} client workers, `
    + `${os.cpus().length} cpus, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const on = (p) => CFG.phases.has(p);
  const apply = on('apply') ? otApply() : NaN;

  const tut = on('tutti') ? await phaseTutti() : { acks: NaN, edits: NaN, lat: [] };
  if (tut.failed) throw new Error(`tutti phase: ${tut.failed}`);
  const tOps = tut.acks / CFG.phaseS;
  const tP99 = percentile(tut.lat, 99);
  if (on('tutti')) log(`tutti: ${fmt(tOps, 0)} acked ops/s carrying ${fmt(tut.edits / CFG.phaseS, 0)} edits/s `
    + `(of ${CFG.clients * CFG.rate} offered); ack p50=`
    + `${fmt(percentile(tut.lat, 50), 2)} p99=${fmt(tP99, 2)} p99.9=${fmt(percentile(tut.lat, 99.9), 2)} ms; `
    + `errors=${tut.errors}; tuttid used ${fmt(tut.serverCpuS / CFG.phaseS * 100, 0)}% of a core `
    + `(${fmt(tut.acks / tut.serverCpuS, 0)} ops per CPU second), the clients ${fmt(tut.clientCpuS / CFG.phaseS * 100, 0)}%`);

  const yws = on('yws') ? await phaseYws() : { acks: NaN, lat: [] };
  if (yws.failed) throw new Error(`yws phase: ${yws.failed}`);
  const yOps = yws.acks / CFG.phaseS;
  if (on('yws')) log(`yws (${CFG.ywsPersist ? 'LevelDB persistence' : 'in memory'}): ${fmt(yOps, 0)} updates/s echoed; `
    + `p50=${fmt(percentile(yws.lat, 50), 2)} p99=${fmt(percentile(yws.lat, 99), 2)} ms; `
    + `the server used ${fmt(yws.serverCpuS / CFG.phaseS * 100, 0)}% of a core `
    + `(${fmt(yws.acks / yws.serverCpuS, 0)} updates per CPU second), the clients ${fmt(yws.clientCpuS / CFG.phaseS * 100, 0)}%`);

  const au = on('authors') ? await phaseAuthors() : { a: 0, p95: NaN };

  process.stdout.write(`collab: clients=${CFG.clients} tutti_ops_per_s=${fmt(tOps, 0)} `
    + `tutti_ack_p99_ms=${fmt(tP99, 2)} yws_ops_per_s=${fmt(yOps, 0)} ratio=${fmt(tOps / yOps, 2)} `
    + `authors_one_doc=${au.a} authors_p95_ms=${fmt(au.p95, 1)} apply_ops_per_s=${fmt(apply, 0)}\n`);
  log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

main().then(() => process.exit(0), (e) => {
  log(e.stack || String(e));
  process.exit(1);
});
