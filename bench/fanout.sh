#!/bin/sh
# bench/fanout.sh: what N HTTP listeners of one live stream cost tuttid,
# against Debian's Icecast 2 serving the same Ogg Opus stream (issue 5,
# item 8). Loopback only; every process started here is stopped here.
#
#   TT_BUILDDIR=/path/to/build bench/fanout.sh [--listeners N] [--seconds S]
#
# 1. tuttid on a free loopback port with a fresh database; a session; a
#    program evaluated into it with `tutti eval` (drums, hats, bass, lead).
# 2. bench/fanout_client: N listeners of /s/ID/live.ogg (at most what
#    TT_MAX_LISTENERS allows, less the Icecast source's slot), opened at 2000 per second; tuttid's CPU
#    (utime + stime from /proc) over the window, less its CPU with no
#    listener (the render thread and encoder), per listener-second; its RSS
#    growth per listener; the worst gap between arrivals; bytes on the wire.
# 3. icecast2 with a config written here, fed the same stream by
#    bench/icecast_source.py (a source client relaying tuttid's live.ogg at
#    real-time pace), and the same N listeners against it (after those of
#    tuttid, or with FANOUT_CONCURRENT=1 at the same time).
# Prints exactly one line on stdout:
#   fanout: listeners=N tutti_cpu_us_per_listener_s=X icecast_cpu_us_per_listener_s=Y
#           ratio=Z worst_gap_ms=G dropped=D kb_per_listener=M wire_overhead=W
# (one line; wrapped here). The details go to stderr.
#
# With --tls, Icecast is left out: a second tuttid serves the same program
# over TLS (--tls-cert/--tls-key, a self-signed certificate made here
# with openssl), and the same N listeners (at most TT_MAX_LISTENERS) run
# against the plain tuttid, then over TLS against the other
# (fanout_client --tls 1). The line is then
#   fanout_tls: listeners=N plain_cpu_us_per_listener_s=A
#           tls_cpu_us_per_listener_s=B ratio=B/A tls_worst_gap_ms=G
#           tls_dropped=D tls_kb_per_listener=M
set -eu

N=1000
SECS=10
TLS=0
# Icecast 2.4 listens with a backlog of 5 and so loses SYNs in a flash
# crowd; it is ramped gently, since only its CPU per listener is compared.
ICE_RATE=${ICE_RATE:-200}
# Opus packets per Ogg page on the way to Icecast: 1 is tuttid's stream as
# it is; more shows what Icecast's cost owes to the number of pages.
ICE_PAGE_PACKETS=${ICE_PAGE_PACKETS:-1}
while [ $# -gt 0 ]; do
	case "$1" in
	--listeners) N=$2; shift 2 ;;
	--seconds) SECS=$2; shift 2 ;;
	--tls) TLS=1; shift ;;
	*) echo "usage: $0 [--listeners N] [--seconds S] [--tls]" >&2; exit 2 ;;
	esac
done
case "$N$SECS" in *[!0-9]*) echo "fanout: N and S are whole numbers" >&2; exit 2 ;; esac

SRC=${TT_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
B=${TT_BUILDDIR:-$(pwd)}
CLIENT=$B/bench/fanout_client
ICECAST=${ICECAST:-$(command -v icecast2 || true)}
for f in "$B/server/tuttid" "$B/clients/cli/tutti" "$CLIENT"; do
	[ -x "$f" ] || { echo "fanout: $f is not built (make it in $B)" >&2; exit 1; }
done
[ -n "$ICECAST" ] || [ "$TLS" = 1 ] || { echo "fanout: icecast2 is not installed (apt-get install icecast2)" >&2; exit 1; }

# Each listener is a descriptor in the client and in the server.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tutti-fanout.XXXXXX")
TPID= IPID= RPID= CT= CI= SPID=
stop() {
	for p in $CT $CI $RPID $IPID $TPID $SPID; do
		kill "$p" 2>/dev/null || true
	done
	for p in $CT $CI $RPID $IPID $TPID $SPID; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap stop EXIT
trap 'exit 1' INT TERM

# A TCP port nobody listens on now (the kernel's choice).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---- 1. tuttid, a session, a program ----
. "$SRC/bench/stream_lib.sh"
start_tuttid
create_session fanout
cat >"$TMP/set.js" <<'EOF'
stack(
  s("bd*2 [~ bd] sd [bd hh]").gain(0.9),
  s("hh*8").gain(0.4),
  note("<c3 eb3 g3 bb2>*4").s("sawtooth").lpf(900).gain(0.5),
  note("c5 eb5 g5 bb5").s("triangle").slow(2).gain(0.3)
)
EOF
eval_file "$TMP/set.js" >&2
# The first seconds of sound touch memory for the first time (about 1 MB
# of tuttid's RSS, measured); the baseline starts after them (Icecast's
# start-up below counts towards the wait), so that the growth it
# subtracts is only the rings' steady filling.
WARM_UNTIL=$(( $(date +%s) + 5 ))

# The limit the build was made with: its own source tree's limits.h.
LIMITS_H=$(sed -n 's/^abs_top_srcdir = //p' "$B/Makefile" 2>/dev/null)/common/limits.h
[ -f "$LIMITS_H" ] || LIMITS_H=$SRC/common/limits.h
LIMIT=$(sed -n 's/^#define TT_MAX_LISTENERS \([0-9][0-9]*\).*/\1/p' "$LIMITS_H")
# The Icecast source relays tuttid's live.ogg: it is a listener too.
NT=$N
if [ -n "$LIMIT" ] && [ "$N" -ge "$LIMIT" ]; then
	NT=$((LIMIT - 1))
	echo "fanout: tuttid allows $LIMIT listeners (TT_MAX_LISTENERS), one of them the" \
		"Icecast source: measuring $NT of the $N asked" >&2
fi

# A session that is not public is listened to with ?t=TOKEN.
LPATH=/s/$SID/live.ogg${TOKEN:+?t=$TOKEN}

# ---- --tls: the same crowd over TLS against a second tuttid ----
get() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
if [ "$TLS" = 1 ]; then
	[ -n "$LIMIT" ] && [ "$N" -gt "$LIMIT" ] && NT=$LIMIT || NT=$N
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 2 -subj /CN=localhost \
		-addext subjectAltName=DNS:localhost 2>/dev/null ||
		{ echo "fanout: openssl cannot make a certificate" >&2; exit 1; }
	"$B/server/tuttid" --listen 127.0.0.1:0 --db "$TMP/tls.db" --no-demo --web "$TMP" \
		--tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem" >"$TMP/tuttid-tls.log" 2>&1 &
	SPID=$!
	SPORT= i=0
	while [ -z "$SPORT" ] && [ $i -lt 100 ]; do
		sleep 0.1
		SPORT=$(sed -n 's|.*listening on https://127.0.0.1:\([0-9]*\)/.*|\1|p' \
			"$TMP/tuttid-tls.log" | head -n 1)
		i=$((i + 1))
	done
	[ -n "$SPORT" ] || { echo "fanout: tuttid with TLS did not start:" >&2
		cat "$TMP/tuttid-tls.log" >&2; exit 1; }
	# The same program in a session of the TLS server (curl and tutti
	# trust the certificate through these).
	PLAIN_URL=$URL PLAIN_LPATH=$LPATH
	export CURL_CA_BUNDLE="$TMP/cert.pem" TUTTI_CACERT="$TMP/cert.pem"
	URL=https://localhost:$SPORT
	create_session fanout-tls
	eval_file "$TMP/set.js" >&2
	SLPATH=/s/$SID/live.ogg${TOKEN:+?t=$TOKEN}
	URL=$PLAIN_URL
	while [ "$(date +%s)" -lt "$WARM_UNTIL" ]; do sleep 0.2; done
	echo "fanout: plain $URL$PLAIN_LPATH and TLS https://localhost:$SPORT$SLPATH," \
		"$NT listeners each, ${SECS} s" >&2
	"$CLIENT" --port "$PORT" --path "$PLAIN_LPATH" --listeners "$NT" --seconds "$SECS" \
		--rate 2000 --pid "$TPID" --baseline 3 >"$TMP/plain.out" ||
		{ echo "fanout: the client against tuttid failed" >&2; exit 1; }
	"$CLIENT" --port "$SPORT" --path "$SLPATH" --listeners "$NT" --seconds "$SECS" \
		--rate 2000 --pid "$SPID" --baseline 3 --tls 1 >"$TMP/tls.out" ||
		{ echo "fanout: the TLS client against tuttid failed" >&2; exit 1; }
	PLINE=$(cat "$TMP/plain.out")
	SLINE=$(cat "$TMP/tls.out")
	echo "fanout: plain: $PLINE" >&2
	echo "fanout: tls: $SLINE" >&2
	PCPU=$(get "$PLINE" cpu_us_per_listener_s)
	SCPU=$(get "$SLINE" cpu_us_per_listener_s)
	RATIO=$(awk -v s="$SCPU" -v p="$PCPU" 'BEGIN { if (p > 0) printf "%.2f", s / p; else print "nan" }')
	echo "fanout_tls: listeners=$NT plain_cpu_us_per_listener_s=$PCPU" \
		"tls_cpu_us_per_listener_s=$SCPU ratio=$RATIO" \
		"tls_worst_gap_ms=$(get "$SLINE" worst_gap_ms) tls_dropped=$(get "$SLINE" dropped)" \
		"tls_kb_per_listener=$(get "$SLINE" kb_per_listener)"
	exit 0
fi

# ---- 2. Icecast, fed the same stream ----
IPORT=$(free_port)
PW=bench$$
mkdir -p "$TMP/ice"
cat >"$TMP/ice/icecast.xml" <<EOF
<icecast>
  <location>loopback</location>
  <admin>bench@localhost</admin>
  <limits>
    <clients>$((NT + 16))</clients>
    <sources>2</sources>
    <queue-size>524288</queue-size>
    <client-timeout>30</client-timeout>
    <header-timeout>15</header-timeout>
    <source-timeout>10</source-timeout>
    <burst-on-connect>1</burst-on-connect>
    <burst-size>65535</burst-size>
  </limits>
  <authentication>
    <source-password>$PW</source-password>
    <admin-user>admin</admin-user>
    <admin-password>$PW</admin-password>
  </authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket>
    <port>$IPORT</port>
    <bind-address>127.0.0.1</bind-address>
  </listen-socket>
  <fileserve>1</fileserve>
  <paths>
    <basedir>$TMP/ice</basedir>
    <logdir>$TMP/ice</logdir>
    <webroot>/usr/share/icecast2/web</webroot>
    <adminroot>/usr/share/icecast2/admin</adminroot>
    <pidfile>$TMP/ice/icecast.pid</pidfile>
  </paths>
  <logging>
    <accesslog>access.log</accesslog>
    <errorlog>error.log</errorlog>
    <loglevel>2</loglevel>
  </logging>
  <security>
    <chroot>0</chroot>
EOF
# Icecast refuses to run as root; then it drops to nobody itself.
if [ "$(id -u)" = 0 ]; then
	cat >>"$TMP/ice/icecast.xml" <<EOF
    <changeowner><user>nobody</user><group>nogroup</group></changeowner>
EOF
	chmod 711 "$TMP"
	chmod 777 "$TMP/ice"
fi
cat >>"$TMP/ice/icecast.xml" <<EOF
  </security>
</icecast>
EOF
"$ICECAST" -c "$TMP/ice/icecast.xml" >"$TMP/ice/stdout.log" 2>&1 &
IPID=$!
i=0
until curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$IPORT/"; do
	sleep 0.1
	i=$((i + 1))
	if [ $i -ge 100 ] || ! kill -0 "$IPID" 2>/dev/null; then
		echo "fanout: icecast2 did not start:" >&2
		cat "$TMP/ice/stdout.log" "$TMP/ice/error.log" >&2 2>/dev/null || true
		exit 1
	fi
done
python3 "$SRC/bench/icecast_source.py" "$URL$LPATH" "$IPORT" /live.ogg "$PW" \
	"$ICE_PAGE_PACKETS" \
	2>"$TMP/source.log" &
RPID=$!
# The mount exists once the source is connected.
i=0
until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 0.3 \
	"http://127.0.0.1:$IPORT/live.ogg" || true)" = 200 ]; do
	sleep 0.1
	i=$((i + 1))
	if [ $i -ge 100 ] || ! kill -0 "$RPID" 2>/dev/null; then
		echo "fanout: the Icecast source did not connect:" >&2
		cat "$TMP/source.log" "$TMP/ice/error.log" >&2 2>/dev/null || true
		exit 1
	fi
done
while [ "$(date +%s)" -lt "$WARM_UNTIL" ]; do sleep 0.2; done
echo "fanout: icecast2 $($ICECAST -v 2>&1 | head -n 1), $NT listeners, ${SECS} s," \
	"$ICE_PAGE_PACKETS packet(s) per page" >&2
echo "fanout: tuttid $URL$LPATH, $NT listeners, ${SECS} s" >&2

# ---- 3. the crowds: tuttid's, then Icecast's ----
# FANOUT_CONCURRENT=1 runs both at once, each window opening when the
# slower ramp is done: both servers then share the machine's state (other
# jobs, caches) over the same seconds, which helps the CPU ratio on a
# shared machine, but the load of both crowds makes the gaps worse.
WAT=0
[ "${FANOUT_CONCURRENT:-0}" != 1 ] || WAT=$(( (NT + ICE_RATE - 1) / ICE_RATE + 2 ))
"$CLIENT" --port "$PORT" --path "$LPATH" --listeners "$NT" --seconds "$SECS" --rate 2000 \
	--pid "$TPID" --baseline 3 --window-at "$WAT" >"$TMP/tutti.out" &
CT=$!
if [ "${FANOUT_CONCURRENT:-0}" != 1 ]; then
	wait "$CT" || { echo "fanout: the client against tuttid failed" >&2; exit 1; }
	CT=
fi
"$CLIENT" --port "$IPORT" --path /live.ogg --listeners "$NT" --seconds "$SECS" \
	--rate "$ICE_RATE" --pid "$IPID" --baseline 3 --window-at "$WAT" >"$TMP/icecast.out" &
CI=$!
[ -z "$CT" ] || wait "$CT" || { echo "fanout: the client against tuttid failed" >&2; exit 1; }
wait "$CI" || { echo "fanout: the client against Icecast failed" >&2; exit 1; }
CT= CI=
TLINE=$(cat "$TMP/tutti.out")
ILINE=$(cat "$TMP/icecast.out")
echo "fanout: tuttid: $TLINE" >&2
echo "fanout: icecast: $ILINE" >&2

# ---- 4. the line ----
TCPU=$(get "$TLINE" cpu_us_per_listener_s)
ICPU=$(get "$ILINE" cpu_us_per_listener_s)
RATIO=$(awk -v t="$TCPU" -v i="$ICPU" 'BEGIN { if (i > 0) printf "%.2f", t / i; else print "nan" }')
echo "fanout: listeners=$NT tutti_cpu_us_per_listener_s=$TCPU icecast_cpu_us_per_listener_s=$ICPU" \
	"ratio=$RATIO worst_gap_ms=$(get "$TLINE" worst_gap_ms) dropped=$(get "$TLINE" dropped)" \
	"kb_per_listener=$(get "$TLINE" kb_per_listener) wire_overhead=$(get "$TLINE" wire_overhead)"
