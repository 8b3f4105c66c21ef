# tests/load/: reliability under load and faults (issue 11). Each test runs
# the real tuttid; the short modes run here, the full ones from
# bench/reliability.sh (docs/operations.md, "Guarantees").
#   soak.py      8 performers and 200 listeners for about 2 minutes
#   chaos.py     kill -9 and restart, full disk, read-only database,
#                stopped clients, a slow and stalling network
#   overload.py  listeners past TT_MAX_LISTENERS, edit and eval floods
# tests/load/listeners: many checked listeners in one epoll loop.
check_PROGRAMS += tests/load/listeners
tests_load_listeners_SOURCES = tests/load/listeners.c
LOAD_TESTS = tests/load/soak.py tests/load/chaos.py tests/load/overload.py
TESTS += $(LOAD_TESTS)
EXTRA_DIST += $(LOAD_TESTS) tests/load/loadlib.py tests/load/netproxy.py
