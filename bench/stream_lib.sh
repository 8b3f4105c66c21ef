# bench/stream_lib.sh: shared by bench/fanout.sh and bench/latency.sh
# (sourced, POSIX sh). Needs $B (build dir) and $TMP (a scratch dir the
# caller removes); sets $TPID, $PORT, $URL, $SID and $TOKEN.

# Starts tuttid on a free loopback port with a fresh database; the port
# comes from its "listening on" log line.
start_tuttid() {
	"$B/server/tuttid" --listen 127.0.0.1:0 --db "$TMP/tutti.db" --no-demo --web "$TMP" \
		>"$TMP/tuttid.log" 2>&1 &
	TPID=$!
	PORT=
	_i=0
	while [ -z "$PORT" ] && [ $_i -lt 100 ]; do
		sleep 0.1
		PORT=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$TMP/tuttid.log" | head -n 1)
		_i=$((_i + 1))
	done
	if [ -z "$PORT" ]; then
		echo "bench: tuttid did not start:" >&2
		cat "$TMP/tuttid.log" >&2
		return 1
	fi
	URL=http://127.0.0.1:$PORT
}

# Creates a session named $1: its id, and the owner's token when the
# server gives one (sessions with roles).
create_session() {
	curl -sf -X POST -H 'Content-Type: application/json' -d "{\"name\":\"$1\"}" \
		"$URL/api/sessions" >"$TMP/session.json" || { echo "bench: cannot create a session" >&2; return 1; }
	SID=$(python3 - "$TMP/session.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(d.get("id") or d["session"]["id"])
PY
)
	TOKEN=$(python3 - "$TMP/session.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s = d.get("session") if isinstance(d.get("session"), dict) else {}
print(d.get("token") or d.get("owner_token") or s.get("token") or s.get("owner_token") or "")
PY
)
}

# tutti eval of file $1 into the session, now; with the token when the
# server gave one and the CLI takes it.
eval_file() {
	if [ -n "$TOKEN" ] && "$B/clients/cli/tutti" eval --help 2>&1 | grep -q -- '--token'; then
		"$B/clients/cli/tutti" eval --server "$URL" --session "$SID" --token "$TOKEN" \
			--quantum now "$1"
	else
		"$B/clients/cli/tutti" eval --server "$URL" --session "$SID" --quantum now "$1"
	fi
}
