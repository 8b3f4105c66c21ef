#!/bin/sh
# bench/latency.sh: server-added latency of tuttid's sound (issue 5, item
# 8), measured from the client side by bench/latency.py (see there for how):
#   TT_BUILDDIR=/path/to/build bench/latency.sh [SECONDS]
# Starts tuttid on a free loopback port with a fresh database, creates a
# session, runs latency.py against it, stops tuttid. Prints one line:
#   latency: server_p50_ms=A server_p99_ms=B render_ahead_ms=C listener_start_lag_ms=D
set -eu
SECS=${1:-8}
case "$SECS" in *[!0-9]*|'') echo "usage: $0 [SECONDS]" >&2; exit 2 ;; esac
SRC=${TT_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
B=${TT_BUILDDIR:-$(pwd)}
[ -x "$B/server/tuttid" ] || { echo "latency: $B/server/tuttid is not built" >&2; exit 1; }
# The render thread's lead in blocks: a constant of server/live.c.
LEAD=$(sed -n 's/^#define LEAD_BLOCKS \([0-9][0-9]*\).*/\1/p' "$SRC/server/live.c")
[ -n "$LEAD" ] || { echo "latency: LEAD_BLOCKS not found in server/live.c" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tutti-latency.XXXXXX")
TPID=
stop() {
	[ -z "$TPID" ] || { kill "$TPID" 2>/dev/null || true; wait "$TPID" 2>/dev/null || true; }
	rm -rf "$TMP"
}
trap stop EXIT
trap 'exit 1' INT TERM

. "$SRC/bench/stream_lib.sh"
start_tuttid
create_session latency
python3 "$SRC/bench/latency.py" "$PORT" "$SID" "$LEAD" "$SECS" $TOKEN
