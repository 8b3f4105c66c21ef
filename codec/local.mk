# codec/: Opus encoding (libopus) and our own Ogg Opus muxer; one encode path
# for WebSocket packets, Ogg streams, archives and files.
noinst_LIBRARIES += codec/libtt_codec.a
codec_libtt_codec_a_SOURCES = \
	codec/opus_enc.c codec/opus_enc.h \
	codec/ogg_mux.c codec/ogg_mux.h \
	codec/ogg_file.c codec/ogg_file.h
codec_libtt_codec_a_CPPFLAGS = $(AM_CPPFLAGS) $(OPUS_CFLAGS)

CODEC_TEST_LDADD = codec/libtt_codec.a common/libtt_common.a \
	$(OPUSFILE_LIBS) $(OPUS_LIBS) -lm
CODEC_TEST_CPPFLAGS = $(AM_CPPFLAGS) $(OPUS_CFLAGS) $(OPUSFILE_CFLAGS)

check_PROGRAMS += tests/codec/test_opus_enc tests/codec/test_ogg_mux \
	tests/codec/test_codec_roundtrip tests/codec/test_ogg_file
TESTS += tests/codec/test_opus_enc tests/codec/test_ogg_mux \
	tests/codec/test_codec_roundtrip tests/codec/test_ogg_file

tests_codec_test_opus_enc_SOURCES = tests/codec/test_opus_enc.c
tests_codec_test_opus_enc_CPPFLAGS = $(CODEC_TEST_CPPFLAGS)
tests_codec_test_opus_enc_LDADD = $(CODEC_TEST_LDADD)

tests_codec_test_ogg_mux_SOURCES = tests/codec/test_ogg_mux.c
tests_codec_test_ogg_mux_CPPFLAGS = $(CODEC_TEST_CPPFLAGS)
tests_codec_test_ogg_mux_LDADD = $(CODEC_TEST_LDADD)

tests_codec_test_codec_roundtrip_SOURCES = tests/codec/test_codec_roundtrip.c \
	tests/codec/codec_util.c tests/codec/codec_util.h
tests_codec_test_codec_roundtrip_CPPFLAGS = $(CODEC_TEST_CPPFLAGS)
tests_codec_test_codec_roundtrip_LDADD = $(CODEC_TEST_LDADD)

tests_codec_test_ogg_file_SOURCES = tests/codec/test_ogg_file.c \
	tests/codec/codec_util.c tests/codec/codec_util.h
tests_codec_test_ogg_file_CPPFLAGS = $(CODEC_TEST_CPPFLAGS)
tests_codec_test_ogg_file_LDADD = $(CODEC_TEST_LDADD)

# bench/encode: our encode path (opus_enc + ogg_mux into memory) against a
# bare libopus loop on the same PCM; bench/render runs it for encode_ratio.
noinst_PROGRAMS += bench/encode
bench_encode_SOURCES = bench/encode.c
bench_encode_CPPFLAGS = $(AM_CPPFLAGS) $(OPUS_CFLAGS)
bench_encode_LDADD = codec/libtt_codec.a common/libtt_common.a $(OPUS_LIBS) -lm

# The muxer under arbitrary push/flush sequences (tests/fuzz/fuzz_oggmux.c).
check_PROGRAMS += tests/fuzz/fuzz_oggmux_replay
TESTS += tests/fuzz/fuzz_oggmux_replay
tests_fuzz_fuzz_oggmux_replay_SOURCES = tests/fuzz/fuzz_oggmux.c tests/fuzz/replay.c
tests_fuzz_fuzz_oggmux_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"tests/fuzz/corpus/oggmux"'
tests_fuzz_fuzz_oggmux_replay_LDADD = codec/libtt_codec.a common/libtt_common.a
EXTRA_DIST += tests/fuzz/corpus/oggmux
if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_oggmux
tests_fuzz_fuzz_oggmux_SOURCES = tests/fuzz/fuzz_oggmux.c
tests_fuzz_fuzz_oggmux_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_oggmux_LDADD = codec/libtt_codec.a common/libtt_common.a
endif
