/*
 * The web client in real Chromium (Debian's, driven by playwright-core)
 * against a real tuttid: two performers join one session and type at once
 * and converge to the server's text; each sees the other's named cursor;
 * undo takes back only one's own edit; Ctrl-Enter evaluates, both pages
 * flash, the other one decodes the sound (WebCodecs) and lights the
 * sounding tokens; an evaluation error shows at its line; the listener
 * page plays the Ogg stream and lights tokens too. Prints TAP; screenshots
 * go to $TT_BUILDDIR/tests/web/.
 *
 * Skipped (1..0 # SKIP) only when Chromium or playwright-core is missing.
 * The client must be built (clients/web/dist, or $TT_WEBDIST); when it is
 * not and clients/web/node_modules exists, this builds it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ARTEFACTS, CHROMIUM, ok, done, loadChromium, ensureBuilt, sleep, until, startServer,
} from './lib.mjs';

const chromium = loadChromium();
ensureBuilt('perform.js');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tutti-web-'));
const srv = await startServer(tmp);
const base = `http://127.0.0.1:${srv.port}`;
process.on('exit', () => srv.kill('SIGKILL')); // never leave a tuttid behind
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--autoplay-policy=no-user-gesture-required'],
  // playwright-core gives each launch a fresh temporary profile (it refuses
  // --user-data-dir here), so no state leaks between runs.
});

/* The server's text of a document, read over a WebSocket of the page's own. */
function serverText(page, sid, doc) {
  return page.evaluate(([s, d]) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${location.host}/ws`);
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: 'hello', id: 1, name: 'checker' }));
      ws.send(JSON.stringify({ type: 'join', id: 2, session: s }));
      ws.send(JSON.stringify({ type: 'doc.open', id: 3, doc: d }));
    };
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.id === 3) {
        ws.close();
        if (m.type === 'doc.snapshot') resolve(m.text);
        else reject(new Error(e.data));
      }
    };
  }), [sid, doc]);
}

const paneText = () => {
  const p = [...window.tutti.state.panes.values()][0];
  return p ? p.view.text() : null;
};
const allIdle = () => [...window.tutti.state.panes.values()].every((p) => p.view.client.idle());

// The owner token the lobby got when it created the session: an invite
// link for the performers (perform.html?s=ID&t=TOKEN).
let ownerToken = null;

async function joinAs(ctx, sid, name, color, extra = '') {
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`# ${name}: page error: ${e.message}`));
  await page.goto(`${base}/perform.html?s=${sid}&t=${encodeURIComponent(ownerToken)}${extra}`);
  await page.fill('#join-name', name);
  await page.fill('#join-color', color);
  await page.click('#join-button');
  await until(page, () => {
    const p = [...window.tutti.state.panes.values()][0];
    return p && p.view.opened;
  });
  return page;
}

/* Selects the whole first editor of page and types text in its place. */
async function replaceAll(page, text) {
  await page.click('.pane .cm-content');
  await page.keyboard.press('Control+a');
  await page.keyboard.type(text);
}

try {
  // ---- the lobby ----
  const lobbyCtx = await browser.newContext();
  const lobby = await lobbyCtx.newPage();
  await lobby.goto(`${base}/`);
  await lobby.fill('#name', 'browser test');
  await Promise.all([lobby.waitForURL(/perform\.html\?s=/), lobby.click('#create button')]);
  const sid = new URL(lobby.url()).searchParams.get('s');
  ownerToken = new URL(lobby.url()).searchParams.get('t');
  ok(/^[a-z2-7]{10}$/.test(sid || '') && /^t\d+\./.test(ownerToken || ''),
    'the lobby creates a session and opens its performer page with the owner token', lobby.url());
  await lobbyCtx.close();

  // ---- two performers type at once ----
  const ctxA = await browser.newContext({ viewport: { width: 1280, height: 760 } });
  const ctxB = await browser.newContext({ viewport: { width: 1280, height: 760 } });
  const ann = await joinAs(ctxA, sid, 'ann', '#e6194b');
  const bo = await joinAs(ctxB, sid, 'bo', '#4363d8');
  ok(await until(bo, () => window.tutti.state.panes.size === 1), 'both performers see the document "main"');

  // ---- chat ----
  await ann.fill('#chat-text', 'hello from ann');
  await ann.press('#chat-text', 'Enter');
  ok(await until(bo, () => document.getElementById('chat').textContent.includes('ann: hello from ann')),
    'chat: the other performer reads what ann said');
  ok(await until(ann, () => document.getElementById('chat').children.length === 1),
    'chat: ann sees her line once');

  await ann.click('.pane .cm-content');
  await bo.click('.pane .cm-content');
  await Promise.all([
    ann.keyboard.type('s("bd sd hh")', { delay: 15 }),
    bo.keyboard.type('note("c3 e3") // bo', { delay: 15 }),
  ]);
  await until(ann, allIdle);
  await until(bo, allIdle);
  const same = await until(ann, ([t]) => window.tutti.state.panes.size && [...window.tutti.state.panes.values()][0].view.text() === t,
    [await bo.evaluate(paneText)], 5000);
  const ta = await ann.evaluate(paneText);
  const tb = await bo.evaluate(paneText);
  const doc = await ann.evaluate(() => [...window.tutti.state.panes.keys()][0]);
  const ts = await serverText(ann, sid, doc);
  ok(same && ta === tb, 'concurrent typing: both editors hold the same text', { ta, tb });
  ok(ta === ts, "and it is the server's text", { ta, ts });
  // Characters typed at one place at the same moment may interleave (each
  // side's cursor keeps its place); none may be lost or doubled.
  const chars = (x) => [...x].sort().join('');
  ok(chars(ta) === chars('s("bd sd hh")note("c3 e3") // bo'), 'nothing typed was lost or doubled', ta);

  const cursorName = await until(ann, () => {
    const el = document.querySelector('.tt-rname');
    return el && el.textContent;
  });
  ok(cursorName === 'bo', "ann sees bo's cursor with bo's name", cursorName);
  ok(await until(bo, () => [...document.querySelectorAll('.tt-rname')].some((e) => e.textContent === 'ann')),
    "bo sees ann's cursor");
  ok(await until(ann, () => [...document.querySelectorAll('.members li')].map((l) => l.textContent).join(',').includes('bo')),
    'ann sees bo among those here');

  // ---- undo takes back only one's own edit ----
  await ann.keyboard.press('End');
  await ann.keyboard.type(' X');
  await until(ann, allIdle);
  await until(bo, ([t]) => [...window.tutti.state.panes.values()][0].view.text().includes(t), [' X']);
  await bo.keyboard.press('Control+End');
  await bo.keyboard.type(' Y');
  await until(bo, allIdle);
  await until(ann, () => [...window.tutti.state.panes.values()][0].view.text().endsWith(' Y'));
  await ann.keyboard.press('Control+z');
  await until(ann, allIdle);
  const afterUndo = await until(bo, () => {
    const t = [...window.tutti.state.panes.values()][0].view.text();
    return !t.includes(' X') && t;
  });
  ok(afterUndo && afterUndo.endsWith(' Y') && !afterUndo.includes(' X'),
    "ann's undo removes ann's ' X' and keeps bo's ' Y'", afterUndo);

  // ---- a lost connection loses no edit ----
  await bo.evaluate(() => window.tutti.state.conn.ws.close());
  await bo.keyboard.type(' Z');
  const back = await until(bo, () => window.tutti.state.conn.state === 'open' &&
    [...window.tutti.state.panes.values()].every((p) => p.view.client.state === 'open' && p.view.client.idle()));
  const zA = await until(ann, () => {
    const t = [...window.tutti.state.panes.values()][0].view.text();
    return t.endsWith(' Y Z') && t;
  });
  const zB = await bo.evaluate(paneText);
  ok(back && zA && zA === zB && zA === await serverText(ann, sid, doc),
    "bo's connection drops while typing: after the reconnect all three texts agree and hold ' Z'", { zA, zB });

  // ---- evaluation: flash, sound and highlights in the other page ----
  const CODE = 'note("a4 e5").s("sine")';
  await replaceAll(ann, CODE);
  await until(ann, allIdle);
  ok(await until(bo, ([c]) => [...window.tutti.state.panes.values()][0].view.text() === c, [CODE]),
    "bo's editor shows ann's new code");
  await ann.keyboard.press('Control+Enter');
  const flashA = await until(ann, () => window.tutti.state.flashed.size > 0);
  const flashB = await until(bo, () => window.tutti.state.flashed.size > 0 && document.querySelector('.pane.flash') !== null);
  ok(flashA && flashB, 'Ctrl-Enter evaluates and both pages flash');
  const countdown = await until(bo, () => {
    const t = document.querySelector('.countdown').textContent;
    return /ann: (lands in|playing)/.test(t) && t;
  });
  ok(countdown, 'bo sees who evaluated and the countdown to the landing', countdown);
  const decoded = await until(bo, () => window.tutti.state.player.decodedFrames > 48000 && window.tutti.state.player.decodedFrames, null, 15000);
  ok(decoded, `bo decodes the WebSocket's Opus with WebCodecs (${decoded} samples)`);
  const loud = await until(bo, () => {
    const db = window.tutti.state.meters.levelDb();
    return db > -30 && db;
  }, null, 15000);
  ok(loud, `and what bo plays is sound, not silence (${typeof loud === 'number' ? loud.toFixed(1) : loud} dBFS)`);
  const lit = await until(bo, () => {
    const t = [...document.querySelectorAll('.tt-hl')].map((e) => e.textContent);
    return t.length && t;
  }, null, 15000);
  const TOKENS = ['a4', 'e5', 'sine'];
  ok(lit && lit.every((x) => TOKENS.includes(x)) && lit.some((x) => x === 'a4' || x === 'e5'), 'bo lights the sounding tokens a4 / e5 as it plays them', lit);
  ok(await until(ann, () => document.querySelectorAll('.tt-hl').length > 0, null, 15000), 'and so does ann');

  // ---- the WebAssembly decoder (browsers without WebCodecs Opus) ----
  const ctxC = await browser.newContext({ viewport: { width: 1280, height: 760 } });
  const cy = await joinAs(ctxC, sid, 'cy', '#3cb44b', '&decoder=wasm');
  const wdec = await until(cy, () => window.tutti.state.player.decodedFrames > 48000 &&
    document.getElementById('audio-info').textContent.includes('WebAssembly') &&
    window.tutti.state.player.decodedFrames, null, 15000);
  ok(wdec, `a page without WebCodecs decodes the same packets with WebAssembly libopus (${wdec} samples)`);
  const wloud = await until(cy, () => {
    const db = window.tutti.state.meters.levelDb();
    return db > -30 && db;
  }, null, 15000);
  ok(wloud, 'and plays sound, not silence');
  await ctxC.close();
  await sleep(300);
  await ann.screenshot({ path: path.join(ARTEFACTS, 'perform.png') });

  // ---- an error shows at its line ----
  await ann.click('.pane .cm-content');
  await ann.keyboard.press('Control+End');
  await ann.keyboard.type('\n\nnote("c4").fsat(2)');
  await until(ann, allIdle);
  await ann.keyboard.press('Shift+Enter');
  const err = await until(ann, () => {
    const m = document.querySelector('.tt-error-msg');
    const line = document.querySelector('.cm-line.tt-error-line');
    return m && line && { msg: m.textContent, line: line.textContent };
  });
  ok(err && /^3:\d+: .*fast/.test(err.msg) && err.line.includes('fsat'),
    'an evaluation error shows inline at its line, with the suggestion', err);
  await ann.screenshot({ path: path.join(ARTEFACTS, 'perform-error.png') });

  // ---- the listener page ----
  const ctxL = await browser.newContext({ viewport: { width: 1100, height: 600 } });
  const lis = await ctxL.newPage();
  lis.on('pageerror', (e) => console.log(`# listener: page error: ${e.message}`));
  await lis.goto(`${base}/listen.html?s=${sid}`);
  const ltext = await until(lis, () => {
    const p = [...window.tutti.state.panes.values()][0];
    return p && p.view.opened && p.view.text();
  });
  ok(ltext && ltext.startsWith(CODE), 'the listener page shows the code, read-only', ltext);
  ok(await lis.evaluate(() => document.querySelector('.cm-content').getAttribute('contenteditable') === 'false'),
    'and cannot edit it');
  ok(await until(lis, () => [...document.querySelectorAll('.members li')].some((l) => l.textContent === 'ann')),
    'the listener sees who is performing');
  await lis.click('#play');
  const ldec = await until(lis, () => window.tutti.state.player && window.tutti.state.player.decodedFrames > 48000 &&
    window.tutti.state.player.decodedFrames, null, 15000);
  ok(ldec, `the listener decodes the Ogg stream (${ldec} samples)`);
  const llit = await until(lis, () => {
    const t = [...document.querySelectorAll('.tt-hl')].map((e) => e.textContent);
    return t.length && t;
  }, null, 15000);
  ok(llit && llit.every((x) => TOKENS.includes(x)) && llit.some((x) => x === 'a4' || x === 'e5'), 'and lights the sounding tokens from /s/ID/events', llit);
  const lcount = await until(ann, () => Number(document.getElementById('listeners').textContent) >= 1 &&
    document.getElementById('listeners').textContent);
  ok(lcount, `the performers see the listener count (${lcount})`);
  await lis.screenshot({ path: path.join(ARTEFACTS, 'listen.png') });

  // ---- the fallback: the Ogg stream in an <audio> element ----
  const el = await ctxL.newPage();
  await el.goto(`${base}/listen.html?s=${sid}&audio=element`);
  await until(el, () => window.tutti.state.panes.size > 0);
  await el.click('#play');
  const elt = await until(el, () => {
    const s = window.tutti.state.source;
    return s && s.el.currentTime > 1 && { t: s.el.currentTime, frame: window.tutti.state.player.playoutFrame() };
  }, null, 40000);
  ok(elt, 'with ?audio=element the <audio> element plays the stream (currentTime advances)', elt);
  const elLit = await until(el, () => window.tutti.hl.lit > 0 && document.querySelectorAll('.tt-hl').length > 0, null, 15000);
  ok(elLit, 'and its currentTime, as stream frames, lights tokens too');
  const behind = await el.evaluate(() => (window.tutti.hl.newest - window.tutti.state.player.playoutFrame()) / 48000);
  console.log(`# the <audio> element plays ${behind.toFixed(2)} s behind the newest annotation`);
  await el.close();

  // ---- tempo and hush reach everybody ----
  await ann.fill('#tempo-value', '36');
  await ann.selectOption('#tempo-unit', 'cpm');
  await ann.click('#tempo-form button');
  const tempo = await until(bo, () => {
    const t = document.getElementById('tempo-now').textContent;
    return t.startsWith('0.6 cps') && t;
  });
  ok(tempo, `ann sets 36 cpm and bo's page shows it (${tempo})`);
  await ann.click('.pane .cm-content');
  await ann.keyboard.press('Control+.');
  ok(await until(bo, () => document.getElementById('hush').classList.contains('on')),
    "Ctrl-. hushes, and bo's page shows it");
  ok(await until(lis, () => window.tutti.state.meters.levelDb() < -60, null, 15000),
    'and the listener hears silence');
} catch (e) {
  ok(false, 'the browser test ran to its end', e.stack || String(e));
}

await browser.close();
srv.kill('SIGTERM');
await new Promise((r) => srv.once('exit', r));
fs.rmSync(tmp, { recursive: true, force: true });
done();
