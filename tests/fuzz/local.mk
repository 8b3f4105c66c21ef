# tests/fuzz/: libFuzzer targets added with issue 9 (the older ones sit in
# their module's fragment), the 'make fuzz' rule that runs every target,
# and the replay of each seed corpus in the normal test run.
EXTRA_DIST += tests/fuzz/server_harness.h

# The WebSocket opening handshake (server/ws_handshake.c).
check_PROGRAMS += tests/fuzz/fuzz_wshandshake_replay
TESTS += tests/fuzz/fuzz_wshandshake_replay
tests_fuzz_fuzz_wshandshake_replay_SOURCES = tests/fuzz/fuzz_wshandshake.c tests/fuzz/replay.c
tests_fuzz_fuzz_wshandshake_replay_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS='"tests/fuzz/corpus/wshandshake"'
tests_fuzz_fuzz_wshandshake_replay_LDADD = $(WS_TEST_LDADD)
EXTRA_DIST += tests/fuzz/corpus/wshandshake

# Sample files through libsndfile (engine/sampler.c, from memory).
FUZZ_SAMPLE_LIBS = engine/libtt_synth.a engine/libtt_pattern.a common/libtt_common.a \
	$(SNDFILE_LIBS) -lm
check_PROGRAMS += tests/fuzz/fuzz_sample_replay
TESTS += tests/fuzz/fuzz_sample_replay
tests_fuzz_fuzz_sample_replay_SOURCES = tests/fuzz/fuzz_sample.c tests/fuzz/replay.c
tests_fuzz_fuzz_sample_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"tests/fuzz/corpus/sample"'
tests_fuzz_fuzz_sample_replay_LDADD = $(FUZZ_SAMPLE_LIBS)
EXTRA_DIST += tests/fuzz/corpus/sample

# HTTP requests and WebSocket protocol messages through the whole server,
# started in the fuzzer's process: every object of tuttid but its main().
FUZZ_SERVER_OBJS = $(server_tuttid_OBJECTS:server/tuttid-main.o=)
FUZZ_SERVER_LIBS = $(FUZZ_SERVER_OBJS) $(server_tuttid_LDADD)
check_PROGRAMS += tests/fuzz/fuzz_http_replay tests/fuzz/fuzz_rpc_replay
TESTS += tests/fuzz/fuzz_http_replay tests/fuzz/fuzz_rpc_replay
tests_fuzz_fuzz_http_replay_SOURCES = tests/fuzz/fuzz_http.c tests/fuzz/server_harness.c \
	tests/fuzz/replay.c
tests_fuzz_fuzz_http_replay_CPPFLAGS = $(server_tuttid_CPPFLAGS) \
	-DFUZZ_CORPUS='"tests/fuzz/corpus/http"'
tests_fuzz_fuzz_http_replay_LDADD = $(FUZZ_SERVER_LIBS)
tests_fuzz_fuzz_http_replay_DEPENDENCIES = $(FUZZ_SERVER_OBJS) $(server_tuttid_DEPENDENCIES)
tests_fuzz_fuzz_rpc_replay_SOURCES = tests/fuzz/fuzz_rpc.c tests/fuzz/server_harness.c \
	tests/fuzz/replay.c
tests_fuzz_fuzz_rpc_replay_CPPFLAGS = $(server_tuttid_CPPFLAGS) \
	-DFUZZ_CORPUS='"tests/fuzz/corpus/rpc"'
tests_fuzz_fuzz_rpc_replay_LDADD = $(FUZZ_SERVER_LIBS)
tests_fuzz_fuzz_rpc_replay_DEPENDENCIES = $(FUZZ_SERVER_OBJS) $(server_tuttid_DEPENDENCIES)
EXTRA_DIST += tests/fuzz/corpus/http tests/fuzz/corpus/rpc

if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_wshandshake tests/fuzz/fuzz_sample \
	tests/fuzz/fuzz_http tests/fuzz/fuzz_rpc
tests_fuzz_fuzz_wshandshake_SOURCES = tests/fuzz/fuzz_wshandshake.c
tests_fuzz_fuzz_wshandshake_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_wshandshake_LDADD = $(WS_TEST_LDADD)
tests_fuzz_fuzz_sample_SOURCES = tests/fuzz/fuzz_sample.c
tests_fuzz_fuzz_sample_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_sample_LDADD = $(FUZZ_SAMPLE_LIBS)
tests_fuzz_fuzz_http_SOURCES = tests/fuzz/fuzz_http.c tests/fuzz/server_harness.c
tests_fuzz_fuzz_http_CPPFLAGS = $(server_tuttid_CPPFLAGS)
tests_fuzz_fuzz_http_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_http_LDADD = $(FUZZ_SERVER_LIBS)
tests_fuzz_fuzz_http_DEPENDENCIES = $(FUZZ_SERVER_OBJS) $(server_tuttid_DEPENDENCIES)
tests_fuzz_fuzz_rpc_SOURCES = tests/fuzz/fuzz_rpc.c tests/fuzz/server_harness.c
tests_fuzz_fuzz_rpc_CPPFLAGS = $(server_tuttid_CPPFLAGS)
tests_fuzz_fuzz_rpc_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_rpc_LDADD = $(FUZZ_SERVER_LIBS)
tests_fuzz_fuzz_rpc_DEPENDENCIES = $(FUZZ_SERVER_OBJS) $(server_tuttid_DEPENDENCIES)
endif

# make fuzz: every target for FUZZ_SECONDS (default 60) each, one after the
# other, on a working copy of its seed corpus in fuzz/NAME/. Findings
# (crash-*, leak-*, timeout-*, oom-*) are written to fuzz/findings/NAME/;
# after fixing, copy each into tests/fuzz/corpus/NAME so it replays forever.
FUZZ_SECONDS = 60
FUZZ_TARGETS = lang mini pattern synth opjson oggmux wsframe wshandshake sample http rpc
.PHONY: fuzz
if FUZZING
fuzz: $(FUZZ_TARGETS:%=tests/fuzz/fuzz_%)
	@found=""; for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/$$t fuzz/findings/$$t; \
	  cp -n $(srcdir)/tests/fuzz/corpus/$$t/* fuzz/$$t/ 2>/dev/null; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s (log: fuzz/$$t.log)"; \
	  if ! tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=30 \
	       -print_final_stats=1 -artifact_prefix=fuzz/findings/$$t/ fuzz/$$t \
	       >fuzz/$$t.log 2>&1; then found="$$found $$t"; fi; \
	  grep -a '^stat::number_of_executed_units' fuzz/$$t.log | sed "s/^/fuzz: $$t: /"; \
	done; \
	if [ -n "$$found" ]; then \
	  echo "fuzz: FINDINGS in:$$found (inputs in fuzz/findings/NAME/, logs in fuzz/NAME.log)"; \
	  exit 1; \
	fi; echo "fuzz: no findings (new inputs kept in fuzz/NAME/)"
else
fuzz:
	@echo "make fuzz needs a build configured with CC=clang --enable-fuzzing" >&2; exit 1
endif
