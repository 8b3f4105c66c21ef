# tests/: integration tests that run the real tuttid, and shared test helpers.
EXTRA_DIST += tests/tap.h tests/lib/tuttitest.py tests/package.json tests/package-lock.json

EXTRA_DIST += tests/lib/otclient.py
EXTRA_DIST += tests/server/tls_ws.mjs
SERVER_TESTS = tests/server/http_api.py tests/server/ws_raw.py \
	tests/server/editing.py tests/server/convergence.py tests/server/crash_edit.py \
	tests/server/live.py tests/server/cli_eval.py tests/server/demo.py \
	tests/server/limits.py tests/server/perf_budgets.py tests/server/auth.py tests/server/chat.py \
	tests/server/accounts.py tests/server/cli_login.py tests/server/backup.py \
	tests/server/metrics.py tests/server/install.py tests/server/icecast_relay.py \
	tests/server/hostile.py tests/server/slowloris.py tests/server/cli_tools.py tests/server/history.py \
	tests/server/export_import.py \
	tests/server/icecast.py tests/server/cli_edit.py tests/server/tls.py \
	tests/server/osc.py \
	tests/server/replay.py tests/server/archive.py
TESTS += $(SERVER_TESTS)
EXTRA_DIST += $(SERVER_TESTS)

# Decodes what tuttid streamed (libopusfile, libopus) for tests/server/live.py.
check_PROGRAMS += tests/server/oggcheck
tests_server_oggcheck_SOURCES = tests/server/oggcheck.c
tests_server_oggcheck_CPPFLAGS = $(AM_CPPFLAGS) $(OPUSFILE_CFLAGS) $(OPUS_CFLAGS)
tests_server_oggcheck_LDADD = $(OPUSFILE_LIBS) $(OPUS_LIBS) -lm

# The web client: ot.js against the Python reference client and a real
# tuttid, and the pages in real Chromium (playwright-core, Debian's chromium).
WEB_TESTS = tests/web/ot.test.mjs tests/web/browser.test.mjs tests/web/history.test.mjs
TESTS += $(WEB_TESTS)
EXTRA_DIST += $(WEB_TESTS) tests/web/lib.mjs clients/web/package.json clients/web/package-lock.json \
	clients/web/build.mjs clients/web/src
