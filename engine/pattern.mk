# engine/pattern.mk: the pattern language library, engine/libtt_pattern.a.
# Two sections, each edited only by its owner.
noinst_LIBRARIES += engine/libtt_pattern.a
engine_libtt_pattern_a_SOURCES =

# pattern core (P1)
engine_libtt_pattern_a_SOURCES += engine/rational.c engine/rational.h \
	engine/arena.c engine/arena.h engine/event.c engine/event.h \
	engine/pattern.h engine/pattern_internal.h engine/pattern.c \
	engine/pattern_query.c engine/pattern_join.c engine/pattern_time.c engine/pattern_rand.c \
	engine/pattern_signal.c engine/pattern_arith.c engine/pattern_tonal.c engine/scales_table.h engine/voicings_table.h \
	engine/controls.c engine/controls_table.h
PAT_TEST_LIBS = engine/libtt_pattern.a common/libtt_common.a -lm
check_PROGRAMS += tests/engine/rational_test tests/engine/pattern_test
TESTS += tests/engine/rational_test tests/engine/pattern_test
tests_engine_rational_test_SOURCES = tests/engine/rational_test.c
tests_engine_rational_test_LDADD = $(PAT_TEST_LIBS)
tests_engine_pattern_test_SOURCES = tests/engine/pattern_test.c
tests_engine_pattern_test_LDADD = $(PAT_TEST_LIBS)
# Strudel 1.2.6's answers to cases beyond the public corpus, through tutti query.
TESTS += tests/engine/pattern_extra.py
EXTRA_DIST += tests/engine/pattern_extra.py tests/engine/pattern_extra_corpus.jsonl \
	tests/engine/pattern_extra_expected.jsonl tests/engine/pattern_extra_gen.py \
	tests/engine/pattern_extra_gen_values.py
# Euclid's fast Bjorklund against Strudel's list form, every k for n <= 32.
TESTS += tests/engine/bjorklund.py
EXTRA_DIST += tests/engine/bjorklund.py
# The pattern core through its API: seeds (and fixed crashers) replayed.
check_PROGRAMS += tests/fuzz/fuzz_pattern_replay
TESTS += tests/fuzz/fuzz_pattern_replay
tests_fuzz_fuzz_pattern_replay_SOURCES = tests/fuzz/fuzz_pattern.c tests/fuzz/replay.c
tests_fuzz_fuzz_pattern_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"tests/fuzz/corpus/pattern"'
tests_fuzz_fuzz_pattern_replay_LDADD = $(PAT_TEST_LIBS)
EXTRA_DIST += tests/fuzz/corpus/pattern
if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_pattern
tests_fuzz_fuzz_pattern_SOURCES = tests/fuzz/fuzz_pattern.c
tests_fuzz_fuzz_pattern_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_pattern_LDADD = $(PAT_TEST_LIBS)
endif

# front end (P2)
engine_libtt_pattern_a_SOURCES += engine/srcmap.c engine/srcmap.h \
	engine/js_lex.c engine/js_lex.h engine/js_parse.c engine/js_parse.h \
	engine/mini.c engine/mini.h engine/js_eval.c engine/js_eval.h \
	engine/js_eval_internal.h engine/js_builtins.c engine/program.c
check_PROGRAMS += tests/engine/mini_test tests/engine/lang_test
TESTS += tests/engine/mini_test tests/engine/lang_test tests/conformance/run.py
tests_engine_mini_test_SOURCES = tests/engine/mini_test.c
tests_engine_mini_test_LDADD = engine/libtt_pattern.a common/libtt_common.a -lm
tests_engine_lang_test_SOURCES = tests/engine/lang_test.c
tests_engine_lang_test_LDADD = engine/libtt_pattern.a common/libtt_common.a -lm
EXTRA_DIST += tests/conformance/run.py tests/conformance/corpus.jsonl \
	tests/conformance/frontend_corpus.jsonl tests/conformance/frontend_expected.jsonl \
	tests/conformance/expected.jsonl
check_PROGRAMS += tests/fuzz/fuzz_mini_replay tests/fuzz/fuzz_lang_replay
TESTS += tests/fuzz/fuzz_mini_replay tests/fuzz/fuzz_lang_replay
tests_fuzz_fuzz_mini_replay_SOURCES = tests/fuzz/fuzz_mini.c tests/fuzz/replay.c
tests_fuzz_fuzz_mini_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"tests/fuzz/corpus/mini"'
tests_fuzz_fuzz_mini_replay_LDADD = engine/libtt_pattern.a common/libtt_common.a -lm
tests_fuzz_fuzz_lang_replay_SOURCES = tests/fuzz/fuzz_lang.c tests/fuzz/replay.c
tests_fuzz_fuzz_lang_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"tests/fuzz/corpus/lang"'
tests_fuzz_fuzz_lang_replay_LDADD = engine/libtt_pattern.a common/libtt_common.a -lm
EXTRA_DIST += tests/fuzz/corpus/mini tests/fuzz/corpus/lang
if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_mini tests/fuzz/fuzz_lang
tests_fuzz_fuzz_mini_SOURCES = tests/fuzz/fuzz_mini.c
tests_fuzz_fuzz_mini_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_mini_LDADD = engine/libtt_pattern.a common/libtt_common.a -lm
tests_fuzz_fuzz_lang_SOURCES = tests/fuzz/fuzz_lang.c
tests_fuzz_fuzz_lang_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_lang_LDADD = engine/libtt_pattern.a common/libtt_common.a -lm
endif
# bench/pattern.sh drives this program and Strudel under Node (bench/pattern.mjs)
noinst_PROGRAMS += bench/pattern_bench
bench_pattern_bench_SOURCES = bench/pattern_bench.c
bench_pattern_bench_LDADD = engine/libtt_pattern.a common/libtt_common.a -lm
EXTRA_DIST += bench/pattern.sh bench/pattern.mjs bench/package.json
