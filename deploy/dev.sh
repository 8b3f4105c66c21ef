#!/usr/bin/env bash
# deploy/dev.sh: the two set-up commands of README.md, and a plain build.
#
#   deploy/dev.sh run     install what is missing, build, start tuttid on
#                         http://127.0.0.1:8080 with its database in ./var
#   deploy/dev.sh test    install what is missing, build, run every test;
#                         the last line is 'N passed, N failed'
#   deploy/dev.sh build   install what is missing and build
#   deploy/dev.sh bench   also install the peers (Strudel, scsynth,
#                         y-websocket, Icecast) and print every benchmark's
#                         line; not part of the tests
#
# Builds out of tree in ./build. Extra arguments after 'run' go to tuttid.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

# Debian packages the build needs, then those only the tests need.
build_pkgs="build-essential autoconf automake libtool pkg-config
  libmicrohttpd-dev libsqlite3-dev libopus-dev libopusenc-dev libopusfile-dev
  libjansson-dev libmbedtls-dev libsndfile1-dev libshout3-dev liblo-dev"
test_pkgs="python3 sqlite3 opus-tools curl clang libclang-rt-14-dev chromium icecast2 emacs-nox neovim liblo-tools openssl man-db groff-base"

say() { printf 'dev.sh: %s\n' "$*" >&2; }

install_missing() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' \
			|| missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing Debian packages: ${missing[*]}"
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

need_node() {
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		install_missing nodejs npm
	fi
}

# The web client: CodeMirror 6 and esbuild from the npm registry, bundled
# into clients/web/dist, which tuttid serves.
build_web() {
	need_node
	(cd clients/web && npm ci --no-audit --no-fund --loglevel=error && node build.mjs >/dev/null)
}

build() {
	if [ ! -x configure ] || [ configure.ac -nt configure ]; then
		say "autoreconf"
		autoreconf -fi >/dev/null
	fi
	mkdir -p build
	if [ ! -f build/Makefile ] || [ configure -nt build/config.status ]; then
		say "configure $*"
		(cd build && ../configure -q "$@")
	fi
	make -C build -j"$(nproc)" -s
}

# Counts the test points recorded by automake's TAP driver in the .trs files
# of the build folders given (the normal build and the sanitizer build).
summarize() {
	find "$@" -name '*.trs' -exec cat {} + 2>/dev/null | awk -v f="${extra_failed:-0}" '
		/^:test-result: PASS/  { p++ }
		/^:test-result: XFAIL/ { p++ }
		/^:test-result: SKIP/  { s++ }
		/^:test-result: (FAIL|XPASS|ERROR)/ { f++ }
		END {
			line = sprintf("%d passed, %d failed", p, f)
			if (s) line = line sprintf(", %d skipped", s)
			print line
			exit (f > 0)
		}'
}

# The whole suite again in ./build-san, built with --enable-sanitizers:
# AddressSanitizer (with LeakSanitizer) and UndefinedBehaviorSanitizer, every
# report fatal (halt_on_error), in the C tests and in every tuttid the
# Python and Node tests start (tests/lib/tuttitest.py fails on a report).
# Sets san_rc to make's status.
check_sanitized() {
	local t0=$SECONDS
	mkdir -p build-san
	if [ ! -f build-san/Makefile ] || [ configure -nt build-san/config.status ]; then
		say "configure --enable-sanitizers (build-san)"
		(cd build-san && ../configure -q --enable-sanitizers)
	fi
	make -C build-san -j"$(nproc)" -s
	san_rc=0
	ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		make -C build-san -k -j"$(nproc)" check >build-san/check.out 2>&1 || san_rc=$?
	grep -aE '^(FAIL|XPASS|ERROR|SKIP):' build-san/check.out | sed 's/^/sanitizers: /' || true
	say "the sanitizer build and suite took $((SECONDS - t0)) s"
}

case "${1:-}" in
run)
	shift
	install_missing $build_pkgs
	build
	build_web
	mkdir -p var
	say "starting tuttid on http://127.0.0.1:8080 (database var/tutti.db)"
	exec build/server/tuttid --listen 127.0.0.1:8080 --db var/tutti.db --web "$top/clients/web/dist" "$@"
	;;
test)
	install_missing $build_pkgs $test_pkgs
	need_node
	(cd tests && npm ci --no-audit --no-fund --loglevel=error)
	build --enable-werror
	build_web
	rc=0
	make -C build -k -j"$(nproc)" check >build/check.out 2>&1 || rc=$?
	grep -aE '^(FAIL|XPASS|ERROR|SKIP):' build/check.out || true
	if [ $rc -ne 0 ] && ! grep -aq '^# TOTAL' build/check.out; then
		cat build/check.out
		say "make check failed before running the tests"
		echo "0 passed, 1 failed"
		exit 1
	fi
	check_sanitized
	if [ $san_rc -ne 0 ] && ! grep -aq '^# TOTAL' build-san/check.out; then
		tail -n 50 build-san/check.out
		say "make check in build-san failed before running the tests"
		extra_failed=1
	fi
	[ $san_rc -eq 0 ] || rc=1
	summarize build build-san || rc=1
	exit $rc
	;;
build)
	install_missing $build_pkgs
	shift
	build "$@"
	;;
bench)
	install_missing $build_pkgs $test_pkgs supercollider-server
	need_node
	(cd bench && npm ci --no-audit --no-fund --loglevel=error)
	build
	export TT_BUILDDIR="$top/build" TT_SRCDIR="$top"
	for b in bench/pattern.sh bench/render bench/collab.sh bench/fanout.sh bench/latency.sh bench/replay bench/reliability.sh; do
		say "running $b"
		case "$b" in *.sh) run=(bash "$b") ;; *) run=(python3 "$b") ;; esac
		"${run[@]}" 2>"build/$(basename "$b").log" | tail -n 1 ||
			say "$b failed: see build/$(basename "$b").log"
	done
	;;
*)
	echo "usage: deploy/dev.sh run|test|build|bench" >&2
	exit 2
	;;
esac
