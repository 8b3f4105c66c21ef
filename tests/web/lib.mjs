/*
 * tests/web/lib.mjs: what the Chromium tests share: where things are, TAP
 * output, Debian's Chromium through playwright-core, the web client built
 * if it is not, a real tuttid on a free port, and polling a page.
 */
import { createRequire } from 'node:module';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SRCDIR = process.env.TT_SRCDIR || path.resolve(here, '..', '..');
export const BUILDDIR = process.env.TT_BUILDDIR || path.join(SRCDIR, 'build');
export const TUTTID = path.join(BUILDDIR, 'server', 'tuttid');
export const WEBSRC = path.join(SRCDIR, 'clients', 'web');
export const DIST = process.env.TT_WEBDIST || path.join(WEBSRC, 'dist');
export const CHROMIUM = process.env.TT_CHROMIUM || '/usr/bin/chromium';
export const ARTEFACTS = path.join(BUILDDIR, 'tests', 'web');

/* TAP: ok() prints a point (and up to 20 lines of diag when it fails);
 * done() prints the plan and exits 1 if any point failed. */
export const tap = { n: 0, failed: 0 };
export function ok(cond, name, diag) {
  tap.n++;
  if (!cond) tap.failed++;
  console.log(`${cond ? 'ok' : 'not ok'} ${tap.n} - ${name}`);
  if (!cond && diag !== undefined) {
    for (const l of String(typeof diag === 'string' ? diag : JSON.stringify(diag)).split('\n').slice(0, 20)) console.log(`#   ${l}`);
  }
  return !!cond;
}
export function done() {
  console.log(`1..${tap.n}`);
  process.exit(tap.failed ? 1 : 0);
}
export function skip(why) {
  console.log(`1..0 # SKIP ${why}`);
  process.exit(0);
}

/* playwright-core's chromium, or a skip when Chromium or it is missing. */
export function loadChromium() {
  if (!fs.existsSync(CHROMIUM)) skip(`no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  try {
    return createRequire(path.join(WEBSRC, 'package.json'))('playwright-core').chromium;
  } catch (e) {
    return skip('playwright-core is not installed (cd clients/web && npm ci)');
  }
}

/* Builds clients/web unless dist already has entry (a failed build is a
 * failed test, not a skip). */
export function ensureBuilt(entry) {
  if (!fs.existsSync(path.join(DIST, entry))) {
    const b = spawnSync(process.execPath, [path.join(WEBSRC, 'build.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
    if (b.status !== 0) {
      console.log('not ok 1 - the web client builds');
      console.log('1..1');
      process.exit(1);
    }
  }
  fs.mkdirSync(ARTEFACTS, { recursive: true });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* Polls fn (in the page) until it returns a truthy value or time runs out. */
export async function until(page, fn, arg, ms = 10000) {
  const end = Date.now() + ms;
  let v;
  while (Date.now() < end) {
    v = await page.evaluate(fn, arg).catch(() => undefined);
    if (v) return v;
    await sleep(50);
  }
  return v;
}

/* A real tuttid on 127.0.0.1 and a free port (p.port), its database in tmp. */
export function startServer(tmp) {
  return new Promise((resolve, reject) => {
    const p = spawn(TUTTID, ['--listen', '127.0.0.1:0', '--db', path.join(tmp, 'tutti.db'), '--web', DIST, '--no-demo'],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => reject(new Error(`tuttid did not start:\n${log}`)), 10000);
    p.stderr.on('data', (d) => {
      log += d;
      const m = log.match(/listening on http:\/\/127\.0\.0\.1:(\d+)\//);
      if (m && !p.port) {
        p.port = Number(m[1]);
        clearTimeout(timer);
        resolve(p);
      }
    });
    p.on('exit', (code) => reject(new Error(`tuttid exited ${code}:\n${log}`)));
  });
}
