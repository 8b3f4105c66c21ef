#!/bin/sh
# bench/reliability.sh: reliability under load and faults, in full
# (issue 11, item 4). Runs the three suites of tests/load/ with their long
# settings, each against its own tuttid on loopback:
#   soak      8 performers and 1000 listeners (capped at TT_MAX_LISTENERS)
#             for 30 minutes
#   chaos     100 kill -9 and restarts during activity, full disk,
#             read-only database, a stopped client, a slow network
#   overload  listeners past capacity, edit and evaluation floods
#
#   TT_BUILDDIR=/path/to/build bench/reliability.sh [--short]
#
# --short (or RELIABILITY_SOAK_SECONDS, RELIABILITY_LISTENERS,
# RELIABILITY_KILLS) shortens it: 2 minutes, 200 listeners, 10 kills.
# Each suite's TAP goes to stderr; a failed check makes the exit status 1.
# Prints exactly one line on stdout:
#   reliability: missed_deadlines=N lost_ops=N max_rss_mb=N ack_p99_ms=N
#                underruns=N kills=N
# (one line; wrapped here): missed render deadlines and the other figures
# of the soak, operations acknowledged but not stored in soak and chaos,
# and the kills done.
set -eu

SOAK_S=${RELIABILITY_SOAK_SECONDS:-1800}
LISTENERS=${RELIABILITY_LISTENERS:-1000}
KILLS=${RELIABILITY_KILLS:-100}
if [ "${1:-}" = --short ]; then
	SOAK_S=${RELIABILITY_SOAK_SECONDS:-120}
	LISTENERS=${RELIABILITY_LISTENERS:-200}
	KILLS=${RELIABILITY_KILLS:-10}
elif [ $# -gt 0 ]; then
	echo "usage: $0 [--short]" >&2
	exit 2
fi

SRC=${TT_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
B=${TT_BUILDDIR:-$(pwd)}
export TT_SRCDIR=$SRC TT_BUILDDIR=$B
make -C "$B" -s server/tuttid clients/cli/tutti tests/load/listeners tests/server/oggcheck >&2
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tutti-reliability.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
FAILED=0

# Runs one suite; its TAP to stderr, its result (JSON) to $TMP/NAME.json.
suite() {
	name=$1
	shift
	echo "reliability: $name ($*)" >&2
	if env "$@" TT_LOAD_RESULT="$TMP/$name.json" python3 "$SRC/tests/load/$name.py" \
		>"$TMP/$name.tap" 2>&1; then
		:
	else
		FAILED=$((FAILED + 1))
	fi
	cat "$TMP/$name.tap" >&2
	grep '^not ok' "$TMP/$name.tap" | sed "s/^/reliability: $name: /" >&2 || true
}

suite soak TT_SOAK_SECONDS="$SOAK_S" TT_SOAK_LISTENERS="$LISTENERS"
suite chaos TT_CHAOS_KILLS="$KILLS"
suite overload TT_OVERLOAD=1

python3 - "$TMP" <<'PY'
import json, os, sys
d = sys.argv[1]
def load(name):
    try:
        with open(os.path.join(d, name + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}
s, c = load("soak"), load("chaos")
def v(x):
    return "nan" if x is None else x
lost = None if "lost_ops" not in s or "lost_ops" not in c else s["lost_ops"] + c["lost_ops"]
print("reliability: missed_deadlines=%s lost_ops=%s max_rss_mb=%s ack_p99_ms=%s underruns=%s kills=%s"
      % (v(s.get("missed_deadlines")), v(lost), v(s.get("max_rss_mb")), v(s.get("ack_p99_ms")),
         v(s.get("underruns")), v(c.get("kills"))))
PY
[ "$FAILED" -eq 0 ] || { echo "reliability: $FAILED suite(s) had failed checks (above)" >&2; exit 1; }
