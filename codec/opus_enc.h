/*
 * codec/opus_enc.h: the one Opus encode path of tutti.
 *
 * The render thread hands the encoder exactly one frame of interleaved float
 * PCM at a time and gets back one Opus packet, stamped with where it sits in
 * stream time and where it ends in Ogg granule units. The same packets feed
 * WebSocket clients (raw packet + frame), Ogg streams and files (codec/
 * ogg_mux.h), Icecast and archives: one encoder per session.
 *
 * Memory: opusenc_new() allocates once (our state and libopus's encoder
 * state in one block, through opus_encoder_get_size/opus_encoder_init);
 * opusenc_encode() and opusenc_drain() then call opus_encode_float, which
 * does not allocate, into the caller's buffer.
 *
 * Thread safety: an encoder is used by one thread at a time. opusenc_new and
 * opusenc_free are not for the render thread; everything else is safe on it,
 * given a stack of at least 256 KiB (libopus's scratch lives on the stack;
 * 64 KiB is measured too small for 60 ms frames, see docs/codec.md).
 */
#ifndef TT_CODEC_OPUS_ENC_H
#define TT_CODEC_OPUS_ENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"

/* The only sample rate: stream time counts 48 kHz frames. */
#define OPUSENC_RATE 48000

typedef struct opusenc opusenc;

typedef struct opusenc_config {
	/* Bits per second, TT_MIN_OPUS_BITRATE..TT_MAX_OPUS_BITRATE.
	 * Default 128000. */
	int bitrate;
	/* Samples per channel in one frame at 48 kHz: 120, 240, 480, 960,
	 * 1920 or 2880 (2.5, 5, 10, 20, 40, 60 ms). Default 960 (20 ms). */
	int frame_size;
	/* libopus complexity 0..10; default 10 (best quality, still ~100x
	 * real time on one core). */
	int complexity;
	/* 1 or 2; input is interleaved. Default 2. */
	int channels;
	/* Must be OPUSENC_RATE (48000); kept so a caller states it. */
	int sample_rate;
	/* Variable bitrate (libopus default, better quality per bit) when true;
	 * hard CBR when false. Default true. */
	bool vbr;
	/* OPUS_APPLICATION_RESTRICTED_LOWDELAY when true: CELT only, pre-skip
	 * 120 instead of 312 samples (4 ms less latency, no speech mode).
	 * Default false (OPUS_APPLICATION_AUDIO). */
	bool low_delay;
	/* Stream frame of the first sample of the first frame encoded, so
	 * packet positions are in session stream time. Default 0. */
	int64_t start_frame;
} opusenc_config;

/* One encoded packet. data points into the caller's buffer. */
typedef struct opusenc_packet {
	const uint8_t *data;
	int len;          /* bytes, 1..TT_MAX_OPUS_PACKET */
	int samples;      /* decoded duration per channel (= frame_size) */
	/* Stream frame of the packet's first decoded sample: the position of
	 * its input frame minus the pre-skip (the encoder's look-ahead). A
	 * client plays decoded sample j of this packet at stream frame
	 * frame + j; for the very first packet that starts at
	 * start_frame - pre_skip, and those pre_skip samples are discarded. */
	int64_t frame;
	/* Ogg granule position at the end of this packet (RFC 7845: 48 kHz
	 * samples decoded since the encoder began, pre-skip included). The
	 * last packet of opusenc_drain carries the trimmed end position. */
	int64_t granule;
	/* Index of the packet since the encoder began (0, 1, ...). */
	int64_t index;
	/* True on the stream's final packet (from opusenc_encode_tail or
	 * opusenc_drain): mux it with end-of-stream. */
	bool last;
} opusenc_packet;

/* Fills cfg with the defaults above. Render-thread safe. */
void opusenc_config_default(opusenc_config *cfg);

/* TT_OK when cfg is valid, TT_EINVAL naming nothing otherwise (the checks
 * are those listed in opusenc_config). Render-thread safe. */
int opusenc_config_check(const opusenc_config *cfg);

/* Creates an encoder. cfg is copied. TT_EINVAL for a bad cfg, TT_ENOMEM, or
 * TT_EUNSUPPORTED if libopus refuses a setting. Not for the render thread. */
int opusenc_new(const opusenc_config *cfg, opusenc **out);

/* Frees e (NULL is fine). Not for the render thread. */
void opusenc_free(opusenc *e);

/* Encodes exactly one frame: pcm holds frame_size * channels interleaved
 * floats (nominally -1..1; louder input is clipped by the decoder, not
 * here). buf receives the packet and must hold cap >= TT_MAX_OPUS_PACKET
 * bytes (TT_EINVAL otherwise, so that output never depends on cap).
 * Fills *pkt. TT_ECLOSED after opusenc_drain finished the stream; TT_EIO if
 * libopus fails. Render-thread safe: no allocation, lock or I/O. */
int opusenc_encode(opusenc *e, const float *pcm, uint8_t *buf, size_t cap,
		   opusenc_packet *pkt);

/* Encodes the stream's last, partial frame: frames (1..frame_size-1)
 * frames of pcm, padded with silence. Only the real frames count, so the
 * end granule trims the padding. If the padding already covers the
 * look-ahead this packet is the last (pkt->last, trimmed granule);
 * otherwise call opusenc_drain until pkt->last. After it only drain is
 * allowed (encode answers TT_ECLOSED). For offline renders whose length
 * is not a whole number of frames. Render-thread safe. */
int opusenc_encode_tail(opusenc *e, const float *pcm, int frames,
			uint8_t *buf, size_t cap, opusenc_packet *pkt);

/* Ends the stream: encodes silence until every input sample has come out
 * of the encoder's look-ahead, one packet per call. pkt->last is set on
 * the final one (its granule trims the padding, see RFC 7845 section 4.4);
 * call again while it is false. After the last packet (from here or from
 * opusenc_encode_tail) encode, encode_tail and drain answer TT_ECLOSED.
 * Render-thread safe. */
int opusenc_drain(opusenc *e, uint8_t *buf, size_t cap, opusenc_packet *pkt);

/* Encoder look-ahead in 48 kHz samples: the OpusHead pre-skip. */
int opusenc_pre_skip(const opusenc *e);

/* The configuration in force (a copy of what opusenc_new was given). */
const opusenc_config *opusenc_get_config(const opusenc *e);

/* Input frames consumed so far (excluding drain padding). */
int64_t opusenc_frames_in(const opusenc *e);

#endif
