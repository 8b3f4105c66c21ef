# server/ws.mk: the WebSocket codec (RFC 6455 framing and handshake), pure
# code that tuttid's connection layer and the tutti client build on.
noinst_LIBRARIES += server/libtt_ws.a
server_libtt_ws_a_SOURCES = \
	server/ws_frame.c server/ws_frame.h \
	server/ws_handshake.c server/ws_handshake.h

WS_TEST_LDADD = server/libtt_ws.a common/libtt_common.a $(MBEDTLS_LIBS)

check_PROGRAMS += tests/server/test_utf8 tests/server/test_ws_frame \
	tests/server/test_ws_handshake
TESTS += tests/server/test_utf8 tests/server/test_ws_frame \
	tests/server/test_ws_handshake
tests_server_test_utf8_SOURCES = tests/server/test_utf8.c tests/tap.h
tests_server_test_utf8_LDADD = common/libtt_common.a
tests_server_test_ws_frame_SOURCES = tests/server/test_ws_frame.c tests/tap.h
tests_server_test_ws_frame_LDADD = $(WS_TEST_LDADD)
tests_server_test_ws_handshake_SOURCES = tests/server/test_ws_handshake.c \
	tests/tap.h
tests_server_test_ws_handshake_LDADD = $(WS_TEST_LDADD)

# The frame parser's fuzz target: its seed corpus is replayed by make check.
check_PROGRAMS += tests/fuzz/fuzz_wsframe_replay
TESTS += tests/fuzz/fuzz_wsframe_replay
tests_fuzz_fuzz_wsframe_replay_SOURCES = tests/fuzz/fuzz_wsframe.c \
	tests/fuzz/replay.c
tests_fuzz_fuzz_wsframe_replay_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS='"tests/fuzz/corpus/wsframe"'
tests_fuzz_fuzz_wsframe_replay_LDADD = $(WS_TEST_LDADD)
EXTRA_DIST += tests/fuzz/corpus/wsframe
if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_wsframe
tests_fuzz_fuzz_wsframe_SOURCES = tests/fuzz/fuzz_wsframe.c
tests_fuzz_fuzz_wsframe_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_wsframe_LDADD = $(WS_TEST_LDADD)
endif

# Node's ws client, an independent peer, against the real tuttid (needs
# 'npm ci' in tests/, which deploy/dev.sh test runs).
TESTS += tests/server/ws_node.mjs
EXTRA_DIST += tests/server/ws_node.mjs
