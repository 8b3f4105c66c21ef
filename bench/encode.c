/*
 * bench/encode.c: our encode path against bare libopus, same PCM, same
 * settings.
 *
 * Usage: bench/encode [--seconds S] [--rounds R]
 * Prints exactly one line on stdout:
 *   encode: ours_x_realtime=A libopus_x_realtime=B encode_ratio=R
 *
 * "Ours" is the live path of a session: opusenc_encode on each 20 ms frame,
 * then oggmux_push with a page per packet into a memory buffer (the most
 * pages, so the most CRC and copying). "libopus" is opus_encoder_create and
 * a bare opus_encode_float loop. Both at 128 kbit/s, complexity 10, VBR,
 * application audio, over S seconds (default 60) of a mix of tones, a
 * decaying kick and noise. Each side runs R times (default 3), alternating,
 * and its least CPU time (this thread's) counts, which filters out the
 * noise of a shared machine. The packets of both sides must be identical
 * (the program fails otherwise): our layer adds no conversion.
 */
#include <math.h>
#include <opus.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/ogg_mux.h"
#include "codec/opus_enc.h"
#include "common/error.h"

#define RATE 48000
#define FRAME 960

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Deterministic "music": a chord of three detuned saws-ish partials, a
 * kick every half second, and a little white noise. */
static float *make_pcm(size_t frames)
{
	float *pcm = malloc(frames * 2 * sizeof *pcm);
	uint32_t rng = 12345;

	if (!pcm)
		return NULL;
	for (size_t i = 0; i < frames; i++) {
		double t = (double)i / RATE, kt = fmod(t, 0.5), v = 0;
		static const double hz[] = { 220.0, 277.18, 329.63, 440.0 };
		for (int k = 0; k < 4; k++)
			v += 0.08 * sin(2 * M_PI * hz[k] * t) +
			     0.03 * sin(2 * M_PI * 3 * hz[k] * t + k);
		v += 0.5 * exp(-kt * 18) * sin(2 * M_PI * (50 + 80 * exp(-kt * 30)) * kt);
		rng = rng * 1664525u + 1013904223u;
		v += 0.05 * ((double)(rng >> 8) / 8388608.0 - 1.0);
		pcm[2 * i] = (float)v;
		pcm[2 * i + 1] = (float)(v * 0.9);
	}
	return pcm;
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

typedef struct run {
	double cpu;
	uint64_t hash;
	size_t bytes;
} run;

static int run_ours(const float *pcm, size_t nframes, uint8_t *mem,
		    size_t memcap, run *r)
{
	static uint8_t pkt[TT_MAX_OPUS_PACKET], pages[OGGMUX_MAX_PUSH_OUT];
	opusenc_config ec;
	oggmux_config mc;
	opusenc *e = NULL;
	oggmux *m = NULL;
	opusenc_packet p;
	size_t n, used = 0;
	double t0;
	int rc;

	opusenc_config_default(&ec);
	oggmux_config_default(&mc);
	r->hash = 1469598103934665603ull;
	t0 = cpu_now();
	rc = opusenc_new(&ec, &e);
	mc.pre_skip = rc ? 0 : opusenc_pre_skip(e);
	if (!rc)
		rc = oggmux_new(&mc, &m);
	for (size_t f = 0; !rc && f < nframes; f++) {
		rc = opusenc_encode(e, pcm + f * FRAME * 2, pkt, sizeof pkt, &p);
		if (!rc)
			rc = oggmux_push(m, p.data, (size_t)p.len, p.granule,
					 false, pages, sizeof pages, &n);
		if (!rc && used + n <= memcap) {
			memcpy(mem + used, pages, n);
			used += n;
		}
		/* Hashing is not part of the path: counted the same on
		 * both sides. */
		r->hash = fnv(r->hash, p.data, (size_t)p.len);
	}
	r->cpu = cpu_now() - t0;
	r->bytes = used;
	oggmux_free(m);
	opusenc_free(e);
	return rc;
}

static int run_libopus(const float *pcm, size_t nframes, run *r)
{
	static uint8_t pkt[TT_MAX_OPUS_PACKET];
	OpusEncoder *enc;
	double t0;
	int err = 0;

	r->hash = 1469598103934665603ull;
	r->bytes = 0;
	t0 = cpu_now();
	enc = opus_encoder_create(RATE, 2, OPUS_APPLICATION_AUDIO, &err);
	if (!enc)
		return TT_EIO;
	opus_encoder_ctl(enc, OPUS_SET_BITRATE(128000));
	opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(10));
	opus_encoder_ctl(enc, OPUS_SET_VBR(1));
	for (size_t f = 0; f < nframes; f++) {
		opus_int32 n = opus_encode_float(enc, pcm + f * FRAME * 2, FRAME,
						 pkt, sizeof pkt);
		if (n < 1) {
			err = TT_EIO;
			break;
		}
		r->bytes += (size_t)n;
		r->hash = fnv(r->hash, pkt, (size_t)n);
	}
	r->cpu = cpu_now() - t0;
	opus_encoder_destroy(enc);
	return err < 0 ? TT_EIO : TT_OK;
}

static long arg_long(int argc, char **argv, const char *name, long def)
{
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0) {
			char *end;
			long v = strtol(argv[i + 1], &end, 10);
			return *end || v < 1 ? -1 : v;
		}
	return def;
}

int main(int argc, char **argv)
{
	long seconds = arg_long(argc, argv, "--seconds", 60);
	long rounds = arg_long(argc, argv, "--rounds", 3);
	size_t nframes, memcap;
	double best_ours = 1e30, best_lib = 1e30, ox, lx;
	uint8_t *mem;
	float *pcm;
	run o, l;

	if (seconds < 1 || rounds < 1 || seconds > 3600) {
		fprintf(stderr, "usage: encode [--seconds 1..3600] [--rounds N]\n");
		return 2;
	}
	nframes = (size_t)seconds * RATE / FRAME;
	memcap = (size_t)seconds * 64000 + OGGMUX_MAX_PUSH_OUT;
	pcm = make_pcm(nframes * FRAME);
	mem = malloc(memcap);
	if (!pcm || !mem) {
		fprintf(stderr, "encode: out of memory\n");
		return 1;
	}
	for (long r = 0; r < rounds; r++) {
		if (run_ours(pcm, nframes, mem, memcap, &o) ||
		    run_libopus(pcm, nframes, &l)) {
			fprintf(stderr, "encode: an encoder failed\n");
			return 1;
		}
		if (o.hash != l.hash) {
			fprintf(stderr, "encode: our packets differ from libopus's\n");
			return 1;
		}
		best_ours = o.cpu < best_ours ? o.cpu : best_ours;
		best_lib = l.cpu < best_lib ? l.cpu : best_lib;
	}
	ox = (double)seconds / best_ours;
	lx = (double)seconds / best_lib;
	printf("encode: ours_x_realtime=%.1f libopus_x_realtime=%.1f "
	       "encode_ratio=%.3f\n", ox, lx, ox / lx);
	free(mem);
	free(pcm);
	return 0;
}
