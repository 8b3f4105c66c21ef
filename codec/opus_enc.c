/*
 * codec/opus_enc.c: frames of float PCM in, Opus packets with positions out.
 *
 * Design. A thin, allocation-free layer over libopus's opus_encode_float:
 * it validates the configuration once, owns the encoder memory, and keeps
 * the two counters that give every packet its place in time. It does not
 * copy or convert PCM: the caller's frame goes straight to libopus, so this
 * path costs what bare libopus costs (bench/encode measures the ratio).
 *
 * Invariants:
 *  1. Packet k (k = index, from 0) encodes input frames
 *     [start + k*F, start + (k+1)*F); because of the look-ahead its decoded
 *     samples represent stream frames [start + k*F - P, start + (k+1)*F - P)
 *     with P the pre-skip, and its granule is (k+1)*F.
 *  2. frames_in counts real input; the tail and drain pad with silence
 *     until packets * F >= frames_in + P, and that last packet's granule
 *     is frames_in + P, so a decoder that applies pre-skip and end
 *     trimming yields exactly frames_in samples.
 *  3. libopus always receives max_data_bytes = TT_MAX_OPUS_PACKET, so the
 *     bytes out depend only on the configuration and the PCM (determinism).
 *  4. encode_tail counts only its real frames in frames_in, so drain
 *     trims its zero padding too; only drain may follow it.
 *  5. After the last drained packet the encoder is closed: encode and
 *     drain answer TT_ECLOSED.
 */
#include "codec/opus_enc.h"

#include <opus.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

struct opusenc {
	opusenc_config cfg;
	int pre_skip;
	int64_t frames_in;  /* real input frames consumed (invariant 2) */
	int64_t packets;    /* packets produced, including drain padding */
	bool closed;
	bool tail_done;     /* encode_tail ran: only drain may follow */
	/* Silence for drain and the padded tail frame, one frame each,
	 * allocated with the encoder. */
	float *silence;
	float *tail;
	OpusEncoder *enc;   /* points into the same block, after silence */
};

void opusenc_config_default(opusenc_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->bitrate = 128000;
	cfg->frame_size = 960;
	cfg->complexity = 10;
	cfg->channels = 2;
	cfg->sample_rate = OPUSENC_RATE;
	cfg->vbr = true;
	cfg->low_delay = false;
	cfg->start_frame = 0;
}

static bool frame_size_ok(int n)
{
	static const int sizes[] = { 120, 240, 480, 960, 1920, 2880 };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		if (sizes[i] == n)
			return true;
	return false;
}

int opusenc_config_check(const opusenc_config *cfg)
{
	if (!cfg)
		return TT_EINVAL;
	if (cfg->bitrate < TT_MIN_OPUS_BITRATE ||
	    cfg->bitrate > TT_MAX_OPUS_BITRATE)
		return TT_EINVAL;
	if (!frame_size_ok(cfg->frame_size))
		return TT_EINVAL;
	if (cfg->complexity < 0 || cfg->complexity > 10)
		return TT_EINVAL;
	if (cfg->channels != 1 && cfg->channels != 2)
		return TT_EINVAL;
	if (cfg->sample_rate != OPUSENC_RATE)
		return TT_EINVAL;
	return TT_OK;
}

static int apply_settings(OpusEncoder *enc, const opusenc_config *cfg,
			  int *pre_skip)
{
	opus_int32 la = 0;
	if (opus_encoder_ctl(enc, OPUS_SET_BITRATE(cfg->bitrate)) != OPUS_OK)
		return TT_EUNSUPPORTED;
	if (opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(cfg->complexity)) !=
	    OPUS_OK)
		return TT_EUNSUPPORTED;
	if (opus_encoder_ctl(enc, OPUS_SET_VBR(cfg->vbr ? 1 : 0)) != OPUS_OK)
		return TT_EUNSUPPORTED;
	if (opus_encoder_ctl(enc, OPUS_GET_LOOKAHEAD(&la)) != OPUS_OK ||
	    la < 0)
		return TT_EUNSUPPORTED;
	*pre_skip = (int)la;
	return TT_OK;
}

int opusenc_new(const opusenc_config *cfg, opusenc **out)
{
	opusenc *e = NULL;
	size_t head, silence_bytes;
	int size, app, rc;

	*out = NULL;
	rc = opusenc_config_check(cfg);
	if (rc)
		goto out;
	size = opus_encoder_get_size(cfg->channels);
	if (size <= 0) {
		rc = TT_EUNSUPPORTED;
		goto out;
	}
	/* One block: struct, silence frame, tail frame, then the libopus
	 * state, each start aligned to 16 bytes. */
	head = (sizeof *e + 15) & ~(size_t)15;
	silence_bytes = (sizeof(float) * (size_t)cfg->frame_size *
			 (size_t)cfg->channels + 15) & ~(size_t)15;
	e = calloc(1, head + 2 * silence_bytes + (size_t)size);
	if (!e) {
		rc = TT_ENOMEM;
		goto out;
	}
	e->cfg = *cfg;
	e->silence = (float *)((unsigned char *)e + head);
	e->tail = (float *)((unsigned char *)e + head + silence_bytes);
	e->enc = (OpusEncoder *)((unsigned char *)e + head +
				 2 * silence_bytes);
	app = cfg->low_delay ? OPUS_APPLICATION_RESTRICTED_LOWDELAY
			     : OPUS_APPLICATION_AUDIO;
	if (opus_encoder_init(e->enc, OPUSENC_RATE, cfg->channels, app) !=
	    OPUS_OK) {
		rc = TT_EUNSUPPORTED;
		goto out;
	}
	rc = apply_settings(e->enc, cfg, &e->pre_skip);
	if (rc)
		goto out;
	*out = e;
	e = NULL;
out:
	free(e);
	return rc;
}

void opusenc_free(opusenc *e)
{
	free(e);
}

/* Runs libopus on one frame and stamps the packet (invariant 1). */
static int encode_frame(opusenc *e, const float *pcm, uint8_t *buf,
			size_t cap, opusenc_packet *pkt)
{
	int64_t k = e->packets;
	int64_t f = e->cfg.frame_size;
	opus_int32 n;

	if (!buf || !pkt || cap < TT_MAX_OPUS_PACKET)
		return TT_EINVAL;
	if (e->closed)
		return TT_ECLOSED;
	n = opus_encode_float(e->enc, pcm, e->cfg.frame_size, buf,
			      TT_MAX_OPUS_PACKET);
	if (n < 1)
		return TT_EIO;
	e->packets++;
	pkt->data = buf;
	pkt->len = (int)n;
	pkt->samples = e->cfg.frame_size;
	pkt->frame = e->cfg.start_frame + k * f - e->pre_skip;
	pkt->granule = (k + 1) * f;
	pkt->index = k;
	pkt->last = false;
	return TT_OK;
}

/* After a tail or drain packet: is everything out? (invariant 2) */
static void mark_if_last(opusenc *e, opusenc_packet *pkt)
{
	int64_t end = e->frames_in + e->pre_skip;

	if (e->packets * e->cfg.frame_size >= end) {
		pkt->granule = end;
		pkt->last = true;
		e->closed = true;
	}
}

int opusenc_encode(opusenc *e, const float *pcm, uint8_t *buf, size_t cap,
		   opusenc_packet *pkt)
{
	int rc;

	if (!e || !pcm)
		return TT_EINVAL;
	if (e->tail_done)
		return TT_ECLOSED;
	rc = encode_frame(e, pcm, buf, cap, pkt);
	if (rc == TT_OK)
		e->frames_in += e->cfg.frame_size;
	return rc;
}

int opusenc_encode_tail(opusenc *e, const float *pcm, int frames,
			uint8_t *buf, size_t cap, opusenc_packet *pkt)
{
	size_t ch, real;
	int rc;

	if (!e || !pcm || frames < 1 || frames >= e->cfg.frame_size)
		return TT_EINVAL;
	if (e->tail_done)
		return TT_ECLOSED;
	ch = (size_t)e->cfg.channels;
	real = (size_t)frames * ch;
	memcpy(e->tail, pcm, real * sizeof *pcm);
	memset(e->tail + real, 0,
	       ((size_t)e->cfg.frame_size * ch - real) * sizeof *pcm);
	rc = encode_frame(e, e->tail, buf, cap, pkt);
	if (rc == TT_OK) {
		e->frames_in += frames;
		e->tail_done = true;
		mark_if_last(e, pkt);
	}
	return rc;
}

int opusenc_drain(opusenc *e, uint8_t *buf, size_t cap, opusenc_packet *pkt)
{
	int rc;

	if (!e)
		return TT_EINVAL;
	rc = encode_frame(e, e->silence, buf, cap, pkt);
	if (rc)
		return rc;
	mark_if_last(e, pkt);
	return TT_OK;
}

int opusenc_pre_skip(const opusenc *e)
{
	return e->pre_skip;
}

const opusenc_config *opusenc_get_config(const opusenc *e)
{
	return &e->cfg;
}

int64_t opusenc_frames_in(const opusenc *e)
{
	return e->frames_in;
}
