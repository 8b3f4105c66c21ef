/*
 * ot.js: tutti's text operations and the client side of its editing
 * protocol, as an ES module with no dependencies (browser and Node).
 *
 * Operations (docs/collab.md, "Wire form"): an operation is a JSON array
 * walking the whole document from its start:
 *
 *   positive integer n   retain n units
 *   negative integer -n  delete n units
 *   non-empty string s   insert s
 *
 * Every length and position counts UTF-16 code units, which is what
 * JavaScript strings count, so `s.length` is an insert's length and no
 * conversion is ever needed. A component boundary that falls between the
 * two halves of a surrogate pair names no place in the text and is refused.
 *
 * Invariants:
 *  1. Every operation this module returns is canonical: no empty component,
 *     no two adjacent components of the same kind, and at one place an
 *     insert comes before a delete. Equal effects compare equal (the
 *     server's encoder writes the same form).
 *  2. transform(a, b) = [a', b'] with apply(apply(s, a), b') ===
 *     apply(apply(s, b), a') (TP1); when both insert at one place, a's text
 *     goes first. The server applies ops in its order and transforms each
 *     incoming op as the right-hand side, so a client transforms a server
 *     op as the left-hand side against its own: the op applied first keeps
 *     its place, and everybody computes the same text.
 *  3. compose(a, b) has the effect of a then b.
 *
 * The client (OtClient) is the state machine of docs/protocol.md,
 * "Editing": at most one op in flight, edits made meanwhile composed into a
 * buffer, and after a lost connection the recovery that never applies an
 * op twice nor loses an acknowledged one:
 *
 *            open()                 doc.snapshot / doc.ops
 *   closed ---------> opening ----------------------------> open
 *     ^  \                ^                                  |
 *     |   \ reconnected() | not_open / ack (stored)          | disconnected()
 *     |    \  [op in      |                                  v
 *     |     `-------> resuming                             closed
 *     |       flight]
 *     `-- reconnected() with nothing in flight goes straight to opening.
 *
 * In "open" the client sends: at most one op (sent, with its seq) awaits
 * its ack; edits made meanwhile compose into the buffer, which is sent when
 * the ack arrives. A remote op h is transformed over the sent op, then over
 * the buffer, and applied to the text.
 */

/* ---- components ---- */

function isRetain(c) {
  return typeof c === 'number' && c > 0;
}

function isDelete(c) {
  return typeof c === 'number' && c < 0;
}

function isInsert(c) {
  return typeof c === 'string';
}

function isHighSurrogate(u) {
  return u >= 0xd800 && u <= 0xdbff;
}

function isLowSurrogate(u) {
  return u >= 0xdc00 && u <= 0xdfff;
}

/* True when position p of text (in units) is between the halves of a pair. */
function splitsPair(text, p) {
  return p > 0 && p < text.length && isHighSurrogate(text.charCodeAt(p - 1)) &&
    isLowSurrogate(text.charCodeAt(p));
}

/*
 * Builds a canonical operation component by component (invariant 1).
 * Internal: the exported functions use it for every result.
 */
class Builder {
  constructor() {
    this.ops = [];
  }

  retain(n) {
    if (n <= 0) return this;
    const o = this.ops;
    if (o.length && isRetain(o[o.length - 1])) o[o.length - 1] += n;
    else o.push(n);
    return this;
  }

  insert(s) {
    if (s === '') return this;
    const o = this.ops;
    const last = o.length - 1;
    if (last >= 0 && isInsert(o[last])) {
      o[last] += s;
    } else if (last >= 0 && isDelete(o[last])) {
      // At one place the insert goes before the delete.
      if (last >= 1 && isInsert(o[last - 1])) o[last - 1] += s;
      else o.splice(last, 0, s);
    } else {
      o.push(s);
    }
    return this;
  }

  delete(n) {
    if (n <= 0) return this;
    const o = this.ops;
    if (o.length && isDelete(o[o.length - 1])) o[o.length - 1] -= n;
    else o.push(-n);
    return this;
  }

  done() {
    return this.ops;
  }
}

/*
 * Throws a TypeError unless op is an array of non-zero safe integers and
 * non-empty strings (any order; see normalize for the canonical form).
 */
export function check(op) {
  if (!Array.isArray(op)) throw new TypeError('an operation is an array');
  op.forEach((c, i) => {
    if (typeof c === 'string') {
      if (c === '') throw new TypeError(`component ${i}: empty insert`);
    } else if (!Number.isSafeInteger(c) || c === 0) {
      throw new TypeError(`component ${i}: ${JSON.stringify(c)} is not a non-zero integer or a string`);
    }
  });
}

/* The canonical form of a valid op (a new array; op is not modified). */
export function normalize(op) {
  check(op);
  const b = new Builder();
  for (const c of op) {
    if (isInsert(c)) b.insert(c);
    else if (c > 0) b.retain(c);
    else b.delete(-c);
  }
  return b.done();
}

/* Length in units of the text op applies to (retains + deletes). */
export function baseLength(op) {
  let n = 0;
  for (const c of op) if (!isInsert(c)) n += Math.abs(c);
  return n;
}

/* Length in units of the text op produces (retains + inserts). */
export function targetLength(op) {
  let n = 0;
  for (const c of op) n += isInsert(c) ? c.length : Math.max(c, 0);
  return n;
}

/* True when op changes nothing (empty, or a lone retain). */
export function isNoop(op) {
  return op.length === 0 || (op.length === 1 && isRetain(op[0]));
}

/*
 * The text after op. Throws a TypeError when op is malformed (see check),
 * a RangeError when its base length is not the text's length or when a
 * component boundary splits a surrogate pair.
 */
export function apply(text, op) {
  check(op);
  if (baseLength(op) !== text.length) {
    throw new RangeError(`op base length ${baseLength(op)} != text length ${text.length}`);
  }
  const parts = [];
  let pos = 0;
  for (let i = 0; i < op.length; i++) {
    const c = op[i];
    if (isInsert(c)) {
      parts.push(c);
      continue;
    }
    const n = Math.abs(c);
    if (splitsPair(text, pos + n)) {
      throw new RangeError(`component ${i} ends at position ${pos + n}, inside a surrogate pair`);
    }
    if (c > 0) parts.push(text.slice(pos, pos + n));
    pos += n;
  }
  return parts.join('');
}

/* Walks an op component by component, taking parts of components. */
class Cursor {
  constructor(op) {
    this.op = op;
    this.i = 0;
    this.cur = op.length ? op[0] : undefined;
  }

  next() {
    this.i++;
    this.cur = this.i < this.op.length ? this.op[this.i] : undefined;
  }

  /* Takes m units off the current retain or delete. */
  take(m) {
    const c = this.cur;
    const rest = c > 0 ? c - m : c + m;
    if (rest === 0) this.next();
    else this.cur = rest;
  }
}

/*
 * [a', b'] for two ops on the same text (invariant 2): apply a then b', or
 * b then a', and get the same text. At a tie a's insert goes first. Throws a
 * RangeError when their base lengths differ.
 */
export function transform(a, b) {
  const x = new Cursor(a);
  const y = new Cursor(b);
  const ap = new Builder();
  const bp = new Builder();
  for (;;) {
    if (isInsert(x.cur)) {
      ap.insert(x.cur);
      bp.retain(x.cur.length);
      x.next();
      continue;
    }
    if (isInsert(y.cur)) {
      ap.retain(y.cur.length);
      bp.insert(y.cur);
      y.next();
      continue;
    }
    if (x.cur === undefined && y.cur === undefined) break;
    if (x.cur === undefined || y.cur === undefined) {
      throw new RangeError('transform: the ops have different base lengths');
    }
    const m = Math.min(Math.abs(x.cur), Math.abs(y.cur));
    if (x.cur > 0 && y.cur > 0) {
      ap.retain(m);
      bp.retain(m);
    } else if (x.cur < 0 && y.cur > 0) {
      ap.delete(m);
    } else if (x.cur > 0 && y.cur < 0) {
      bp.delete(m);
    } // both delete the same units: neither op needs to any more
    x.take(m);
    y.take(m);
  }
  return [ap.done(), bp.done()];
}

/*
 * One op with the effect of a then b (invariant 3). Throws a RangeError
 * when b's base length is not a's target length.
 */
export function compose(a, b) {
  const x = new Cursor(a);
  const y = new Cursor(b);
  const out = new Builder();
  for (;;) {
    if (isDelete(x.cur)) {
      out.delete(-x.cur);
      x.next();
      continue;
    }
    if (isInsert(y.cur)) {
      out.insert(y.cur);
      y.next();
      continue;
    }
    if (x.cur === undefined && y.cur === undefined) break;
    if (x.cur === undefined || y.cur === undefined) {
      throw new RangeError('compose: the second op does not fit the first one\'s result');
    }
    if (isInsert(x.cur)) {
      const s = x.cur;
      const m = Math.min(s.length, Math.abs(y.cur));
      if (y.cur > 0) out.insert(s.slice(0, m)); // else b deletes what a inserted
      if (m === s.length) x.next();
      else x.cur = s.slice(m);
      y.take(m);
      continue;
    }
    const m = Math.min(x.cur, Math.abs(y.cur));
    if (y.cur > 0) out.retain(m);
    else out.delete(m);
    x.take(m);
    y.take(m);
  }
  return out.done();
}

/*
 * Moves a cursor or selection end at pos through op. Text inserted exactly
 * at pos moves it along when isOwn (the cursor's owner typed it), and
 * leaves it in front otherwise; a position inside a deleted range moves to
 * the deletion's start.
 */
export function transformIndex(pos, op, isOwn) {
  let p = 0;
  let out = pos;
  for (const c of op) {
    if (p > pos) break;
    if (isInsert(c)) {
      if (p < pos || isOwn) out += c.length;
    } else if (c > 0) {
      p += c;
    } else {
      if (p < pos) out -= Math.min(-c, pos - p);
      p -= c;
    }
  }
  return out;
}

/* ---- the client ---- */

/* Errors after which the server did not apply our op and our text has it:
 * only a fresh snapshot brings us back in step. */
const REFUSED = new Set(['bad_op', 'too_large', 'stale_seq', 'store_failed', 'internal', 'resync',
  'not_open', 'bad_request', 'too_many', 'not_found']);

/* How long to wait before sending again an op the server is still storing. */
const RETRY_MS = 20;

/*
 * The client side of one open document.
 *
 * The transport is the caller's: options.send(obj) sends one JSON message
 * (the caller serialises it), and the caller feeds every server message to
 * receive(msg). Callbacks, all optional:
 *   onRemote(op, info)  a remote op was applied to .text; op is in the
 *                       client's current text (apply it to an editor as is);
 *                       info = {rev, user, author}
 *   onAck(info)         our op was stored: {seq, rev, edits} (edits: how
 *                       many local edits it carried, composed)
 *   onOpen(info)        the document is open: {rev, text, presence}
 *   onResync(info)      a fresh snapshot replaced the text, and the local
 *                       edits not yet stored were dropped:
 *                       {text, rev, dropped: [op...], reason}
 *   onError(msg)        an error reply the client could not recover from by
 *                       itself (it resyncs after it)
 * seq numbers this client's ops (1, 2, 3, ...) together with the client_id
 * the caller gave in hello; a client that outlives a reload passes the last
 * seq it used as options.seq.
 */
export class OtClient {
  constructor(options) {
    this.doc = options.doc;
    this.sendMsg = options.send;
    this.cb = options;
    this.state = 'closed';
    this.text = '';
    this.rev = 0;
    this.seq = options.seq || 0;
    this.sent = null;       // {op, seq, edits}: sent, not acknowledged
    this.buffer = null;     // {op, edits}: local edits made since
    this.ownRev = null;     // while resuming: the revision our resent op got
    this.retryTimer = null;
    this.everOpened = false;
  }

  /* Asks for the document (a snapshot). */
  open() {
    this.state = 'opening';
    this.sendMsg({ type: 'doc.open', id: `ot:${this.doc}:open`, doc: this.doc });
  }

  /* True when every local edit has been stored. */
  idle() {
    return this.sent === null && this.buffer === null;
  }

  /*
   * Applies a local edit (an op on the current text) and sends it, or
   * buffers it while another op is in flight. Throws (changing nothing)
   * when op does not fit the text.
   */
  edit(op) {
    if (!this.everOpened) throw new Error('edit before the document was opened');
    const n = normalize(op);
    this.text = apply(this.text, n);
    if (this.buffer === null) this.buffer = { op: n, edits: 1 };
    else this.buffer = { op: compose(this.buffer.op, n), edits: this.buffer.edits + 1 };
    this.flush();
  }

  /* The connection is gone: nothing is sent until reconnected(). */
  disconnected() {
    this.state = 'closed';
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /*
   * On a new connection, after the caller sent hello (same client_id) and
   * join: the recovery of docs/protocol.md. Asks whether the op in flight
   * was stored, then reopens at our revision and replays what was missed.
   */
  reconnected() {
    this.ownRev = null;
    if (this.sent !== null) {
      this.state = 'resuming';
      this.sendOp('resend');
    } else {
      this.reopen();
    }
  }

  /*
   * Feeds one server message; returns true when it was this client's.
   * A message that cannot be applied (a gap in revisions, an op that does
   * not fit the text: never from a correct server) is reported to onError
   * as code "client" and the document is reloaded from a snapshot.
   */
  receive(msg) {
    if (msg.doc !== this.doc && !(typeof msg.id === 'string' && msg.id.startsWith(`ot:${this.doc}:`))) {
      return false;
    }
    try {
      return this.dispatch(msg);
    } catch (e) {
      this.call('onError', { type: 'error', doc: this.doc, error: { code: 'client', message: e.message } });
      this.resync();
      return true;
    }
  }

  /* Loads a fresh snapshot, dropping the edits not yet stored. */
  resync() {
    this.ownRev = null;
    this.state = 'opening';
    this.sendMsg({ type: 'doc.open', id: `ot:${this.doc}:resync`, doc: this.doc });
  }

  /* ---- internals ---- */

  dispatch(msg) {
    switch (msg.type) {
      case 'doc.snapshot':
        if (this.state === 'opening' || msg.reset) this.adoptSnapshot(msg);
        return true;
      case 'doc.ops':
        if (this.state === 'opening') this.replay(msg);
        return true;
      case 'ack':
        this.onAck(msg);
        return true;
      case 'ops':
        if (this.state === 'open') for (const o of msg.ops) this.onRemote(o);
        return true;
      case 'error':
        this.onErrorReply(msg);
        return true;
      default:
        return msg.doc === this.doc;
    }
  }

  sendOp(kind) {
    this.sendMsg({
      type: 'op', id: `ot:${this.doc}:${kind}:${this.sent.seq}`, doc: this.doc, rev: this.rev,
      op: this.sent.op, seq: this.sent.seq,
    });
  }

  /* Sends the buffer when nothing is in flight and the document is open. */
  flush() {
    if (this.state !== 'open' || this.sent !== null || this.buffer === null) return;
    this.seq += 1;
    this.sent = { op: this.buffer.op, seq: this.seq, edits: this.buffer.edits };
    this.buffer = null;
    this.sendOp('op');
  }

  reopen() {
    this.state = 'opening';
    this.sendMsg({ type: 'doc.open', id: `ot:${this.doc}:reopen`, doc: this.doc, rev: this.rev });
  }

  /* A fresh snapshot (first open, too far behind, or a reset document). */
  adoptSnapshot(msg) {
    const first = !this.everOpened;
    const dropped = [];
    if (this.sent !== null && this.ownRev !== null) this.acknowledge(this.ownRev); // in the snapshot
    if (this.sent !== null && this.ownRev === null) dropped.push(this.sent.op);
    if (this.buffer !== null) dropped.push(this.buffer.op);
    this.sent = null;
    this.buffer = null;
    this.ownRev = null;
    this.text = msg.text;
    this.rev = msg.rev;
    this.state = 'open';
    this.everOpened = true;
    if (first) this.call('onOpen', { rev: this.rev, text: this.text, presence: msg.presence || [] });
    else this.call('onResync', { text: this.text, rev: this.rev, dropped, reason: msg.reset ? 'reset' : 'snapshot' });
  }

  /* doc.ops after a reopen: the ops we missed, ours among them if stored. */
  replay(msg) {
    if (msg.from !== this.rev) {
      throw new Error(`doc.ops from ${msg.from}, expected ${this.rev}`);
    }
    this.state = 'open';
    msg.ops.forEach((op, k) => {
      const rev = msg.from + 1 + k;
      if (rev === this.ownRev) this.acknowledge(rev);
      else this.onRemote({ rev, op, user: null, author: null });
    });
    this.ownRev = null;
    if (this.sent !== null) this.sendOp('op'); // not stored: again, on the new revision
    else this.flush();
  }

  acknowledge(rev) {
    const s = this.sent;
    this.sent = null;
    this.rev = rev;
    this.call('onAck', { seq: s.seq, rev, edits: s.edits });
  }

  onAck(msg) {
    if (this.sent === null) return;
    if (this.state === 'resuming') {
      this.ownRev = msg.rev; // stored: its op arrives in doc.ops, counted there
      this.reopen();
      return;
    }
    if (this.state !== 'open') return;
    this.acknowledge(msg.rev);
    this.flush();
  }

  onRemote(o) {
    if (o.rev <= this.rev) return; // seen already
    if (o.rev !== this.rev + 1) {
      throw new Error(`remote op at revision ${o.rev}, expected ${this.rev + 1}`);
    }
    // Over the op in flight, then over the buffer (which, while the
    // connection is being restored, may exist with nothing in flight).
    let h = o.op;
    if (this.sent !== null) {
      let s;
      [h, s] = transform(h, this.sent.op);
      this.sent = { ...this.sent, op: s };
    }
    if (this.buffer !== null) {
      let b;
      [h, b] = transform(h, this.buffer.op);
      this.buffer = { ...this.buffer, op: b };
    }
    this.text = apply(this.text, h);
    this.rev = o.rev;
    this.call('onRemote', h, { rev: o.rev, user: o.user, author: o.author });
  }

  onErrorReply(msg) {
    const code = msg.error && msg.error.code;
    const id = typeof msg.id === 'string' ? msg.id : '';
    if (this.state === 'resuming' && id.includes(':resend:') && code === 'not_open') {
      this.reopen(); // the op was not stored: replay, then send it again
      return;
    }
    if (code === 'retry' && this.sent !== null) {
      const kind = this.state === 'resuming' ? 'resend' : 'op';
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        if (this.state === 'open' || this.state === 'resuming') this.sendOp(kind);
      }, RETRY_MS);
      return;
    }
    if (code !== 'resync') this.call('onError', msg);
    if (REFUSED.has(code) && (id.includes(':op:') || id.includes(':resend:') || code === 'resync')) {
      // Our op was refused: the server's text lacks it, ours has it.
      this.resync();
    }
  }

  call(name, ...args) {
    const f = this.cb[name];
    if (typeof f === 'function') f(...args);
  }
}
