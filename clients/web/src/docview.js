/*
 * docview.js: one tutti document shown in a CodeMirror 6 editor, kept in
 * step with the server through ot.js.
 *
 * Invariants:
 *  1. The editor's text always equals the OtClient's text: every local
 *     transaction becomes exactly one client.edit(op) and every remote op
 *     (onRemote) becomes exactly one transaction. Line separators are fixed
 *     to "\n" so that CodeMirror's positions are the protocol's UTF-16 units.
 *  2. Remote transactions carry Transaction.addToHistory(false): the undo
 *     history holds only this user's edits, mapped through the others'.
 *  3. Server positions (presence, annotations, eval ranges) name a place in
 *     the server's text at some revision R. They are carried to the
 *     editor's text through the server ops R+1..client.rev (kept in `log`)
 *     and then through this client's own unacknowledged ops.
 */
import { EditorState, StateEffect, StateField, Transaction, Annotation, RangeSetBuilder } from '@codemirror/state';
import {
  EditorView, Decoration, WidgetType, keymap, lineNumbers, highlightActiveLine,
  highlightActiveLineGutter, drawSelection, dropCursor, rectangularSelection,
} from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { javascript } from '@codemirror/lang-javascript';
import { syntaxHighlighting, HighlightStyle, bracketMatching, indentOnInput } from '@codemirror/language';
import { tags as t } from '@lezer/highlight';
import { OtClient, transformIndex } from './ot.js';

/* How many server ops a document remembers to map old positions forward. */
const LOG_KEEP = 2000;

const remoteEdit = Annotation.define();

const style = HighlightStyle.define([
  { tag: t.keyword, color: '#c792ea' },
  { tag: [t.string, t.special(t.string)], color: '#c3e88d' },
  { tag: t.number, color: '#f78c6c' },
  { tag: [t.function(t.variableName), t.function(t.propertyName)], color: '#82aaff' },
  { tag: t.propertyName, color: '#82aaff' },
  { tag: t.comment, color: '#6b7394', fontStyle: 'italic' },
  { tag: t.operator, color: '#89ddff' },
  { tag: [t.bool, t.null], color: '#ff9cac' },
  { tag: t.variableName, color: '#eeffff' },
  { tag: t.labelName, color: '#ffcb6b' },
]);

/* ---- decorations held in state fields ---- */

const setPresence = StateEffect.define();   // [{user, name, color, cursor, sel: [[a,b]...]}] (local positions)
const setHighlights = StateEffect.define(); // [{from, to}]
const setFlash = StateEffect.define();      // {from, to} or null
const setError = StateEffect.define();      // {from, line, message} or null

class CursorWidget extends WidgetType {
  constructor(name, color) {
    super();
    this.name = name;
    this.color = color;
  }

  eq(o) {
    return o.name === this.name && o.color === this.color;
  }

  toDOM() {
    const s = document.createElement('span');
    s.className = 'tt-rcursor';
    s.style.borderLeftColor = this.color;
    const l = document.createElement('span');
    l.className = 'tt-rname';
    l.textContent = this.name;
    l.style.background = this.color;
    s.append(l);
    return s;
  }

  ignoreEvent() {
    return true;
  }
}

class ErrorWidget extends WidgetType {
  constructor(message) {
    super();
    this.message = message;
  }

  eq(o) {
    return o.message === this.message;
  }

  toDOM() {
    const d = document.createElement('div');
    d.className = 'tt-error-msg';
    d.textContent = this.message;
    return d;
  }
}

function clampRange(len, a, b) {
  const from = Math.max(0, Math.min(len, a));
  return [from, Math.max(from, Math.min(len, b))];
}

function presenceDecos(state, list) {
  const len = state.doc.length;
  const items = [];
  for (const p of list) {
    for (const [a, b] of p.sel) {
      const [from, to] = clampRange(len, Math.min(a, b), Math.max(a, b));
      if (from < to) {
        items.push({ from, to, deco: Decoration.mark({ attributes: { style: `background:${p.color}40` } }) });
      }
    }
    if (p.cursor !== null) {
      const at = Math.max(0, Math.min(len, p.cursor));
      items.push({ from: at, to: at, deco: Decoration.widget({ widget: new CursorWidget(p.name, p.color), side: 1 }) });
    }
  }
  return Decoration.set(items.map((i) => i.deco.range(i.from, i.to)), true);
}

const presenceField = StateField.define({
  create: () => Decoration.none,
  update(v, tr) {
    v = v.map(tr.changes);
    for (const e of tr.effects) if (e.is(setPresence)) v = presenceDecos(tr.state, e.value);
    return v;
  },
  provide: (f) => EditorView.decorations.from(f),
});

const hlMark = Decoration.mark({ class: 'tt-hl' });
const highlightField = StateField.define({
  create: () => Decoration.none,
  update(v, tr) {
    v = v.map(tr.changes);
    for (const e of tr.effects) {
      if (!e.is(setHighlights)) continue;
      const len = tr.state.doc.length;
      const r = [];
      for (const h of e.value) {
        const [from, to] = clampRange(len, h.from, h.to);
        if (from < to) r.push(hlMark.range(from, to));
      }
      v = Decoration.set(r, true);
    }
    return v;
  },
  provide: (f) => EditorView.decorations.from(f),
});

const flashMark = Decoration.mark({ class: 'tt-flash' });
const flashField = StateField.define({
  create: () => Decoration.none,
  update(v, tr) {
    v = v.map(tr.changes);
    for (const e of tr.effects) {
      if (!e.is(setFlash)) continue;
      if (!e.value) {
        v = Decoration.none;
        continue;
      }
      const [from, to] = clampRange(tr.state.doc.length, e.value.from, e.value.to);
      v = from < to ? Decoration.set([flashMark.range(from, to)]) : Decoration.none;
    }
    return v;
  },
  provide: (f) => EditorView.decorations.from(f),
});

const errorField = StateField.define({
  create: () => Decoration.none,
  update(v, tr) {
    v = v.map(tr.changes);
    for (const e of tr.effects) {
      if (!e.is(setError)) continue;
      if (!e.value) {
        v = Decoration.none;
        continue;
      }
      const doc = tr.state.doc;
      const lineNo = Math.max(1, Math.min(doc.lines, e.value.line));
      const line = doc.line(lineNo);
      const at = Math.min(line.to, line.from + Math.max(0, e.value.col - 1));
      const b = new RangeSetBuilder();
      b.add(line.from, line.from, Decoration.line({ class: 'tt-error-line' }));
      if (at < line.to) b.add(at, Math.min(line.to, at + Math.max(1, e.value.len || 1)), Decoration.mark({ class: 'tt-error-at' }));
      b.add(line.to, line.to, Decoration.widget({ widget: new ErrorWidget(`${lineNo}:${e.value.col}: ${e.value.message}`), side: 1, block: true }));
      v = b.finish();
    }
    return v;
  },
  provide: (f) => EditorView.decorations.from(f),
});

/* Converts one CodeMirror ChangeSet (on a text of length len) to an ot op. */
export function changesToOp(changes, len) {
  const op = [];
  let pos = 0;
  changes.iterChanges((fromA, toA, fromB, toB, inserted) => {
    if (fromA > pos) op.push(fromA - pos);
    const s = inserted.toString();
    if (s) op.push(s);
    if (toA > fromA) op.push(-(toA - fromA));
    pos = toA;
  });
  if (len > pos) op.push(len - pos);
  return op;
}

/* The CodeMirror change specs of an ot op (positions in the old text). */
export function opToChanges(op) {
  const specs = [];
  let pos = 0;
  for (const c of op) {
    if (typeof c === 'string') {
      specs.push({ from: pos, insert: c });
    } else if (c > 0) {
      pos += c;
    } else {
      specs.push({ from: pos, to: pos - c });
      pos -= c;
    }
  }
  return specs;
}

/*
 * OtClient that also remembers each server revision's op as the server
 * applied it (ot.js does not keep them; invariant 3 needs them).
 */
class LoggingClient extends OtClient {
  constructor(options) {
    super(options);
    this.log = new Map();
  }

  remember(rev, op) {
    this.log.set(rev, op);
    this.log.delete(rev - LOG_KEEP);
  }

  onRemote(o) {
    if (o.rev === this.rev + 1) this.remember(o.rev, o.op);
    super.onRemote(o);
  }

  acknowledge(rev) {
    // Every remote op before rev was transformed into sent.op already, so
    // sent.op is our op exactly as the server applied it at rev.
    if (this.sent) this.remember(rev, this.sent.op);
    super.acknowledge(rev);
  }

  adoptSnapshot(msg) {
    // A snapshot starts a new history: nothing before it can be mapped.
    this.log.clear();
    super.adoptSnapshot(msg);
    this.log.clear();
  }

  /* Position p of the server text at rev carried to the local text, or null. */
  mapFrom(rev, p, stick) {
    if (rev > this.rev) return null;
    for (let r = rev + 1; r <= this.rev; r++) {
      const op = this.log.get(r);
      if (!op) return null;
      p = transformIndex(p, op, stick);
    }
    if (this.sent) p = transformIndex(p, this.sent.op, stick);
    if (this.buffer) p = transformIndex(p, this.buffer.op, stick);
    return p;
  }
}

/*
 * A document pane. options: {doc, name, conn, readOnly, parent, onEval(pane, kind),
 * onError(pane, msg)}. conn is a Conn (conn.js).
 */
export class DocView {
  constructor(options) {
    this.doc = options.doc;
    this.name = options.name;
    this.conn = options.conn;
    this.readOnly = !!options.readOnly;
    this.opts = options;
    this.presence = new Map();     // user -> {name, color, rev, cursor, selections}
    this.highlights = [];          // {from, to, until} local positions; until: stream frame
    this.idleWaiters = [];
    this.presenceDirty = false;
    this.presenceTimer = null;
    this.histPending = false;
    this.histFloor = -1;
    this.opened = false;
    this.client = new LoggingClient({
      doc: this.doc,
      send: (m) => this.conn.send(m),
      onOpen: (info) => this.onOpen(info),
      onRemote: (op) => this.applyRemote(op),
      onAck: () => this.onAck(),
      onResync: (info) => this.replaceAll(info.text),
      onError: (msg) => this.opts.onError && this.opts.onError(this, msg),
    });
    this.view = new EditorView({ state: this.makeState(''), parent: options.parent });
  }

  makeState(text) {
    const keys = [
      { key: 'Mod-Enter', run: () => (this.opts.onEval(this, 'block'), true) },
      { key: 'Shift-Enter', run: () => (this.opts.onEval(this, 'doc'), true) },
    ];
    return EditorState.create({
      doc: text,
      extensions: [
        EditorState.lineSeparator.of('\n'),
        lineNumbers(), highlightActiveLineGutter(), highlightActiveLine(), drawSelection(), dropCursor(),
        rectangularSelection(), bracketMatching(), indentOnInput(),
        history(),
        keymap.of([...(this.readOnly ? [] : keys), ...defaultKeymap, ...historyKeymap, indentWithTab]),
        javascript(),
        syntaxHighlighting(style),
        presenceField, highlightField, flashField, errorField,
        EditorState.readOnly.of(this.readOnly),
        EditorView.editable.of(!this.readOnly),
        EditorView.updateListener.of((u) => this.onUpdate(u)),
        EditorView.theme({}, { dark: true }),
      ],
    });
  }

  /* ---- the protocol side ---- */

  open() {
    this.client.open();
  }

  /* A connection came back (after hello and join): recover the document. */
  reconnected() {
    if (this.opened) this.client.reconnected();
    else this.client.open();
  }

  disconnected() {
    this.client.disconnected();
  }

  /* Feeds a server message; returns true when it was this document's. */
  receive(msg) {
    const id = typeof msg.id === 'string' ? msg.id : '';
    if (id === `hist:${this.doc}`) {
      this.fillHistory(msg);
      return true;
    }
    if (msg.type === 'presence' && msg.doc === this.doc) {
      this.remotePresence(msg);
      return true;
    }
    if (id.startsWith(`ot:${this.doc}:`) ||
        (msg.doc === this.doc && ['ops', 'doc.snapshot', 'doc.ops'].includes(msg.type) && !id)) {
      return this.client.receive(msg);
    }
    return false;
  }

  /*
   * A position at a revision older than the ops we hold (we opened the
   * document after it): ask the server for the ops since then (doc.open
   * with rev on an open document answers doc.ops and changes nothing else).
   */
  wantHistory(rev) {
    if (this.histPending || rev >= this.client.rev || rev < this.histFloor || !this.opened) return;
    this.histPending = true;
    this.conn.send({ type: 'doc.open', id: `hist:${this.doc}`, doc: this.doc, rev });
  }

  fillHistory(msg) {
    this.histPending = false;
    if (msg.type !== 'doc.ops') { // too old for the server too: stop asking
      this.histFloor = this.client.rev;
      return;
    }
    msg.ops.forEach((op, k) => {
      const rev = msg.from + 1 + k;
      if (rev <= this.client.rev && !this.client.log.has(rev)) this.client.log.set(rev, op);
    });
    this.refreshPresence();
  }

  onOpen(info) {
    this.opened = true;
    this.replaceAll(info.text);
    for (const p of info.presence) this.remotePresence({ ...p, rev: info.rev });
  }

  replaceAll(text) {
    this.view.dispatch({
      changes: { from: 0, to: this.view.state.doc.length, insert: text },
      annotations: [remoteEdit.of(true), Transaction.addToHistory.of(false)],
    });
    this.refreshPresence();
  }

  applyRemote(op) {
    this.view.dispatch({
      changes: opToChanges(op),
      annotations: [remoteEdit.of(true), Transaction.addToHistory.of(false), Transaction.remote.of(true)],
    });
    this.refreshPresence();
  }

  onAck() {
    if (this.client.idle()) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
      if (this.presenceDirty) this.sendPresence();
    }
  }

  /* Resolves once every local edit is stored (the server has our text). */
  whenIdle() {
    if (this.client.idle()) return Promise.resolve();
    return new Promise((res) => this.idleWaiters.push(res));
  }

  onUpdate(u) {
    for (const tr of u.transactions) {
      if (!tr.docChanged) continue;
      this.mapLocal(tr.changes);
      if (tr.annotation(remoteEdit) || !this.opened) continue; // before the snapshot: it replaces all
      this.client.edit(changesToOp(tr.changes, tr.startState.doc.length));
    }
    if ((u.selectionSet || u.docChanged) && !this.readOnly && this.opened) this.schedulePresence();
  }

  schedulePresence() {
    this.presenceDirty = true;
    if (this.presenceTimer !== null) return;
    this.presenceTimer = setTimeout(() => {
      this.presenceTimer = null;
      if (this.client.idle()) this.sendPresence();
    }, 40);
  }

  /* Positions are read by the server in its current text: send them only
   * when it has all our edits (else after the ack, see onAck). */
  sendPresence() {
    this.presenceDirty = false;
    const sel = this.view.state.selection;
    this.conn.send({
      type: 'presence',
      doc: this.doc,
      cursor: sel.main.head,
      selections: sel.ranges.filter((r) => !r.empty).map((r) => [r.from, r.to]),
    });
  }

  remotePresence(msg) {
    if (msg.user === this.conn.user) return;
    if (msg.cursor === null || msg.cursor === undefined) this.presence.delete(msg.user);
    else this.presence.set(msg.user, { ...msg, local: null });
    this.refreshPresence();
  }

  dropMember(user) {
    if (this.presence.delete(user)) this.refreshPresence();
  }

  /* Maps each remote cursor to the local text once its revision is here. */
  refreshPresence() {
    const list = [];
    for (const p of this.presence.values()) {
      if (p.local === null) {
        const c = this.client.mapFrom(p.rev, p.cursor, false);
        if (c === null) { // ops on their way (retried after the next), or older than ours
          this.wantHistory(p.rev);
          continue;
        }
        const sel = (p.selections || []).map(([a, b]) => [this.client.mapFrom(p.rev, a, false), this.client.mapFrom(p.rev, b, false)]);
        p.local = { cursor: c, sel: sel.filter(([a, b]) => a !== null && b !== null) };
      }
      list.push({ user: p.user, name: p.name, color: p.color, cursor: p.local.cursor, sel: p.local.sel });
    }
    this.view.dispatch({ effects: setPresence.of(list) });
  }

  /* Carries the local positions we hold through a change of the editor. */
  mapLocal(changes) {
    const m = (p, assoc) => changes.mapPos(p, assoc);
    for (const p of this.presence.values()) {
      if (!p.local) continue;
      p.local.cursor = m(p.local.cursor, -1);
      p.local.sel = p.local.sel.map(([a, b]) => [m(a, 1), m(b, -1)]);
    }
    for (const h of this.highlights) {
      h.from = m(h.from, 1);
      h.to = m(h.to, -1);
    }
  }

  /* ---- evaluation, errors, highlights ---- */

  /* Range [from, to) of the server text at rev, in local positions, or null. */
  mapRange(rev, from, to) {
    const a = this.client.mapFrom(rev, from, true);
    const b = this.client.mapFrom(rev, to, false);
    if (a === null || b === null) return null;
    return [a, Math.max(a, b)];
  }

  flash(rev, range) {
    const r = this.mapRange(rev, range[0], range[1]);
    if (!r) this.wantHistory(rev);
    if (!r) return;
    this.view.dispatch({ effects: setFlash.of({ from: r[0], to: r[1] }) });
    clearTimeout(this.flashTimer);
    this.flashTimer = setTimeout(() => this.view.dispatch({ effects: setFlash.of(null) }), 600);
  }

  showError(err) {
    this.view.dispatch({ effects: setError.of(err) });
  }

  clearError() {
    this.view.dispatch({ effects: setError.of(null) });
  }

  /* An annotation event reached its frame: light up its range until `until`. */
  light(ev, until) {
    const r = this.mapRange(ev.rev, ev.range[0], ev.range[1]);
    if (!r) this.wantHistory(ev.rev);
    if (!r || r[0] === r[1]) return;
    this.highlights.push({ from: r[0], to: r[1], until });
    this.highlightsChanged = true;
  }

  /* Drops highlights that ended before frame and redraws when needed. */
  tick(frame) {
    const keep = this.highlights.filter((h) => h.until > frame);
    if (keep.length !== this.highlights.length || this.highlightsChanged) {
      this.highlights = keep;
      this.highlightsChanged = false;
      this.view.dispatch({ effects: setHighlights.of(keep) });
    }
  }

  /* The number of ranges lit now (for tests and the status line). */
  litCount() {
    return this.highlights.length;
  }

  text() {
    return this.view.state.doc.toString();
  }

  destroy() {
    this.view.destroy();
  }
}
