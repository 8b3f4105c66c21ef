/*
 * build.mjs: bundles the web client into dist/ (node build.mjs).
 *
 * dist/ gets the four pages (index.html, perform.html, listen.html,
 * history.html), one ES module bundle per page (lobby.js, perform.js,
 * listen.js, history.js; CodeMirror
 * and ot.js inside), and tutti.css. tuttid serves it with --web DIR.
 * `node build.mjs --watch` rebuilds on every change.
 */
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const src = path.join(here, 'src');
const out = path.join(here, 'dist');
const watch = process.argv.includes('--watch');

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
for (const f of fs.readdirSync(path.join(src, 'pages'))) {
  fs.copyFileSync(path.join(src, 'pages', f), path.join(out, f));
}
fs.copyFileSync(path.join(src, 'tutti.css'), path.join(out, 'tutti.css'));

const options = {
  entryPoints: ['lobby.js', 'perform.js', 'listen.js', 'history.js'].map((f) => path.join(src, f)),
  outdir: out,
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  minify: !watch,
  sourcemap: true,
  logLevel: 'info',
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
