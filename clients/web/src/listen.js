/*
 * listen.js: the listener page, /listen.html?s=SESSION. No login.
 *
 * The sound is the session's Ogg stream (/s/ID/live.ogg). The code of every
 * document is shown read-only, kept current over the WebSocket (join and
 * doc.open; this page never edits), and its tokens light up from the
 * annotations of /s/ID/events when this listener's playout reaches their
 * frame.
 *
 * Where WebCodecs decodes Opus, the page reads the Ogg stream with fetch and
 * decodes it itself (audio.js OggOpus): every packet's stream frame comes
 * from its page's granule position, so the playout frame is exact. Else an
 * <audio> element plays the stream and its currentTime gives the frame
 * (audio.js ElementAudio; docs/web.md explains the mapping).
 *
 * Invariants:
 *  1. The page sends no op: its DocViews are read-only.
 *  2. Highlights come only from the SSE stream, so what lights up is what
 *     any HTTP listener is told, and lights up in time with this page's
 *     own playout, never with the server's clock.
 */
import { Conn } from './conn.js';
import { DocView } from './docview.js';
import { Player, OggOpus, ElementAudio, Meters, hasWebCodecsOpus } from './audio.js';
import { Highlighter } from './highlight.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const sessionId = params.get('s');
// A session that is not public to listen needs an invite: ?t=TOKEN.
const token = params.get('t');
const withToken = (url) => (token ? `${url}?t=${encodeURIComponent(token)}` : url);
/* ?audio=element plays through the <audio> element even where WebCodecs could. */
const forceElement = params.get('audio') === 'element';

const state = {
  conn: null,
  panes: new Map(),
  members: new Map(),
  player: null,
  source: null,
  meters: null,
  mode: null,
  events: null,
};
const hl = new Highlighter((doc) => (state.panes.get(doc) || {}).view || null);
window.tutti = { state, hl };

function status(text, cls) {
  $('status').textContent = text;
  $('status').className = cls || '';
}

function addPane(doc, name) {
  const el = document.createElement('section');
  el.className = 'pane';
  const head = document.createElement('header');
  const title = document.createElement('span');
  title.className = 'doc-name';
  title.textContent = name;
  head.append(title);
  const body = document.createElement('div');
  body.className = 'editor';
  el.append(head, body);
  $('panes').append(el);
  const view = new DocView({ doc, name, conn: state.conn, parent: body, readOnly: true, onEval: () => {} });
  const pane = { view, el, title };
  state.panes.set(doc, pane);
  return pane;
}

function renderMembers() {
  const ul = $('members');
  ul.replaceChildren();
  for (const m of state.members.values()) {
    if (m.user === state.conn.user || m.role === 'listener') continue;
    const li = document.createElement('li');
    const dot = document.createElement('span');
    dot.className = 'dot';
    dot.style.background = m.color;
    li.append(dot, document.createTextNode(m.name));
    ul.append(li);
  }
  if (!ul.children.length) ul.append(Object.assign(document.createElement('li'), { textContent: 'nobody right now' }));
}

async function onReady(conn) {
  const j = await conn.request(token ? { type: 'join', session: sessionId, token } : { type: 'join', session: sessionId });
  $('session-name').textContent = j.session.name;
  document.title = `${j.session.name} · tutti (listening)`;
  state.members.clear();
  for (const m of j.members) state.members.set(m.user, m);
  renderMembers();
  const list = await conn.request({ type: 'doc.list' });
  for (const d of list.docs) {
    if (state.panes.has(d.id)) state.panes.get(d.id).view.reconnected();
    else addPane(d.id, d.name).view.open();
  }
  status('connected', 'ok');
}

function onMessage(m) {
  for (const p of state.panes.values()) if (p.view.receive(m)) return;
  switch (m.type) {
    case 'member.joined':
      state.members.set(m.member.user, m.member);
      renderMembers();
      break;
    case 'member.left':
      state.members.delete(m.member.user);
      for (const p of state.panes.values()) p.view.dropMember(m.member.user);
      renderMembers();
      break;
    case 'doc.created':
      if (!state.panes.has(m.doc.id)) addPane(m.doc.id, m.doc.name).view.open();
      break;
    case 'doc.renamed': {
      const p = state.panes.get(m.doc);
      if (p) p.title.textContent = m.name;
      break;
    }
    case 'doc.deleted': {
      const p = state.panes.get(m.doc);
      if (p) {
        p.view.destroy();
        p.el.remove();
        state.panes.delete(m.doc);
      }
      break;
    }
    case 'listeners':
      $('listeners').textContent = String(m.count);
      break;
    default:
      break;
  }
}

function openEvents() {
  const es = new EventSource(withToken(`/s/${encodeURIComponent(sessionId)}/events`));
  es.addEventListener('anno', (e) => {
    const a = JSON.parse(e.data);
    hl.push(a);
    if (state.source instanceof ElementAudio) state.source.calibrate(a.frame);
  });
  state.events = es;
}

async function play() {
  const btn = $('play');
  if (state.source) {
    state.source.stop();
    state.source = null;
    state.player.reset();
    btn.textContent = '▶ play';
    return;
  }
  if (!state.player) {
    state.player = new Player();
    state.meters = new Meters(state.player.analyser, $('scope'), $('level'));
  }
  await state.player.resume();
  const url = withToken(`/s/${encodeURIComponent(sessionId)}/live.ogg`);
  btn.textContent = '■ stop';
  if (!forceElement && await hasWebCodecsOpus()) {
    state.mode = 'webcodecs';
    state.source = new OggOpus(state.player, url);
    $('audio-info').textContent = 'Ogg Opus stream, decoded with WebCodecs';
    state.source.start().catch((e) => {
      if (e.name !== 'AbortError') status(`the stream stopped: ${e.message}`, 'err');
    });
  } else {
    state.mode = 'element';
    state.source = new ElementAudio(state.player, url);
    $('audio-info').textContent = 'Ogg Opus stream, played by the browser';
    await state.source.start();
  }
}

let lastInfo = 0;
function frameLoop() {
  const frame = state.player && state.source ? state.player.playoutFrame() : null;
  hl.tick(frame, [...state.panes.values()].map((p) => p.view));
  if (state.meters) state.meters.draw();
  const now = performance.now();
  if (state.player && state.source && now - lastInfo > 250) {
    lastInfo = now;
    const lat = state.player.latencyMs();
    $('latency').textContent = lat === null ? '' : `${(lat / 1000).toFixed(2)} s behind live`;
  }
  requestAnimationFrame(frameLoop);
}

if (!sessionId) {
  status('no session given: open one from the lobby', 'err');
} else {
  $('perform-link').href = `/perform.html?s=${encodeURIComponent(sessionId)}`;
  $('play').addEventListener('click', () => play().catch((e) => status(e.message, 'err')));
  state.conn = new Conn({
    hello: { name: 'listener', client: 'tutti-web-listen' },
    onReady,
    onMessage,
    onFail: (e) => status(e.code === 'not_found' ? 'there is no such session' : `could not join: ${e.message}`, 'err'),
    onState: (s) => {
      if (s === 'closed') {
        status('connection lost, reconnecting…', 'err');
        for (const p of state.panes.values()) p.view.disconnected();
      }
    },
  });
  state.conn.connect();
  openEvents();
  requestAnimationFrame(frameLoop);
}
