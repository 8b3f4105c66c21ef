# engine/ render half: scheduler, voices, drum kit, sampler, effects, render
# loop (libtt_synth.a), its tests and the render benchmark. Link order:
# libtt_synth.a, engine/libtt_pattern.a, common/libtt_common.a.
noinst_LIBRARIES += engine/libtt_synth.a
# -ffp-contract=off: no fused multiply-add, so every CPU gives the same bits.
SYNTH_CFLAGS = $(AM_CFLAGS) -Wno-psabi -ffp-contract=off
engine_libtt_synth_a_CPPFLAGS = $(AM_CPPFLAGS) $(SNDFILE_CFLAGS)
engine_libtt_synth_a_CFLAGS = $(SYNTH_CFLAGS)
engine_libtt_synth_a_SOURCES = \
	engine/synth_simd.h \
	engine/synth_params.c engine/synth_params.h \
	engine/sampler.c engine/sampler.h \
	engine/voice.c engine/voice.h \
	engine/drums.c engine/drums.h \
	engine/fx.c engine/fx.h \
	engine/sched.c engine/sched.h \
	engine/sched_program.c engine/sched_program.h \
	engine/render.c engine/render.h \
	engine/direct.c engine/direct.h \
	engine/rtguard.c engine/rtguard.h

# Tests (tests/engine/synth_*, sched_*, render_*).
SYNTH_TEST_LIBS = engine/libtt_synth.a engine/libtt_pattern.a common/libtt_common.a \
	$(SNDFILE_LIBS) -lm
check_PROGRAMS += tests/engine/synth_test
TESTS += tests/engine/synth_test
tests_engine_synth_test_SOURCES = tests/engine/synth_test.c tests/engine/synth_events.h
tests_engine_synth_test_CFLAGS = $(SYNTH_CFLAGS)
tests_engine_synth_test_LDADD = $(SYNTH_TEST_LIBS)
check_PROGRAMS += tests/engine/sched_test tests/engine/render_sampler_test \
	tests/engine/render_rtguard_test
TESTS += tests/engine/sched_test tests/engine/render_sampler_test \
	tests/engine/render_rtguard_test
tests_engine_sched_test_SOURCES = tests/engine/sched_test.c tests/engine/synth_events.h
tests_engine_sched_test_LDADD = $(SYNTH_TEST_LIBS)
tests_engine_render_sampler_test_SOURCES = tests/engine/render_sampler_test.c \
	tests/engine/synth_events.h
tests_engine_render_sampler_test_CPPFLAGS = $(AM_CPPFLAGS) $(SNDFILE_CFLAGS)
tests_engine_render_sampler_test_LDADD = $(SYNTH_TEST_LIBS)
# The guard's hooks (malloc, free, pthread_mutex_lock...) live only in this
# test binary: engine/rtguard.c compiled again with -DRTGUARD_HOOKS.
tests_engine_render_rtguard_test_SOURCES = tests/engine/render_rtguard_test.c \
	tests/engine/synth_events.h engine/rtguard.c
tests_engine_render_rtguard_test_CPPFLAGS = $(AM_CPPFLAGS) -DRTGUARD_HOOKS
tests_engine_render_rtguard_test_LDADD = $(SYNTH_TEST_LIBS)
# Direct events (OSC input) through render_trigger, under the guard too.
check_PROGRAMS += tests/engine/render_direct_test
TESTS += tests/engine/render_direct_test
tests_engine_render_direct_test_SOURCES = tests/engine/render_direct_test.c engine/rtguard.c
tests_engine_render_direct_test_CPPFLAGS = $(AM_CPPFLAGS) -DRTGUARD_HOOKS
tests_engine_render_direct_test_LDADD = $(SYNTH_TEST_LIBS)
# Through real compiled programs, and `tutti render` (clients/cli/render.c).
check_PROGRAMS += tests/engine/render_program_test
TESTS += tests/engine/render_program_test
# It carries the rtguard hooks too: real programs are queried under the guard.
tests_engine_render_program_test_SOURCES = tests/engine/render_program_test.c \
	clients/cli/render.c engine/rtguard.c
tests_engine_render_program_test_CPPFLAGS = $(AM_CPPFLAGS) $(SNDFILE_CFLAGS) $(SQLITE_CFLAGS) \
	$(OPUS_CFLAGS) $(OPUSFILE_CFLAGS) -DRTGUARD_HOOKS
tests_engine_render_program_test_LDADD = server/libtt_replay.a storage/libtt_storage.a \
	engine/libtt_synth.a engine/libtt_pattern.a \
	codec/libtt_codec.a common/libtt_common.a $(SNDFILE_LIBS) $(OPUSFILE_LIBS) \
	$(OPUS_LIBS) $(SQLITE_LIBS) $(JANSSON_LIBS) -lm

# bench/render_voices: the engine half of bench/render (the script).
noinst_PROGRAMS += bench/render_voices
bench_render_voices_SOURCES = bench/render.c tests/engine/synth_events.h
bench_render_voices_CPPFLAGS = $(AM_CPPFLAGS) $(OPUS_CFLAGS)
bench_render_voices_LDADD = engine/libtt_synth.a engine/libtt_pattern.a \
	codec/libtt_codec.a common/libtt_common.a $(SNDFILE_LIBS) $(OPUS_LIBS) -lm
EXTRA_DIST += bench/render bench/four_tracks.js

# Fuzz: events with any controls and values through the whole render path.
check_PROGRAMS += tests/fuzz/fuzz_synth_replay
TESTS += tests/fuzz/fuzz_synth_replay
tests_fuzz_fuzz_synth_replay_SOURCES = tests/fuzz/fuzz_synth.c tests/fuzz/replay.c \
	tests/engine/synth_events.h
tests_fuzz_fuzz_synth_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"tests/fuzz/corpus/synth"'
tests_fuzz_fuzz_synth_replay_LDADD = $(SYNTH_TEST_LIBS)
EXTRA_DIST += tests/fuzz/corpus/synth
if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_synth
tests_fuzz_fuzz_synth_SOURCES = tests/fuzz/fuzz_synth.c tests/engine/synth_events.h
tests_fuzz_fuzz_synth_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_synth_LDADD = $(SYNTH_TEST_LIBS)
endif
