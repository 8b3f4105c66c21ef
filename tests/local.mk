# tests/: integration tests that run the real tuttid, and shared test helpers.
EXTRA_DIST += tests/tap.h tests/lib/tuttitest.py tests/package.json tests/package-lock.json

EXTRA_DIST += tests/lib/otclient.py
SERVER_TESTS = tests/server/http_api.py tests/server/ws_raw.py \
	tests/server/editing.py tests/server/convergence.py tests/server/crash_edit.py
TESTS += $(SERVER_TESTS)
EXTRA_DIST += $(SERVER_TESTS)
