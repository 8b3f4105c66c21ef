/*
 * codec/ogg_file.c: PCM of any length to an Ogg Opus file.
 *
 * Design. The encoder takes whole frames only, so the writer gathers input
 * into one frame buffer and encodes each full frame; at close the partial
 * frame goes to opusenc_encode_tail, which pads it but counts only the real
 * frames, so the end granule trims the padding as it trims drain silence.
 *
 * Invariants:
 *  1. fill < frame_size between calls: a full buffer is encoded at once.
 *  2. The encoder's frames_in equals every frame the caller wrote; the
 *     last page's granule is that + pre_skip.
 *  3. err, once set, is returned by every later call (sticky failure).
 */
#include "codec/ogg_file.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

struct oggfile {
	FILE *fp;
	opusenc *enc;
	oggmux *mux;
	int channels;
	int frame_size;
	int fill;            /* frames in pcm (invariant 1) */
	int err;             /* invariant 3 */
	float *pcm;          /* one frame */
	uint8_t packet[TT_MAX_OPUS_PACKET];
	uint8_t pages[OGGMUX_MAX_PUSH_OUT];
};

static int put_bytes(oggfile *f, const uint8_t *p, size_t n)
{
	if (n > 0 && fwrite(p, 1, n, f->fp) != n)
		return TT_EIO;
	return TT_OK;
}

static int mux_packet(oggfile *f, const opusenc_packet *pkt, bool eos)
{
	size_t n = 0;
	int rc = oggmux_push(f->mux, pkt->data, (size_t)pkt->len,
			     pkt->granule, eos, f->pages, sizeof f->pages, &n);
	if (rc)
		return rc;
	return put_bytes(f, f->pages, n);
}

static int encode_buffered(oggfile *f)
{
	opusenc_packet pkt;
	int rc = opusenc_encode(f->enc, f->pcm, f->packet, sizeof f->packet,
				&pkt);
	if (rc)
		return rc;
	f->fill = 0;
	return mux_packet(f, &pkt, false);
}

static int open_parts(oggfile *f, const opusenc_config *enc,
		      const oggmux_config *mux)
{
	opusenc_config ec;
	oggmux_config mc;
	const uint8_t *h;
	size_t hl;
	int rc;

	if (enc)
		ec = *enc;
	else
		opusenc_config_default(&ec);
	rc = opusenc_new(&ec, &f->enc);
	if (rc)
		return rc;
	if (mux) {
		mc = *mux;
	} else {
		oggmux_config_default(&mc);
		mc.page_samples = OPUSENC_RATE;
	}
	mc.channels = ec.channels;
	mc.pre_skip = opusenc_pre_skip(f->enc);
	rc = oggmux_new(&mc, &f->mux);
	if (rc)
		return rc;
	f->channels = ec.channels;
	f->frame_size = ec.frame_size;
	f->pcm = calloc((size_t)ec.frame_size * (size_t)ec.channels,
			sizeof(float));
	if (!f->pcm)
		return TT_ENOMEM;
	oggmux_headers(f->mux, &h, &hl);
	return put_bytes(f, h, hl);
}

static void free_parts(oggfile *f)
{
	opusenc_free(f->enc);
	oggmux_free(f->mux);
	free(f->pcm);
	free(f);
}

int oggfile_open(FILE *fp, const opusenc_config *enc, const oggmux_config *mux,
		 oggfile **out)
{
	oggfile *f = NULL;
	int rc;

	if (!out)
		return TT_EINVAL;
	*out = NULL;
	if (!fp)
		return TT_EINVAL;
	f = calloc(1, sizeof *f);
	if (!f)
		return TT_ENOMEM;
	f->fp = fp;
	rc = open_parts(f, enc, mux);
	if (rc) {
		free_parts(f);
		return rc;
	}
	*out = f;
	return TT_OK;
}

int oggfile_write(oggfile *f, const float *pcm, size_t frames)
{
	size_t ch;

	if (!f || (!pcm && frames > 0))
		return TT_EINVAL;
	if (f->err)
		return f->err;
	ch = (size_t)f->channels;
	while (frames > 0) {
		size_t room = (size_t)(f->frame_size - f->fill);
		size_t n = frames < room ? frames : room;
		memcpy(f->pcm + (size_t)f->fill * ch, pcm, n * ch * sizeof *pcm);
		f->fill += (int)n;
		pcm += n * ch;
		frames -= n;
		if (f->fill == f->frame_size) {
			f->err = encode_buffered(f);
			if (f->err)
				return f->err;
		}
	}
	return TT_OK;
}

/* Encodes the partial frame as the encoder's tail, then drain packets, the
 * last of which carries the trimmed end granule (invariant 2). */
static int finish(oggfile *f)
{
	opusenc_packet pkt = { .last = false };
	int rc;

	if (f->fill > 0) {
		rc = opusenc_encode_tail(f->enc, f->pcm, f->fill, f->packet,
					 sizeof f->packet, &pkt);
		if (rc)
			return rc;
		rc = mux_packet(f, &pkt, pkt.last);
		if (rc)
			return rc;
	}
	while (!pkt.last) {
		rc = opusenc_drain(f->enc, f->packet, sizeof f->packet, &pkt);
		if (rc)
			return rc;
		rc = mux_packet(f, &pkt, pkt.last);
		if (rc)
			return rc;
	}
	return fflush(f->fp) == 0 ? TT_OK : TT_EIO;
}

int oggfile_close(oggfile *f)
{
	int rc;

	if (!f)
		return TT_OK;
	rc = f->err ? f->err : finish(f);
	free_parts(f);
	return rc;
}
