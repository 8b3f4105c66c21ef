/*
 * history.js: the history page, /history.html?session=ID[&t=TOKEN].
 *
 * A past (or running) session on one axis of session time: its runs as
 * spans, its evaluations as marks coloured by performer, tempo changes and
 * hush/mute/solo, edit activity per performer as density, chat. Clicking or
 * dragging on the timeline moves to a moment T: every document's editor
 * (read-only CodeMirror) shows its text at T, and "play" plays the replay
 * of the session from T (<audio src=/api/sessions/ID/render.ogg?from=T>)
 * with its tokens lit in time (the replay's annotations through
 * highlight.js, as the performer page lights the live ones).
 *
 * Session time: frame f of run R is at session frame R.start_frame + f,
 * seconds = that / 48000. Edits and chat carry only a wall-clock time; they
 * are placed through the run they happened in (started_ms), and a moment T
 * is asked of the text route as the wall-clock time it had in its run.
 *
 * Invariants:
 *  1. The page only reads: it opens no WebSocket and sends no op.
 *  2. A performer keeps one colour on the whole page: the server's palette
 *     in order of first appearance (colours chosen in hello are not stored
 *     with the history).
 *  3. While audio plays, the moment shown is start + audio.currentTime,
 *     and a highlight names a revision: the document's editor switches to
 *     that revision's text before lighting it.
 */
import { EditorState, StateEffect, StateField } from '@codemirror/state';
import { EditorView, Decoration, lineNumbers } from '@codemirror/view';
import { javascript } from '@codemirror/lang-javascript';
import { syntaxHighlighting, defaultHighlightStyle } from '@codemirror/language';
import { Highlighter } from './highlight.js';

const RATE = 48000;
const PALETTE = ['#e6194b', '#3cb44b', '#ffe119', '#4363d8', '#f58231', '#911eb4', '#46f0f0', '#f032e6', '#bcf60c', '#fabebe'];
const ANNO_CHUNK_S = 15; // replay annotations are fetched this far ahead
const EDIT_BUCKET_S = 10; // the timeline's edit buckets (server/history.c)

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const sessionId = params.get('session') || params.get('s');
const tokenKey = `tutti.token.${sessionId}`;
const token = params.get('t') || localStorage.getItem(tokenKey);
const sid = encodeURIComponent(sessionId || '');

/* url with the token as ?t= (what <audio> and <a download> can carry). */
function withToken(url) {
  if (!token) return url;
  return `${url}${url.includes('?') ? '&' : '?'}t=${encodeURIComponent(token)}`;
}

async function getJson(url) {
  const r = await fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error ? data.error.message : `${r.status} ${r.statusText}`);
  return data;
}

const state = {
  tl: null,
  runs: [],
  duration: 1,
  T: 0,                  // the moment shown, in seconds of session time
  colors: new Map(),     // author -> colour
  panes: new Map(),      // doc id -> HistPane
  playing: false,
  playFrom: 0,
  annoTo: 0,             // annotations fetched up to here (session seconds)
  annoBusy: false,
  audioError: null,
  loads: 0,              // text loads in flight (tests wait for 0)
};
const hl = new Highlighter((doc) => state.panes.get(doc) || null);

/* ---- session time ---- */

function runById(id) {
  return state.runs.find((r) => r.id === id) || null;
}

/* Seconds of session time of frame `frame` of run `run` (0: unknown run). */
function sessionSeconds(run, frame) {
  const r = runById(run);
  return ((r ? r.start_frame : 0) + frame) / RATE;
}

/* A wall-clock time (ms) placed on the session's clock through its run. */
function secondsOfMs(ms) {
  let r = null;
  for (const x of state.runs) if (x.started_ms <= ms) r = x;
  if (!r) r = state.runs[0];
  if (!r) return 0;
  const f = Math.max(0, Math.min(r.last_frame, ((ms - r.started_ms) * RATE) / 1000));
  return (r.start_frame + f) / RATE;
}

/* The wall-clock time (ms) a moment of session time had in its run. */
function msOfSeconds(T) {
  const F = T * RATE;
  let r = null;
  for (const x of state.runs) if (x.start_frame <= F) r = x;
  if (!r) r = state.runs[0];
  if (!r) return Date.now();
  const f = Math.max(0, Math.min(r.last_frame, F - r.start_frame));
  return Math.floor(r.started_ms + (f * 1000) / RATE);
}

function colorOf(author) {
  if (!state.colors.has(author)) state.colors.set(author, PALETTE[state.colors.size % PALETTE.length]);
  return state.colors.get(author);
}

function fmt(s) {
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(1).padStart(4, '0')}`;
}

/* ---- a read-only document pane ---- */

const setLit = StateEffect.define();
const litMark = Decoration.mark({ class: 'tt-hl' });
const litField = StateField.define({
  create: () => Decoration.none,
  update(v, tr) {
    v = v.map(tr.changes);
    for (const e of tr.effects) {
      if (!e.is(setLit)) continue;
      const len = tr.state.doc.length;
      const ranges = e.value.map((h) => [Math.min(h.from, len), Math.min(h.to, len)]).filter(([a, b]) => a < b);
      v = Decoration.set(ranges.map(([a, b]) => litMark.range(a, b)), true);
    }
    return v;
  },
  provide: (f) => EditorView.decorations.from(f),
});

class HistPane {
  constructor(doc, name, parent) {
    this.doc = doc;
    this.name = name;
    this.rev = -1;
    this.highlights = [];
    this.wanted = null;   // a revision being loaded
    this.el = document.createElement('section');
    this.el.className = 'pane';
    this.el.dataset.doc = String(doc);
    const head = document.createElement('header');
    const title = document.createElement('span');
    title.className = 'doc-name';
    title.textContent = name;
    this.revEl = document.createElement('span');
    this.revEl.className = 'small rev';
    head.append(title, this.revEl);
    const ed = document.createElement('div');
    ed.className = 'editor';
    this.el.append(head, ed);
    parent.append(this.el);
    this.view = new EditorView({
      parent: ed,
      state: EditorState.create({
        doc: '',
        extensions: [
          EditorState.lineSeparator.of('\n'), lineNumbers(), javascript(),
          syntaxHighlighting(defaultHighlightStyle), litField,
          EditorState.readOnly.of(true), EditorView.editable.of(false),
          EditorView.theme({}, { dark: true }),
        ],
      }),
    });
  }

  show(text, rev) {
    if (rev !== this.rev || text !== this.text()) {
      this.view.dispatch({ changes: { from: 0, to: this.view.state.doc.length, insert: text } });
      this.highlights = [];
      this.view.dispatch({ effects: setLit.of([]) });
    }
    this.rev = rev;
    this.revEl.textContent = `revision ${rev}`;
  }

  async load(query) {
    state.loads++;
    try {
      const r = await getJson(`/api/docs/${this.doc}/text?${query}`);
      this.show(r.text, r.rev);
    } catch (e) {
      this.revEl.textContent = e.message;
    } finally {
      state.loads--;
    }
  }

  /* highlight.js: an event reached its frame. It names a revision; the
   * pane shows that revision's text first (invariant 3). */
  light(ev, until) {
    if (ev.rev !== this.rev) {
      if (this.wanted !== ev.rev) {
        this.wanted = ev.rev;
        this.load(`rev=${ev.rev}`).then(() => { this.wanted = null; });
      }
      return;
    }
    this.highlights.push({ from: ev.range[0], to: ev.range[1], until });
    this.changed = true;
  }

  tick(frame) {
    const keep = this.highlights.filter((h) => h.until > frame);
    if (keep.length !== this.highlights.length || this.changed) {
      this.highlights = keep;
      this.changed = false;
      this.view.dispatch({ effects: setLit.of(keep) });
    }
  }

  litCount() {
    return this.highlights.length;
  }

  text() {
    return this.view.state.doc.toString();
  }
}

/* ---- the timeline (SVG) ---- */

const SVGNS = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, title, text) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  if (title) {
    const t = document.createElementNS(SVGNS, 'title');
    t.textContent = title;
    e.append(t);
  }
  return e;
}

const ROW = { runs: 4, evals: 20, marks: 52, edits: 70, editH: 10 };

function drawTimeline() {
  const el = $('timeline');
  const tl = state.tl;
  const W = Math.max(300, el.clientWidth || 900);
  const authors = [...state.colors.keys()];
  const H = ROW.edits + authors.length * (ROW.editH + 2) + 22;
  const x = (s) => (s / state.duration) * W;
  el.setAttribute('viewBox', `0 0 ${W} ${H}`);
  el.setAttribute('height', H);
  el.replaceChildren();
  state.width = W;
  for (let s = 0; s <= state.duration; s += tickStep(state.duration)) {
    el.append(svg('line', { x1: x(s), x2: x(s), y1: 0, y2: H, class: 'grid' }));
    el.append(svg('text', { x: x(s) + 2, y: H - 4, class: 'tick' }, null, fmt(s)));
  }
  for (const r of state.runs) {
    el.append(svg('rect', { x: x(r.start_frame / RATE), y: ROW.runs, height: 10, class: 'run',
      width: Math.max(1, x(r.last_frame / RATE)) }, `run ${r.id}: ${fmt(r.start_frame / RATE)} for ${(r.last_frame / RATE).toFixed(1)} s`));
  }
  for (const ev of tl.evaluations) {
    const s = ev.ok ? sessionSeconds(ev.run, ev.landing.frame) : secondsOfMs(ev.time);
    const c = colorOf(ev.author);
    const name = (state.docNames.get(ev.doc) || `doc ${ev.doc}`);
    const mark = svg('rect', { x: x(s) - 1.5, y: ROW.evals, width: 3, height: 26,
      class: ev.ok ? 'ev' : 'ev failed', fill: ev.ok ? c : 'none', stroke: c },
    `${fmt(s)} ${ev.author} evaluated ${name} r${ev.rev}${ev.ok ? '' : `: ${ev.error}`}`);
    Object.assign(mark.dataset, { author: ev.author, color: c, t: s.toFixed(3), doc: ev.doc, ok: ev.ok });
    el.append(mark);
  }
  for (const tp of tl.tempo) {
    const s = sessionSeconds(tp.run, tp.frame);
    el.append(svg('path', { d: `M${x(s)} ${ROW.marks} l4 8 l-8 0 z`, class: 'tempo', fill: colorOf(tp.author) },
      `${fmt(s)} ${tp.author}: tempo ${tp.cps} cps`));
  }
  for (const c of tl.controls || []) {
    const s = sessionSeconds(c.run, c.frame);
    el.append(svg('rect', { x: x(s) - 3, y: ROW.marks + 1, width: 6, height: 6, class: `control ${c.kind}`,
      fill: colorOf(c.author) }, `${fmt(s)} ${c.author}: ${c.kind}${c.track ? ` ${c.track}` : ''} ${c.on ? 'on' : 'off'}`));
  }
  for (const m of tl.chat) {
    const s = secondsOfMs(m.time);
    el.append(svg('circle', { cx: x(s), cy: ROW.marks + 4, r: 3, class: 'chat', fill: colorOf(m.name) },
      `${fmt(s)} ${m.name}: ${m.text}`));
  }
  const most = Math.max(1, ...tl.edits.map((e) => e.ops));
  authors.forEach((a, i) => {
    const y = ROW.edits + i * (ROW.editH + 2);
    el.append(svg('text', { x: 2, y: y + ROW.editH - 1, class: 'who' }, null, a));
    for (const e of tl.edits.filter((k) => k.author === a)) {
      const s0 = secondsOfMs(e.from);
      const s1 = secondsOfMs(e.from + EDIT_BUCKET_S * 1000);
      const r = svg('rect', { x: x(s0), y, width: Math.max(2, x(s1) - x(s0)), height: ROW.editH, class: 'edit',
        fill: colorOf(a), 'fill-opacity': (0.25 + 0.75 * (e.ops / most)).toFixed(2) },
      `${a}: ${e.ops} edits to ${state.docNames.get(e.doc) || e.doc}`);
      r.dataset.author = a;
      el.append(r);
    }
  });
  const span = svg('rect', { id: 'span', y: 0, height: H, class: 'span', x: 0, width: 0 });
  el.append(span, svg('line', { id: 'playhead', x1: 0, x2: 0, y1: 0, y2: H, class: 'playhead' }));
  drawPlayhead();
  drawLegend();
}

function tickStep(d) {
  for (const s of [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800]) if (d / s <= 12) return s;
  return 3600;
}

function drawPlayhead() {
  const el = $('timeline');
  const ph = el.querySelector('#playhead');
  if (!ph) return;
  const x = (state.T / state.duration) * state.width;
  ph.setAttribute('x1', x);
  ph.setAttribute('x2', x);
  $('clock').textContent = fmt(state.T);
  const from = Number($('span-from').value) || 0;
  const to = Number($('span-to').value) || state.duration;
  const sp = el.querySelector('#span');
  sp.setAttribute('x', (from / state.duration) * state.width);
  sp.setAttribute('width', Math.max(0, ((to - from) / state.duration) * state.width));
}

function drawLegend() {
  const lg = $('legend');
  lg.replaceChildren();
  for (const [a, c] of state.colors) {
    const s = document.createElement('span');
    s.className = 'who';
    s.innerHTML = '<span class="dot"></span>';
    s.firstChild.style.background = c;
    s.append(` ${a}`);
    lg.append(s);
  }
}

/* ---- moving to a moment ---- */

function secondsAt(ev) {
  const r = $('timeline').getBoundingClientRect();
  return Math.max(0, Math.min(state.duration, ((ev.clientX - r.left) / r.width) * state.duration));
}

/* Shows every document as it was at T (seconds of session time). */
async function seek(T, { restartAudio = true } = {}) {
  state.T = Math.max(0, Math.min(state.duration, T));
  $('span-from').value = state.T.toFixed(1);
  drawPlayhead();
  updateLinks();
  const ms = msOfSeconds(state.T);
  await Promise.all([...state.panes.values()].map((p) => p.load(`time=${ms}`)));
  if (restartAudio && state.playing) play();
}

function wireScrubber() {
  const el = $('timeline');
  let dragging = false;
  el.addEventListener('pointerdown', (ev) => {
    if (ev.shiftKey) {
      $('span-to').value = secondsAt(ev).toFixed(1);
      drawPlayhead();
      updateLinks();
      return;
    }
    dragging = true;
    el.setPointerCapture(ev.pointerId);
    state.T = secondsAt(ev);
    drawPlayhead();
  });
  el.addEventListener('pointermove', (ev) => {
    if (!dragging) return;
    state.T = secondsAt(ev);
    drawPlayhead();
  });
  el.addEventListener('pointerup', (ev) => {
    if (!dragging) return;
    dragging = false;
    seek(secondsAt(ev));
  });
  el.addEventListener('keydown', (ev) => {
    const step = ev.shiftKey ? 10 : 1;
    if (ev.key === 'ArrowRight') seek(state.T + step);
    else if (ev.key === 'ArrowLeft') seek(state.T - step);
    else if (ev.key === ' ') (state.playing ? stop() : play());
    else return;
    ev.preventDefault();
  });
}

/* ---- the replayed sound and its highlights ---- */

function play() {
  const a = $('audio');
  state.playing = true;
  state.playFrom = state.T;
  state.annoTo = state.T;
  state.audioError = null;
  hl.queue = [];
  a.src = withToken(`/api/sessions/${sid}/render.ogg?from=${state.T.toFixed(3)}`);
  a.play().catch((e) => { state.audioError = e.message; status(`audio: ${e.message}`, 'err'); });
  $('play').textContent = '■ stop';
  status(`playing the replay from ${fmt(state.T)}`);
  moreAnnotations();
}

function stop() {
  state.playing = false;
  $('audio').pause();
  $('play').textContent = '▶ play from here';
  status('stopped');
}

async function moreAnnotations() {
  if (state.annoBusy || state.annoTo >= state.duration) return;
  state.annoBusy = true;
  const from = state.annoTo;
  const to = Math.min(state.duration, from + ANNO_CHUNK_S);
  try {
    const r = await getJson(withToken(`/api/sessions/${sid}/replay/annotations?from=${from.toFixed(3)}&to=${to.toFixed(3)}`));
    if (state.playing && from === state.annoTo) {
      for (const a of r.annotations) {
        hl.push({ frame: Math.round(a.t * RATE), events: [{ doc: a.doc, rev: a.rev, range: [a.start, a.end], dur: a.dur }] });
      }
      state.annoTo = to;
    }
  } catch (e) {
    status(`annotations: ${e.message}`, 'err');
    state.annoTo = state.duration; // do not ask again and again
  } finally {
    state.annoBusy = false;
  }
}

function frameLoop() {
  const a = $('audio');
  if (state.playing && !a.paused && a.currentTime > 0) {
    state.T = Math.min(state.duration, state.playFrom + a.currentTime);
    drawPlayhead();
    if (state.T + ANNO_CHUNK_S / 2 > state.annoTo) moreAnnotations();
    hl.tick(Math.round(state.T * RATE), state.panes.values());
  } else {
    hl.tick(null, state.panes.values());
  }
  requestAnimationFrame(frameLoop);
}

/* ---- downloads ---- */

function link(text, href) {
  const li = document.createElement('li');
  const a = document.createElement('a');
  a.textContent = text;
  a.href = href;
  a.setAttribute('download', '');
  li.append(a);
  return li;
}

function updateLinks() {
  const base = `/api/sessions/${sid}`;
  const from = Number($('span-from').value) || 0;
  const toV = $('span-to').value;
  const span = `from=${from}${toV ? `&to=${Number(toV)}` : ''}`;
  $('downloads').replaceChildren(
    link('whole session, WAV', withToken(`${base}/render.wav`)),
    link('whole session, Ogg Opus', withToken(`${base}/render.ogg`)),
    link(`span ${fmt(from)}–${toV ? fmt(Number(toV)) : 'end'}, WAV`, withToken(`${base}/render.wav?${span}`)),
    link(`span ${fmt(from)}–${toV ? fmt(Number(toV)) : 'end'}, Ogg Opus`, withToken(`${base}/render.ogg?${span}`)),
  );
  const stems = [];
  for (const name of new Set(state.docNames.values())) {
    stems.push(link(`document ${name} (WAV)`, withToken(`${base}/render.wav?stem=${encodeURIComponent(`doc:${name}`)}`)));
  }
  for (const a of state.colors.keys()) {
    stems.push(link(`performer ${a} (WAV)`, withToken(`${base}/render.wav?stem=${encodeURIComponent(`author:${a}`)}`)));
  }
  $('stems').replaceChildren(...stems);
}

/* ---- start ---- */

function status(text, cls) {
  $('status').textContent = text;
  $('status').className = cls || '';
}

async function load() {
  if (!sessionId) {
    status('no session: open /history.html?session=ID', 'err');
    return;
  }
  const [sess, tl] = await Promise.all([getJson(`/api/sessions/${sid}`), getJson(withToken(`/api/sessions/${sid}/timeline`))]);
  document.title = `tutti · history · ${sess.name}`;
  $('session-name').textContent = sess.name;
  state.tl = tl;
  state.runs = (tl.runs || []).slice().sort((a, b) => a.start_frame - b.start_frame);
  state.docNames = new Map((tl.documents || []).map((d) => [d.id, d.name]));
  let end = 0;
  for (const r of state.runs) end = Math.max(end, (r.start_frame + r.last_frame) / RATE);
  for (const ev of tl.evaluations) if (ev.ok) end = Math.max(end, sessionSeconds(ev.run, ev.landing.frame));
  state.duration = Math.max(1, end);
  // Colours in order of first appearance (invariant 2).
  const seen = [...tl.evaluations.map((e) => [e.time, e.author]), ...tl.edits.map((e) => [e.from, e.author]),
    ...tl.tempo.map((e) => [e.time, e.author]), ...tl.chat.map((e) => [e.time, e.name])];
  seen.sort((a, b) => a[0] - b[0]);
  for (const [, a] of seen) colorOf(a);
  for (const [id, name] of state.docNames) state.panes.set(id, new HistPane(id, name, $('panes')));
  $('export').href = withToken(`/api/sessions/${sid}/export`);
  $('perform-link').href = `/perform.html?s=${sid}${token ? `&t=${encodeURIComponent(token)}` : ''}`;
  $('listen-link').href = withToken(`/listen.html?s=${sid}`);
  for (const m of tl.chat) {
    const li = document.createElement('li');
    li.innerHTML = '<b></b> <span></span>';
    li.firstChild.textContent = m.name;
    li.firstChild.style.color = colorOf(m.name);
    li.lastChild.textContent = m.text;
    li.title = fmt(secondsOfMs(m.time));
    li.addEventListener('click', () => seek(secondsOfMs(m.time)));
    $('chat').append(li);
  }
  drawTimeline();
  wireScrubber();
  window.addEventListener('resize', drawTimeline);
  $('span-from').addEventListener('input', () => { drawPlayhead(); updateLinks(); });
  $('span-to').addEventListener('input', () => { drawPlayhead(); updateLinks(); });
  $('play').addEventListener('click', () => (state.playing ? stop() : play()));
  const a = $('audio');
  a.addEventListener('error', () => {
    state.audioError = a.error ? `code ${a.error.code} ${a.error.message || ''}` : 'error';
    status(`the replay could not play (${state.audioError})`, 'err');
  });
  a.addEventListener('ended', stop);
  status(`${tl.evaluations.length} evaluations, ${state.runs.length} runs, ${fmt(state.duration)} long`);
  await seek(Number(params.get('at')) || 0, { restartAudio: false });
  requestAnimationFrame(frameLoop);
  state.ready = true;
}

/* For the tests and the curious. */
window.tutti = { state, hl, seek, play, stop, msOfSeconds, secondsOfMs };
load().catch((e) => status(e.message, 'err'));
