#!/bin/sh
# bench/pattern.sh: tutti's pattern language against Strudel 1.2.6 in the
# same run on the same machine. Every passing case of the conformance corpus
# (tests/conformance: not an expected error, not a known failure) is
# compiled once and queried cycle by cycle over 1,000 cycles in both.
# Prints exactly one line:
#   pattern: tutti_events_per_s=X strudel_events_per_s=Y ratio=Z
# Needs: python3, node and npm (Strudel is installed into bench/node_modules
# on first use, as /work/shared/conformance/oracle/setup does).
# Env: TT_BUILDDIR (default: the tree's build/ folder when there is one),
#      CYCLES (default 1000).
set -e
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
if [ -z "$TT_BUILDDIR" ] && [ -d "$src/build" ]; then build="$src/build"; else build=${TT_BUILDDIR:-$src}; fi
cycles=${CYCLES:-1000}
bench="$build/bench/pattern_bench"
[ -x "$bench" ] || { echo "pattern: build bench/pattern_bench first (make bench/pattern_bench)" >&2; exit 1; }

# bench/package.json (shared with bench/collab.sh) lists Strudel 1.2.6
if [ ! -d "$here/node_modules/@strudel/core" ]; then
  (cd "$here" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
# mend the two packaging faults of Strudel 1.2.6, as the oracle's setup
# does (idempotent, so also after someone else's npm ci)
k="$here/node_modules/@kabelsalat/web/dist/index.js"
grep -q 'class SalatRepl' "$k" || printf '\nexport class SalatRepl { constructor() {} }\n' >> "$k"
find "$here/node_modules/@tonaljs" -path '*/dist' -type d | while read -r d; do
  [ -e "$d/index.js" ] || { [ -f "$d/index.cjs" ] && ln -s index.cjs "$d/index.js"; }
done

cases=$(mktemp -d)
trap 'rm -rf "$cases"' EXIT
python3 - "$src/tests/conformance" "$cases" <<'PY'
import json, os, sys, importlib.util
conf, out = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("run", os.path.join(conf, "run.py"))
run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run)
expected = {}
for l in open(os.path.join(conf, "expected.jsonl")):
    if l.strip():
        e = json.loads(l)
        expected[e["id"]] = e
for l in open(os.path.join(conf, "corpus.jsonl")):
    if not l.strip():
        continue
    c = json.loads(l)
    if "error" in expected.get(c["id"], {"error": 1}) or c["id"] in run.KNOWN_FAILURES:
        continue
    open(os.path.join(out, c["id"]), "w").write(c["code"])
PY
t=$("$bench" "$cycles" "$cases"/*)
s=$(cd "$here" && node pattern.mjs "$cycles" "$cases"/*)
python3 - "$t" "$s" <<'PY'
import sys
def parse(line):
    return {k: float(v) for k, v in (kv.split("=") for kv in line.split())}
t, s = parse(sys.argv[1]), parse(sys.argv[2])
te = t["tutti_events"] / t["seconds"] if t["seconds"] else float("inf")
se = s["strudel_events"] / s["seconds"] if s["seconds"] else float("inf")
if t["tutti_events"] != s["strudel_events"]:
    sys.stderr.write("pattern: event counts differ: tutti %d, strudel %d\n" % (t["tutti_events"], s["strudel_events"]))
print("pattern: tutti_events_per_s=%.0f strudel_events_per_s=%.0f ratio=%.1f" % (te, se, te / se))
PY
