/*
 * tests/codec/codec_util.h: signals, the live encode path into memory, and
 * real decoding with libopusfile, shared by the codec tests.
 */
#ifndef TT_TESTS_CODEC_UTIL_H
#define TT_TESTS_CODEC_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "codec/opus_enc.h"

typedef struct cu_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
} cu_buf;

void cu_append(cu_buf *b, const void *p, size_t n);
void cu_buf_free(cu_buf *b);

/* Interleaved test signals, the same value on every channel. */
void cu_sine(float *pcm, size_t frames, int ch, double hz, double amp);
/* Linear chirp from f0 to f1 Hz over the whole length. */
void cu_chirp(float *pcm, size_t frames, int ch, double f0, double f1,
	      double amp);

/* Encodes frames of pcm through opusenc + oggmux (full frames, then the
 * partial tail, then drain) into out: a whole Ogg Opus stream. */
int cu_encode_ogg(const float *pcm, size_t frames, const opusenc_config *ec,
		  int page_samples, uint32_t serial, cu_buf *out);

/* Decodes an Ogg Opus stream in memory with libopusfile. *pcm (malloc'd,
 * interleaved, *channels per frame) receives *frames frames; *holes counts
 * OP_HOLE answers. Returns 0 or the opusfile error. */
int cu_decode(const uint8_t *data, size_t len, float **pcm, size_t *frames,
	      int *channels, int *holes);

/* Frequency of channel 0 of pcm[from, from+n) by counting zero crossings. */
double cu_zero_cross_hz(const float *pcm, int ch, size_t from, size_t n);
/* Signal-to-noise ratio in dB of got against want, channel-interleaved,
 * over frames [from, from+n). */
double cu_snr_db(const float *want, const float *got, int ch, size_t from,
		 size_t n);

/* Byte offsets of each page start in data (*n of them, malloc'd). */
int cu_page_offsets(const uint8_t *data, size_t len, size_t **offs, size_t *n);

#endif
