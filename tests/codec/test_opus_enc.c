/*
 * tests/codec/test_opus_enc.c: the encoder's configuration (defaults, every
 * limit at N and N+1), packet stamps (frame position, granule, index), the
 * end of a stream (tail, drain, closed), and that the per-frame path makes
 * no allocation (malloc/free interposed and counted around it).
 */
#include <stdlib.h>
#include <string.h>

#include "codec/opus_enc.h"
#include "common/error.h"
#include "common/heap.h"
#include "tests/tap.h"

/* ---- counting allocator (not under ASan, which owns malloc) ---- */

static int counting;
static int alloc_calls;

#ifndef TT_ASAN
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

void *malloc(size_t n)
{
	alloc_calls += counting;
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	alloc_calls += counting;
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	alloc_calls += counting;
	return __libc_realloc(p, n);
}

void free(void *p)
{
	alloc_calls += counting && p;
	__libc_free(p);
}
#endif

static int try_cfg(void (*edit)(opusenc_config *, int), int v)
{
	opusenc_config c;
	opusenc *e = NULL;
	int rc;

	opusenc_config_default(&c);
	edit(&c, v);
	rc = opusenc_new(&c, &e);
	if ((rc == TT_OK) != (e != NULL))
		return 99;
	opusenc_free(e);
	return rc;
}

static void set_bitrate(opusenc_config *c, int v) { c->bitrate = v; }
static void set_frame(opusenc_config *c, int v) { c->frame_size = v; }
static void set_complexity(opusenc_config *c, int v) { c->complexity = v; }
static void set_channels(opusenc_config *c, int v) { c->channels = v; }
static void set_rate(opusenc_config *c, int v) { c->sample_rate = v; }

static void check_config(void)
{
	static const int good_frames[] = { 120, 240, 480, 960, 1920, 2880 };
	static const int bad_frames[] = { 0, -960, 119, 121, 959, 961, 2881,
					  5760 };
	opusenc_config c;

	opusenc_config_default(&c);
	ok(c.bitrate == 128000 && c.frame_size == 960 && c.complexity == 10 &&
	   c.channels == 2 && c.sample_rate == 48000 && c.vbr &&
	   !c.low_delay && c.start_frame == 0,
	   "defaults: 128 kbit/s, 20 ms, complexity 10, stereo, 48 kHz");
	is_int(opusenc_config_check(&c), TT_OK, "defaults are valid");
	is_int(opusenc_config_check(NULL), TT_EINVAL, "NULL config");

	is_int(try_cfg(set_bitrate, TT_MIN_OPUS_BITRATE), TT_OK,
	       "bitrate = TT_MIN_OPUS_BITRATE accepted");
	is_int(try_cfg(set_bitrate, TT_MIN_OPUS_BITRATE - 1), TT_EINVAL,
	       "bitrate = TT_MIN_OPUS_BITRATE - 1 refused");
	is_int(try_cfg(set_bitrate, TT_MAX_OPUS_BITRATE), TT_OK,
	       "bitrate = TT_MAX_OPUS_BITRATE accepted");
	is_int(try_cfg(set_bitrate, TT_MAX_OPUS_BITRATE + 1), TT_EINVAL,
	       "bitrate = TT_MAX_OPUS_BITRATE + 1 refused");
	for (size_t i = 0; i < sizeof good_frames / sizeof *good_frames; i++)
		is_int(try_cfg(set_frame, good_frames[i]), TT_OK,
		       "frame size %d accepted", good_frames[i]);
	for (size_t i = 0; i < sizeof bad_frames / sizeof *bad_frames; i++)
		is_int(try_cfg(set_frame, bad_frames[i]), TT_EINVAL,
		       "frame size %d refused", bad_frames[i]);
	is_int(try_cfg(set_complexity, 0), TT_OK, "complexity 0 accepted");
	is_int(try_cfg(set_complexity, -1), TT_EINVAL, "complexity -1 refused");
	is_int(try_cfg(set_complexity, 10), TT_OK, "complexity 10 accepted");
	is_int(try_cfg(set_complexity, 11), TT_EINVAL, "complexity 11 refused");
	is_int(try_cfg(set_channels, 1), TT_OK, "1 channel accepted");
	is_int(try_cfg(set_channels, 0), TT_EINVAL, "0 channels refused");
	is_int(try_cfg(set_channels, 3), TT_EINVAL, "3 channels refused");
	is_int(try_cfg(set_rate, 44100), TT_EINVAL, "44.1 kHz refused");
}

static void check_stamps(void)
{
	opusenc_config c;
	opusenc *e = NULL;
	uint8_t buf[TT_MAX_OPUS_PACKET];
	float pcm[960 * 2] = { 0 };
	opusenc_packet p;
	int pre, bad = 0;

	opusenc_config_default(&c);
	c.start_frame = 1000000;
	is_int(opusenc_new(&c, &e), TT_OK, "encoder created");
	pre = opusenc_pre_skip(e);
	is_int(pre, 312, "pre-skip is libopus's look-ahead at 48 kHz (312)");
	is_int(opusenc_encode(e, pcm, buf, sizeof buf - 1, &p), TT_EINVAL,
	       "a buffer of TT_MAX_OPUS_PACKET - 1 bytes is refused");
	is_int(opusenc_frames_in(e), 0, "a refused frame is not counted");
	for (int k = 0; k < 10; k++) {
		for (int i = 0; i < 960 * 2; i++)
			pcm[i] = (float)((i * 7 + k) % 100) / 200.0f;
		if (opusenc_encode(e, pcm, buf, sizeof buf, &p) != TT_OK ||
		    p.data != buf || p.len < 1 || p.samples != 960 ||
		    p.index != k || p.last ||
		    p.frame != 1000000 + (int64_t)k * 960 - pre ||
		    p.granule != (int64_t)(k + 1) * 960)
			bad++;
	}
	is_int(bad, 0, "10 packets: frame = start + k*960 - pre-skip, "
	       "granule = (k+1)*960, index k");
	is_int(opusenc_frames_in(e), 9600, "10 frames counted");
	is_int(opusenc_drain(e, buf, sizeof buf, &p), TT_OK, "drain");
	ok(p.last && p.granule == 9600 + pre,
	   "one drain packet ends a 20 ms stream: granule = frames + pre-skip");
	is_int(opusenc_encode(e, pcm, buf, sizeof buf, &p), TT_ECLOSED,
	       "encode after the last packet: TT_ECLOSED");
	is_int(opusenc_drain(e, buf, sizeof buf, &p), TT_ECLOSED,
	       "drain after the last packet: TT_ECLOSED");
	opusenc_free(e);
}

/* With 2.5 ms frames the look-ahead (312) spans three frames. */
static void check_tail_and_drain(void)
{
	opusenc_config c;
	opusenc *e = NULL;
	uint8_t buf[TT_MAX_OPUS_PACKET];
	float pcm[120 * 2] = { 0 };
	opusenc_packet p = { .last = false };
	int drains = 0;

	opusenc_config_default(&c);
	c.frame_size = 120;
	opusenc_new(&c, &e);
	opusenc_encode(e, pcm, buf, sizeof buf, &p);
	is_int(opusenc_encode_tail(e, pcm, 0, buf, sizeof buf, &p), TT_EINVAL,
	       "tail of 0 frames refused");
	is_int(opusenc_encode_tail(e, pcm, 120, buf, sizeof buf, &p),
	       TT_EINVAL, "tail of a whole frame refused");
	is_int(opusenc_encode_tail(e, pcm, 119, buf, sizeof buf, &p), TT_OK,
	       "tail of 119 frames");
	ok(!p.last, "the tail does not cover the look-ahead yet");
	is_int(opusenc_encode(e, pcm, buf, sizeof buf, &p), TT_ECLOSED,
	       "encode after the tail: TT_ECLOSED");
	while (!p.last && drains < 10) {
		if (opusenc_drain(e, buf, sizeof buf, &p) != TT_OK)
			break;
		drains++;
	}
	/* 120 + 119 real frames + 312 look-ahead = 551 samples: 5 packets. */
	ok(drains == 3 && p.granule == 120 + 119 + 312 && p.index == 4,
	   "drain: 3 packets, last granule 551 (drains %d, granule %lld)",
	   drains, (long long)p.granule);
	opusenc_free(e);

	opusenc_config_default(&c);
	opusenc_new(&c, &e);
	is_int(opusenc_encode_tail(e, pcm, 100, buf, sizeof buf, &p), TT_OK,
	       "20 ms frames: a 100-frame tail");
	ok(p.last && p.granule == 100 + 312 && p.index == 0,
	   "its padding covers the look-ahead: it is the last packet");
	opusenc_free(e);
}

static void check_no_alloc(void)
{
	opusenc_config c;
	opusenc *e = NULL;
	uint8_t buf[TT_MAX_OPUS_PACKET];
	static float pcm[2880 * 2];
	opusenc_packet p;
	int rc = 0;

#ifdef TT_ASAN
	printf("ok %d # SKIP malloc cannot be interposed under ASan\n",
	       ++tap_n_);
	return;
#endif
	for (int i = 0; i < 2880 * 2; i++)
		pcm[i] = (float)((i * 31) % 200 - 100) / 150.0f;
	opusenc_config_default(&c);
	c.frame_size = 2880;
	opusenc_new(&c, &e);
	counting = 1;
	alloc_calls = 0;
	for (int k = 0; k < 50; k++)
		rc |= opusenc_encode(e, pcm, buf, sizeof buf, &p);
	p.last = false;
	while (!rc && !p.last)
		rc |= opusenc_drain(e, buf, sizeof buf, &p);
	counting = 0;
	ok(rc == 0 && alloc_calls == 0,
	   "encode and drain made no allocation (%d calls)", alloc_calls);
	opusenc_free(e);
}

int main(void)
{
	check_config();
	check_stamps();
	check_tail_and_drain();
	check_no_alloc();
	return tap_done();
}
