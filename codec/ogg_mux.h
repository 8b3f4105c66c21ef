/*
 * codec/ogg_mux.h: Opus packets into Ogg Opus pages (RFC 7845 over RFC 3533).
 *
 * A muxer makes one logical Ogg stream. At creation it builds the two header
 * pages (OpusHead, OpusTags) and keeps them as bytes; then every packet
 * pushed is laced into the current page, and whole pages come out into the
 * caller's buffer as the flush policy decides: a page per packet (lowest
 * latency, the default for live streams) or a page once it holds
 * page_samples of audio (less overhead, for files and archives).
 *
 * Pages never split a packet, so every page boundary is a place where a
 * listener can join: send it the retained header pages (sequence 0 and 1),
 * then pages from any page on. This is what Icecast does: the sequence
 * gap after the headers is "normal for live streams" (opusinfo's words),
 * libopusfile and opusdec decode straight through it (tested), and granule
 * positions simply continue from the live stream (a stream may start at a
 * non-zero time, RFC 7845 section 4.5); the decoder applies the pre-skip
 * to the joiner's first page, which also hides its warm-up. Renumbering
 * the headers to close the gap was tried and rejected: libogg's
 * ogg_stream_init expects the BOS page to be page 0, so opusinfo then
 * rejects the header page.
 *
 * Archive rotation wants a file without the gap: feed the same packets to
 * a second muxer per file, push the file's last packet with eos, and start
 * the next file with a new muxer (its headers, then pages 2, 3, ...). Each
 * file then passes opusinfo without a warning; the next one starts at the
 * granule where the last ended, minus one pre-skip of warm-up.
 *
 * Memory: oggmux_new allocates the page buffer and the header pages once;
 * oggmux_push/oggmux_flush write into caller buffers and do not allocate.
 *
 * Thread safety: one thread pushes. oggmux_headers only reads bytes fixed
 * at creation, so any thread may call it while the render thread pushes.
 * oggmux_new/oggmux_free are not for the render thread; push, flush and
 * oggmux_headers are safe on it.
 */
#ifndef TT_CODEC_OGG_MUX_H
#define TT_CODEC_OGG_MUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"

/* The largest page: 27-byte header, 255 lacing values, 255*255 body bytes. */
#define OGGMUX_MAX_PAGE (27 + 255 + 255 * 255)
/* oggmux_push can complete two pages: the one the packet did not fit in and
 * the packet's own. A buffer of this size always suffices. */
#define OGGMUX_MAX_PUSH_OUT (2 * OGGMUX_MAX_PAGE)
/* With page_samples 0 (a page per packet) a push writes exactly one page
 * holding one packet, never more than this: a buffer this size suffices. */
#define OGGMUX_MAX_PACKET_PAGE \
	(27 + TT_MAX_OPUS_PACKET / 255 + 1 + TT_MAX_OPUS_PACKET)
/* Bytes of both header pages at most (OpusHead page + OpusTags page). */
#define OGGMUX_MAX_HEADERS (27 + 1 + 19 + 27 + 255 + TT_MAX_OPUS_TAGS)

typedef struct oggmux oggmux;

typedef struct oggmux_config {
	/* Ogg bitstream serial number; fixed so output is reproducible.
	 * Default 0x74757474 ("tutt"). */
	uint32_t serial;
	/* Channels (1 or 2) and pre-skip as the encoder reports them
	 * (opusenc_get_config()->channels, opusenc_pre_skip()). Defaults 2
	 * and 312 (libopus at 48 kHz, application audio). */
	int channels;
	int pre_skip;
	/* Original input rate for OpusHead (informational). Default 48000. */
	uint32_t input_rate;
	/* Output gain in Q7.8 dB for OpusHead. Default 0. */
	int16_t output_gain;
	/* Flush policy: 0 = one page per packet; otherwise a page is
	 * completed once it holds at least this many 48 kHz samples (960 =
	 * 20 ms, 48000 = 1 s). Also completed early when its lacing table or
	 * body is full. Default 0. */
	int page_samples;
	/* OpusTags vendor string (UTF-8); NULL means "tutti". */
	const char *vendor;
	/* ncomments "KEY=value" strings (UTF-8), borrowed during oggmux_new
	 * only. Vendor and comments together must fit TT_MAX_OPUS_TAGS. */
	const char *const *comments;
	int ncomments;
} oggmux_config;

/* Fills cfg with the defaults above. */
void oggmux_config_default(oggmux_config *cfg);

/* Creates a muxer and its header pages. TT_EINVAL for a bad config
 * (channels, pre_skip outside 0..65535, negative page_samples, a comment
 * without '='), TT_ELIMIT when the tags exceed TT_MAX_OPUS_TAGS, TT_ENOMEM.
 * Not for the render thread. */
int oggmux_new(const oggmux_config *cfg, oggmux **out);

/* Frees m (NULL is fine). Not for the render thread. */
void oggmux_free(oggmux *m);

/* The two header pages (sequence numbers 0 and 1) as one byte run, owned
 * by m and valid until oggmux_free. Every stream or file starts with them. */
void oggmux_headers(const oggmux *m, const uint8_t **data, size_t *len);

/* Adds one packet (len 1..TT_MAX_OPUS_PACKET bytes) ending at granule
 * (non-decreasing; the opusenc_packet's granule). When eos is true the
 * packet is the stream's last: its page is completed with the
 * end-of-stream flag and further pushes answer TT_ECLOSED.
 * Completed pages are written to out (zero, one or two whole pages;
 * cap >= OGGMUX_MAX_PUSH_OUT always suffices, OGGMUX_MAX_PACKET_PAGE with
 * page_samples 0) and *out_len says how many bytes. TT_ELIMIT if cap is
 * too small for what must be written: then nothing changed, the packet was
 * not taken, and a retry with room gives the same bytes. TT_EINVAL for a
 * bad length or a granule going backwards. Render-thread safe: no
 * allocation, lock or I/O. */
int oggmux_push(oggmux *m, const uint8_t *packet, size_t len, int64_t granule,
		bool eos, uint8_t *out, size_t cap, size_t *out_len);

/* Completes the current page now if it holds any packet (a timer-driven
 * flush); *out_len is 0 when there was nothing. Render-thread safe. */
int oggmux_flush(oggmux *m, uint8_t *out, size_t cap, size_t *out_len);

/* Sequence number the next completed page will carry. */
uint32_t oggmux_next_seq(const oggmux *m);

/* Reads one page at the start of data: *page_len its total size and *seq
 * its sequence number. TT_EFORMAT when data does not start with a whole
 * valid page header ("OggS", version 0). Any thread. */
int oggmux_page_info(const uint8_t *data, size_t len, size_t *page_len,
		     uint32_t *seq, int64_t *granule);

#endif
