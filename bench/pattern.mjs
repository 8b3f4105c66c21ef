// bench/pattern.mjs: Strudel 1.2.6's side of bench/pattern.sh.
// Usage: node pattern.mjs CYCLES FILE...  Each FILE holds one program; it
// is evaluated once, then queried cycle by cycle over [0, CYCLES) (as a
// scheduler does). Prints: strudel_events=E seconds=S (query time only).
import { readFileSync } from 'node:fs';

const quiet = console.log;
console.log = () => {}; // Strudel logs while loading and evaluating
console.warn = () => {};
console.info = () => {};
const core = await import('@strudel/core');
const mini = await import('@strudel/mini');
const tonal = await import('@strudel/tonal');
const { transpiler } = await import('@strudel/transpiler');
await core.evalScope(core, mini, tonal);

const cycles = Number(process.argv[2]);
let events = 0;
let ns = 0n;
for (const file of process.argv.slice(3)) {
  const { pattern } = await core.evaluate(readFileSync(file, 'utf8'), transpiler);
  const t0 = process.hrtime.bigint();
  for (let c = 0; c < cycles; c++) events += pattern.queryArc(c, c + 1).length;
  ns += process.hrtime.bigint() - t0;
}
quiet(`strudel_events=${events} seconds=${(Number(ns) / 1e9).toFixed(6)}`);
