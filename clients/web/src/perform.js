/*
 * perform.js: the performer page, /perform.html?s=SESSION.
 *
 * Join with a name and colour; every document of the session opens in its
 * own editor pane (docview.js); the WebSocket's audio plays through
 * audio.js and its playout frame drives the highlights (highlight.js), the
 * evaluation countdowns and the flashes.
 *
 * Invariants:
 *  1. One Conn, one DocView per document, one Player; after a reconnect
 *     the same DocViews recover through ot.js (no edit lost or doubled).
 *  2. An evaluation is sent only when its document has no unacknowledged
 *     edit (DocView.whenIdle), so `rev` and `at` name the text the
 *     performer sees, which the server has too.
 *  3. Every `eval` broadcast flashes the evaluated range in every page
 *     (ours included) once, keyed by its evaluation id.
 */
import { Conn } from './conn.js';
import { DocView } from './docview.js';
import { Player, WsOpus, ElementAudio, Meters, hasWebCodecsOpus, wasmOpusDecoder, RATE } from './audio.js';
import { Highlighter } from './highlight.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const sessionId = params.get('s');
// The invite (a role in this session) comes in the link as ?t=TOKEN and is
// kept for this browser, so a reload or a bare ?s= link still performs.
const tokenKey = `tutti.token.${sessionId}`;
const token = params.get('t') || localStorage.getItem(tokenKey);
if (params.get('t')) localStorage.setItem(tokenKey, params.get('t'));
const withToken = (url) => (token ? `${url}?t=${encodeURIComponent(token)}` : url);

const PALETTE = ['#e6194b', '#3cb44b', '#ffe119', '#4363d8', '#f58231', '#911eb4', '#46f0f0', '#f032e6', '#bcf60c', '#fabebe'];

const state = {
  conn: null,
  panes: new Map(),      // doc id -> {view: DocView, el, countdown}
  members: new Map(),    // user -> {user, name, color}
  player: null,
  ws: null,              // WsOpus
  wasm: null,            // the WebAssembly Opus decoder, when WebCodecs has none
  meters: null,
  audioOk: false,
  evals: new Map(),      // eval id -> {landing, doc, name}
  flashed: new Set(),
  tracks: new Set(),
  muted: new Set(),
  soloed: new Set(),
  hushed: false,
  echoSent: 0,
  rttMs: null,
};
const hl = new Highlighter((doc) => (state.panes.get(doc) || {}).view || null);

/* For the tests and the curious: the page's state. */
window.tutti = { state, hl };

function status(text, cls) {
  const el = $('status');
  el.textContent = text;
  el.className = cls || '';
}

function logLine(text, cls) {
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
  if (cls) li.className = cls;
  const ul = $('log');
  ul.prepend(li);
  while (ul.children.length > 50) ul.lastChild.remove();
}

/* ---- joining ---- */

function setupJoinForm() {
  const name = localStorage.getItem('tutti.name') || '';
  const color = localStorage.getItem('tutti.color') || PALETTE[Math.floor(Math.random() * PALETTE.length)];
  $('join-name').value = name;
  $('join-color').value = color;
  $('join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const n = $('join-name').value.trim();
    const c = $('join-color').value;
    localStorage.setItem('tutti.name', n);
    localStorage.setItem('tutti.color', c);
    $('join').hidden = true;
    start(n, c);
  });
}

async function start(name, color) {
  // The click is the user gesture that lets audio start.
  try {
    state.player = new Player();
    await state.player.resume();
    state.meters = new Meters(state.player.analyser, $('scope'), $('level'));
    // ?decoder=wasm forces the WebAssembly decoder (how the tests reach it
    // in a browser that has WebCodecs).
    state.audioOk = params.get('decoder') !== 'wasm' && await hasWebCodecsOpus();
    if (!state.audioOk) {
      try {
        state.wasm = await wasmOpusDecoder();
        state.audioOk = true;
      } catch (e) {
        logLine(`no WebAssembly Opus decoder: ${e.message}`, 'err');
      }
    }
  } catch (e) {
    logLine(`audio unavailable: ${e.message}`, 'err');
  }
  if (state.player && !state.audioOk) {
    // Neither WebCodecs Opus nor WebAssembly: the browser plays the Ogg
    // stream (higher latency).
    try {
      state.element = new ElementAudio(state.player, withToken(`/s/${encodeURIComponent(sessionId)}/live.ogg`));
      state.element.start().catch((e) => logLine(`audio: ${e.message}`, 'err'));
      $('audio-info').textContent = 'Ogg Opus stream played by the browser (no WebCodecs Opus here): higher latency';
    } catch (e) {
      logLine(`audio unavailable: ${e.message}`, 'err');
    }
  }
  const hello = { color };
  if (name) hello.name = name;
  state.conn = new Conn({
    hello,
    onReady: onReady,
    onMessage: onMessage,
    onFail: (e) => status(e.code === 'not_found' ? 'there is no such session' : `could not join: ${e.message}`, 'err'),
    onBinary: onBinary,
    onState: (s) => {
      if (s === 'closed') {
        status('connection lost, reconnecting…', 'err');
        for (const p of state.panes.values()) p.view.disconnected();
      }
    },
  });
  state.conn.connect();
  requestAnimationFrame(frameLoop);
  setInterval(sendEcho, 2000);
}

async function onReady(conn, hello) {
  status('joining…');
  const j = await conn.request(token ? { type: 'join', session: sessionId, token } : { type: 'join', session: sessionId });
  $('session-name').textContent = j.session.name;
  document.title = `${j.session.name} · tutti`;
  state.members.clear();
  for (const m of j.members) state.members.set(m.user, m);
  renderMembers();
  $('chat').replaceChildren();
  for (const c of j.chat || []) addChat(c);
  if (typeof j.cps === 'number') showTempo(j.cps);
  status(j.role === 'listener'
    ? 'read-only: you are listening (open an invite link to perform)'
    : `connected as ${hello.name} (${j.role})`, j.role === 'listener' ? 'err' : 'ok');
  const list = await conn.request({ type: 'doc.list' });
  if (list.docs.length === 0 && state.panes.size === 0) {
    try {
      await conn.request({ type: 'doc.create', name: 'main' });
    } catch (e) {
      if (e.code !== 'name_taken') throw e;
    }
    const again = await conn.request({ type: 'doc.list' });
    list.docs = again.docs;
  }
  for (const d of list.docs) {
    if (state.panes.has(d.id)) state.panes.get(d.id).view.reconnected();
    else addPane(d.id, d.name).view.open();
  }
  if (state.player && state.audioOk) {
    const a = await conn.request({ type: 'audio', on: true });
    if (state.ws) state.ws.close();
    state.player.reset();
    if (state.ws && state.wasm) state.wasm = await wasmOpusDecoder(); // close() freed it
    state.ws = new WsOpus(state.player, a.pre_skip, state.wasm || null);
    $('audio-info').textContent = `Opus ${a.rate / 1000} kHz, ${a.channels} ch, ${a.frame_ms} ms packets, ${state.ws.kind}`;
  }
}

/* ---- panes ---- */

function addPane(doc, name) {
  const el = document.createElement('section');
  el.className = 'pane';
  el.dataset.doc = doc;
  const head = document.createElement('header');
  const title = document.createElement('span');
  title.className = 'doc-name';
  title.textContent = name;
  const countdown = document.createElement('span');
  countdown.className = 'countdown';
  const run = document.createElement('button');
  run.textContent = '▶ eval';
  run.title = 'Evaluate the document (Shift-Enter); Ctrl/Cmd-Enter evaluates the block';
  head.append(title, countdown, run);
  const body = document.createElement('div');
  body.className = 'editor';
  el.append(head, body);
  $('panes').append(el);
  const view = new DocView({
    doc, name, conn: state.conn, parent: body,
    onEval: (pane, kind) => evaluate(pane, kind),
    onError: (pane, msg) => logLine(`${pane.name}: ${msg.error ? msg.error.message : 'error'}`, 'err'),
  });
  run.addEventListener('click', () => evaluate(view, 'doc'));
  const pane = { view, el, countdown, title };
  state.panes.set(doc, pane);
  return pane;
}

function removePane(doc) {
  const p = state.panes.get(doc);
  if (!p) return;
  p.view.destroy();
  p.el.remove();
  state.panes.delete(doc);
}

/* ---- evaluation ---- */

async function evaluate(view, kind) {
  await view.whenIdle();
  const msg = { type: 'eval', doc: view.doc, rev: view.client.rev };
  if (kind === 'block') msg.at = view.view.state.selection.main.head;
  try {
    const r = await state.conn.request(msg);
    if (r.ok) {
      view.clearError();
    } else {
      view.showError(r.error);
      logLine(`${view.name} ${r.error.line}:${r.error.col}: ${r.error.message}`, 'err');
    }
  } catch (e) {
    logLine(`eval: ${e.message}`, 'err');
  }
}

function onEvalBroadcast(m) {
  if (state.flashed.has(m.eval)) return;
  state.flashed.add(m.eval);
  const pane = state.panes.get(m.doc);
  if (pane) {
    pane.view.flash(m.rev, m.range);
    pane.el.classList.remove('flash');
    void pane.el.offsetWidth; // restart the CSS animation
    pane.el.classList.add('flash');
  }
  state.evals.set(m.eval, { landing: m.landing, doc: m.doc, name: m.name });
  for (const t of m.tracks || []) state.tracks.add(t);
  renderTracks();
  logLine(`${m.name} evaluated ${pane ? pane.view.name : `doc ${m.doc}`} (${m.what}); lands at cycle ${m.landing.cycle}`);
}

/* The countdown of each document to its newest evaluation's landing. */
function renderCountdowns(frame) {
  const nearest = new Map();
  for (const [id, e] of state.evals) {
    const ref = frame !== null ? frame : (state.player && state.player.liveFrame());
    if (ref === null || ref === undefined) continue;
    const left = (e.landing.frame - ref) / RATE;
    if (left < -1) {
      state.evals.delete(id);
      continue;
    }
    nearest.set(e.doc, { left, e });
  }
  for (const [doc, pane] of state.panes) {
    const n = nearest.get(doc);
    if (!n) {
      pane.countdown.textContent = '';
      pane.countdown.classList.remove('landed');
    } else if (n.left > 0) {
      pane.countdown.textContent = `${n.e.name}: lands in ${n.left.toFixed(1)} s`;
      pane.countdown.classList.remove('landed');
    } else {
      pane.countdown.textContent = `${n.e.name}: playing`;
      pane.countdown.classList.add('landed');
    }
  }
}

/* ---- tempo, hush, tracks ---- */

function showTempo(cps) {
  $('tempo-now').textContent = `${cps.toFixed(3).replace(/\.?0+$/, '')} cps · ${(cps * 60).toFixed(1).replace(/\.0$/, '')} cpm`;
}

async function setTempo(e) {
  e.preventDefault();
  const v = Number($('tempo-value').value);
  const unit = $('tempo-unit').value;
  if (!(v > 0)) return;
  try {
    await state.conn.request({ type: 'tempo', [unit]: v });
  } catch (err) {
    logLine(`tempo: ${err.message}`, 'err');
  }
}

/* Ctrl-. hushes; the button toggles. */
function hush(on = true) {
  state.conn.request({ type: 'hush', on }).catch((e) => logLine(`hush: ${e.message}`, 'err'));
}

function showHush(on) {
  state.hushed = on;
  $('hush').textContent = on ? 'unhush' : 'hush (Ctrl-.)';
  $('hush').classList.toggle('on', on);
}

function renderTracks() {
  const ul = $('tracks');
  ul.replaceChildren();
  for (const t of state.tracks) {
    const li = document.createElement('li');
    const label = document.createElement('span');
    label.textContent = t;
    const mute = document.createElement('button');
    mute.textContent = 'M';
    mute.title = 'mute';
    mute.classList.toggle('on', state.muted.has(t));
    mute.onclick = () => state.conn.request({ type: 'mute', track: t, on: !state.muted.has(t) }).catch((e) => logLine(e.message, 'err'));
    const solo = document.createElement('button');
    solo.textContent = 'S';
    solo.title = 'solo';
    solo.classList.toggle('on', state.soloed.has(t));
    solo.onclick = () => state.conn.request({ type: 'solo', track: t, on: !state.soloed.has(t) }).catch((e) => logLine(e.message, 'err'));
    li.append(mute, solo, label);
    ul.append(li);
  }
}

/* ---- members ---- */

function renderMembers() {
  const ul = $('members');
  ul.replaceChildren();
  for (const m of state.members.values()) {
    if (m.role === 'listener') continue; // counted among the listeners
    const li = document.createElement('li');
    const dot = document.createElement('span');
    dot.className = 'dot';
    dot.style.background = m.color;
    li.append(dot, document.createTextNode(m.name + (state.conn && m.user === state.conn.user ? ' (you)' : '')));
    ul.append(li);
  }
}

/* ---- chat: stored with the session, the last 50 come with join ---- */

function addChat(c) {
  const li = document.createElement('li');
  const who = document.createElement('b');
  who.textContent = `${c.name}: `;
  if (c.color) who.style.color = c.color;
  li.title = new Date(c.time).toLocaleString();
  li.append(who, document.createTextNode(c.text));
  const ul = $('chat');
  ul.append(li);
  while (ul.children.length > 200) ul.firstChild.remove();
  ul.scrollTop = ul.scrollHeight;
}

$('chat-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const text = $('chat-text').value.trim();
  if (!text || !state.conn) return;
  try {
    addChat(await state.conn.request({ type: 'chat', text }));
    $('chat-text').value = '';
  } catch (e) {
    logLine(`chat: ${e.message}`, 'err');
  }
});

/* ---- messages ---- */

function onMessage(m) {
  for (const p of state.panes.values()) if (p.view.receive(m)) return;
  switch (m.type) {
    case 'member.joined':
      state.members.set(m.member.user, m.member);
      renderMembers();
      logLine(`${m.member.name} joined`);
      break;
    case 'member.left':
      state.members.delete(m.member.user);
      for (const p of state.panes.values()) p.view.dropMember(m.member.user);
      renderMembers();
      logLine(`${m.member.name} left`);
      break;
    case 'doc.created':
      if (!state.panes.has(m.doc.id)) addPane(m.doc.id, m.doc.name).view.open();
      break;
    case 'doc.renamed': {
      const p = state.panes.get(m.doc);
      if (p) {
        p.view.name = m.name;
        p.title.textContent = m.name;
      }
      break;
    }
    case 'doc.deleted':
      removePane(m.doc);
      break;
    case 'eval':
      onEvalBroadcast(m);
      break;
    case 'anno':
      hl.push(m);
      if (state.element) state.element.calibrate(m.frame);
      break;
    case 'tempo':
      if (m.id !== undefined) break; // our request's reply; the broadcast follows
      showTempo(m.cps);
      logLine(`${m.name} set the tempo to ${m.cps} cps (from cycle ${m.landing.cycle})`);
      break;
    case 'hush':
      showHush(m.on);
      logLine(`${m.name} ${m.on ? 'hushed' : 'unhushed'}`);
      break;
    case 'mute':
    case 'solo': {
      const set = m.type === 'mute' ? state.muted : state.soloed;
      if (m.on) set.add(m.track);
      else set.delete(m.track);
      state.tracks.add(m.track);
      renderTracks();
      break;
    }
    case 'listeners':
      $('listeners').textContent = String(m.count);
      break;
    case 'chat':
      if (m.id !== undefined) break; // our own, shown when its request resolves
      addChat(m);
      break;
    default:
      break;
  }
}

const ECHO_MAGIC = [0x74, 0x75, 0x74, 0x74, 0x69, 0x2d, 0x65, 0x63]; // "tutti-ec"

function onBinary(buf) {
  const b = new Uint8Array(buf);
  if (b.length === 16 && ECHO_MAGIC.every((x, i) => b[i] === x)) {
    const sent = new DataView(buf).getFloat64(8, true);
    state.rttMs = performance.now() - sent;
    return;
  }
  if (state.ws) state.ws.push(buf);
}

/* Measures the round trip on the audio's own connection (binary echo). */
function sendEcho() {
  const b = new Uint8Array(16);
  b.set(ECHO_MAGIC, 0);
  new DataView(b.buffer).setFloat64(8, performance.now(), true);
  if (state.conn) state.conn.sendBinary(b.buffer);
}

/* ---- the clock of the page ---- */

let lastInfo = 0;
function frameLoop() {
  const frame = state.player ? state.player.playoutFrame() : null;
  hl.tick(frame, [...state.panes.values()].map((p) => p.view));
  renderCountdowns(frame);
  if (state.meters) state.meters.draw();
  const now = performance.now();
  if (now - lastInfo > 250 && state.player) {
    lastInfo = now;
    const lat = state.player.latencyMs();
    const parts = [];
    if (lat !== null) parts.push(`latency ${Math.round(lat + (state.rttMs || 0) / 2)} ms`);
    if (state.player.baseTime !== null) parts.push(`buffer ${Math.round(state.player.target * 1000)} ms`);
    if (state.rttMs !== null) parts.push(`rtt ${Math.round(state.rttMs)} ms`);
    if (state.player.latePackets) parts.push(`${state.player.latePackets} late`);
    $('latency').textContent = parts.join(' · ');
  }
  requestAnimationFrame(frameLoop);
}

/* ---- wiring ---- */

if (!sessionId) {
  document.body.classList.add('nosession');
  $('join').hidden = true;
  status('no session given: open a session from the lobby', 'err');
} else {
  setupJoinForm();
  $('tempo-form').addEventListener('submit', setTempo);
  $('hush').addEventListener('click', () => hush(!state.hushed));
  $('new-doc').addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = $('new-doc-name').value.trim();
    if (!name) return;
    try {
      await state.conn.request({ type: 'doc.create', name });
      $('new-doc-name').value = '';
    } catch (err) {
      logLine(`new document: ${err.message}`, 'err');
    }
  });
  $('listen-link').href = `/listen.html?s=${encodeURIComponent(sessionId)}`;
  $('history-link').href = `/history.html?session=${encodeURIComponent(sessionId)}`;
  document.addEventListener('keydown', (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === '.') {
      e.preventDefault();
      hush();
    }
  });
}
