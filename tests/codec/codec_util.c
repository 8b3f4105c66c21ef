/*
 * tests/codec/codec_util.c: see codec_util.h.
 */
#include "tests/codec/codec_util.h"

#include <math.h>
#include <opusfile.h>
#include <stdlib.h>
#include <string.h>

#include "codec/ogg_mux.h"
#include "common/error.h"

void cu_append(cu_buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		b->data = realloc(b->data, cap);
		if (!b->data)
			abort();
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void cu_buf_free(cu_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof *b);
}

void cu_sine(float *pcm, size_t frames, int ch, double hz, double amp)
{
	for (size_t i = 0; i < frames; i++) {
		float v = (float)(amp * sin(2 * M_PI * hz * (double)i / 48000.0));
		for (int c = 0; c < ch; c++)
			pcm[i * (size_t)ch + (size_t)c] = v;
	}
}

void cu_chirp(float *pcm, size_t frames, int ch, double f0, double f1,
	      double amp)
{
	double dur = (double)frames / 48000.0;
	for (size_t i = 0; i < frames; i++) {
		double t = (double)i / 48000.0;
		double ph = 2 * M_PI * (f0 * t + (f1 - f0) * t * t / (2 * dur));
		float v = (float)(amp * sin(ph));
		for (int c = 0; c < ch; c++)
			pcm[i * (size_t)ch + (size_t)c] = v;
	}
}

static int mux_one(oggmux *m, const opusenc_packet *p, bool eos, cu_buf *out)
{
	static uint8_t pages[OGGMUX_MAX_PUSH_OUT];
	size_t n = 0;
	int rc = oggmux_push(m, p->data, (size_t)p->len, p->granule, eos,
			     pages, sizeof pages, &n);
	if (rc == TT_OK)
		cu_append(out, pages, n);
	return rc;
}

static int encode_all(opusenc *e, oggmux *m, const float *pcm, size_t frames,
		      cu_buf *out)
{
	uint8_t pkt_buf[TT_MAX_OPUS_PACKET];
	size_t f = (size_t)opusenc_get_config(e)->frame_size;
	size_t ch = (size_t)opusenc_get_config(e)->channels;
	opusenc_packet p;
	size_t i = 0;
	int rc = TT_OK;

	for (; i + f <= frames && !rc; i += f) {
		rc = opusenc_encode(e, pcm + i * ch, pkt_buf, sizeof pkt_buf, &p);
		if (!rc)
			rc = mux_one(m, &p, false, out);
	}
	p.last = false;
	if (!rc && i < frames) {
		rc = opusenc_encode_tail(e, pcm + i * ch, (int)(frames - i),
					 pkt_buf, sizeof pkt_buf, &p);
		if (!rc)
			rc = mux_one(m, &p, p.last, out);
	}
	while (!rc && !p.last) {
		rc = opusenc_drain(e, pkt_buf, sizeof pkt_buf, &p);
		if (!rc)
			rc = mux_one(m, &p, p.last, out);
	}
	return rc;
}

int cu_encode_ogg(const float *pcm, size_t frames, const opusenc_config *ec,
		  int page_samples, uint32_t serial, cu_buf *out)
{
	opusenc *e = NULL;
	oggmux *m = NULL;
	oggmux_config mc;
	const uint8_t *h;
	size_t hl;
	int rc;

	rc = opusenc_new(ec, &e);
	if (rc)
		goto out;
	oggmux_config_default(&mc);
	mc.channels = ec->channels;
	mc.pre_skip = opusenc_pre_skip(e);
	mc.page_samples = page_samples;
	mc.serial = serial;
	rc = oggmux_new(&mc, &m);
	if (rc)
		goto out;
	oggmux_headers(m, &h, &hl);
	cu_append(out, h, hl);
	rc = encode_all(e, m, pcm, frames, out);
out:
	oggmux_free(m);
	opusenc_free(e);
	return rc;
}

int cu_decode(const uint8_t *data, size_t len, float **pcm, size_t *frames,
	      int *channels, int *holes)
{
	int err = 0;
	OggOpusFile *of = op_open_memory(data, len, &err);
	size_t n = 0, cap = 48000;
	float *out;

	*pcm = NULL;
	*frames = 0;
	*holes = 0;
	if (!of)
		return err ? err : -1;
	*channels = op_channel_count(of, -1);
	out = malloc(cap * (size_t)*channels * sizeof *out);
	for (;;) {
		int r;
		if (cap - n < 5760) {
			cap *= 2;
			out = realloc(out, cap * (size_t)*channels * sizeof *out);
		}
		if (!out)
			abort();
		r = op_read_float(of, out + n * (size_t)*channels,
				  (int)((cap - n) * (size_t)*channels), NULL);
		if (r == OP_HOLE) {
			(*holes)++;
			continue;
		}
		if (r < 0) {
			err = r;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	op_free(of);
	*pcm = out;
	*frames = n;
	return err;
}

double cu_zero_cross_hz(const float *pcm, int ch, size_t from, size_t n)
{
	size_t crossings = 0, first = 0, last = 0;
	for (size_t i = from + 1; i < from + n; i++) {
		float a = pcm[(i - 1) * (size_t)ch], b = pcm[i * (size_t)ch];
		if ((a < 0) != (b < 0)) {
			if (crossings == 0)
				first = i;
			last = i;
			crossings++;
		}
	}
	if (crossings < 2)
		return 0;
	/* Half a period between consecutive crossings. */
	return (double)(crossings - 1) / 2.0 / ((double)(last - first) / 48000.0);
}

double cu_snr_db(const float *want, const float *got, int ch, size_t from,
		 size_t n)
{
	double sig = 0, noise = 0;
	for (size_t i = from * (size_t)ch; i < (from + n) * (size_t)ch; i++) {
		double d = (double)got[i] - (double)want[i];
		sig += (double)want[i] * want[i];
		noise += d * d;
	}
	if (noise == 0)
		return 999;
	return 10 * log10(sig / noise);
}

int cu_page_offsets(const uint8_t *data, size_t len, size_t **offs, size_t *n)
{
	size_t pos = 0, count = 0, cap = 64;
	size_t *o = malloc(cap * sizeof *o);
	int rc = TT_OK;

	while (o && pos < len) {
		size_t pl;
		rc = oggmux_page_info(data + pos, len - pos, &pl, NULL, NULL);
		if (rc)
			break;
		if (count == cap) {
			cap *= 2;
			o = realloc(o, cap * sizeof *o);
			if (!o)
				break;
		}
		o[count++] = pos;
		pos += pl;
	}
	if (!o)
		abort();
	*offs = o;
	*n = count;
	return rc;
}
