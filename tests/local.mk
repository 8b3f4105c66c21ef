# tests/: integration tests that run the real tuttid, and shared test helpers.
EXTRA_DIST += tests/tap.h tests/lib/tuttitest.py tests/package.json tests/package-lock.json

TESTS += tests/server/http_api.py tests/server/ws_raw.py
EXTRA_DIST += tests/server/http_api.py tests/server/ws_raw.py
