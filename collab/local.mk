# collab/: operational transformation on shared code documents (pure C, no
# I/O). The server composes it with storage/ and the WebSocket layer.
noinst_LIBRARIES += collab/libtt_collab.a
collab_libtt_collab_a_SOURCES = \
	collab/utf.c collab/utf.h \
	collab/ot.c collab/ot.h \
	collab/ot_json.c collab/ot_json.h \
	collab/doc.c collab/doc.h collab/collab_int.h
collab_libtt_collab_a_CPPFLAGS = $(AM_CPPFLAGS) $(JANSSON_CFLAGS)

COLLAB_LDADD = collab/libtt_collab.a common/libtt_common.a $(JANSSON_LIBS)

check_PROGRAMS += tests/collab/test_utf tests/collab/test_ot \
	tests/collab/test_ot_props tests/collab/test_ot_json \
	tests/collab/test_doc
TESTS += tests/collab/test_utf tests/collab/test_ot \
	tests/collab/test_ot_props tests/collab/test_ot_json \
	tests/collab/test_doc
EXTRA_DIST += tests/collab/oplib.h
tests_collab_test_utf_SOURCES = tests/collab/test_utf.c
tests_collab_test_utf_LDADD = $(COLLAB_LDADD)
tests_collab_test_ot_SOURCES = tests/collab/test_ot.c
tests_collab_test_ot_CPPFLAGS = $(AM_CPPFLAGS) $(JANSSON_CFLAGS)
tests_collab_test_ot_LDADD = $(COLLAB_LDADD)
tests_collab_test_ot_props_SOURCES = tests/collab/test_ot_props.c
tests_collab_test_ot_props_CPPFLAGS = $(AM_CPPFLAGS) $(JANSSON_CFLAGS)
tests_collab_test_ot_props_LDADD = $(COLLAB_LDADD)
tests_collab_test_ot_json_SOURCES = tests/collab/test_ot_json.c
tests_collab_test_ot_json_CPPFLAGS = $(AM_CPPFLAGS) $(JANSSON_CFLAGS)
tests_collab_test_ot_json_LDADD = $(COLLAB_LDADD)
tests_collab_test_doc_SOURCES = tests/collab/test_doc.c
tests_collab_test_doc_CPPFLAGS = $(AM_CPPFLAGS) $(JANSSON_CFLAGS)
tests_collab_test_doc_LDADD = $(COLLAB_LDADD)

# The operation decoder's fuzz target, replayed over its seeds on every run.
check_PROGRAMS += tests/fuzz/fuzz_opjson_replay
TESTS += tests/fuzz/fuzz_opjson_replay
tests_fuzz_fuzz_opjson_replay_SOURCES = tests/fuzz/fuzz_opjson.c tests/fuzz/replay.c
tests_fuzz_fuzz_opjson_replay_CPPFLAGS = $(AM_CPPFLAGS) $(JANSSON_CFLAGS) \
	-DFUZZ_CORPUS='"tests/fuzz/corpus/opjson"'
tests_fuzz_fuzz_opjson_replay_LDADD = $(COLLAB_LDADD)
EXTRA_DIST += tests/fuzz/corpus/opjson
if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_opjson
tests_fuzz_fuzz_opjson_SOURCES = tests/fuzz/fuzz_opjson.c
tests_fuzz_fuzz_opjson_CPPFLAGS = $(AM_CPPFLAGS) $(JANSSON_CFLAGS)
tests_fuzz_fuzz_opjson_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_opjson_LDADD = $(COLLAB_LDADD)
endif

# The OT core's throughput on a recorded editing trace (issue 6, item 5).
noinst_PROGRAMS += bench/ot_apply
bench_ot_apply_SOURCES = bench/ot_apply.c
bench_ot_apply_CPPFLAGS = $(AM_CPPFLAGS) $(JANSSON_CFLAGS)
bench_ot_apply_LDADD = $(COLLAB_LDADD)
