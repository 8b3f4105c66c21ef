#!/bin/sh
# bench/collab.sh: runs bench/collab.mjs (tutti's collaborative editing
# under load, against y-websocket in the same run) with the tuttid and
# bench/ot_apply already built in $TT_BUILDDIR (default /work/main/build).
# Builds nothing. Needs Node >= 20 and `npm ci` in bench/ (ws, yjs,
# y-websocket). Prints one line "collab: clients=M tutti_ops_per_s=X ...";
# details on stderr. Settings through the environment: CLIENTS, RATE,
# PHASE_S, WARMUP_S, WORKERS, AUTHORS, AUTHOR_RATE, YWS_PERSIST, BUDGET_S,
# and PHASES (a comma-separated subset of apply,tutti,yws,authors, to study
# one phase) (see the head of collab.mjs).
set -e
here=$(cd "$(dirname "$0")" && pwd)
TT_BUILDDIR=${TT_BUILDDIR:-/work/main/build}
export TT_BUILDDIR
for f in "$TT_BUILDDIR/server/tuttid" "$TT_BUILDDIR/bench/ot_apply"; do
	if [ ! -x "$f" ]; then
		echo "collab.sh: $f is not built (make server/tuttid bench/ot_apply)" >&2
		exit 1
	fi
done
if [ ! -d "$here/node_modules/y-websocket" ]; then
	echo "collab.sh: run 'npm ci' in $here first" >&2
	exit 1
fi
exec node "$here/collab.mjs"
