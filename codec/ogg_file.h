/*
 * codec/ogg_file.h: an Ogg Opus file writer for offline renders.
 *
 * Glues opus_enc and ogg_mux to a stdio FILE: PCM of any length in, a
 * complete Ogg Opus file out (headers, audio pages, end trimming, EOS), so
 * `tutti render -o x.ogg` and history bounces write the same bytes the live
 * path would for the same PCM and settings.
 *
 * Thread safety: one thread per writer. It does file I/O and allocates in
 * oggfile_open: never use it on the render thread (the live path uses
 * opusenc + oggmux directly).
 */
#ifndef TT_CODEC_OGG_FILE_H
#define TT_CODEC_OGG_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "codec/ogg_mux.h"
#include "codec/opus_enc.h"

typedef struct oggfile oggfile;

/* Starts a file on fp (borrowed: not closed by this module) and writes the
 * header pages. enc NULL means opusenc_config_default; mux NULL means
 * oggmux_config_default with a page per second of audio (page_samples
 * 48000). The mux's channels and pre_skip are always taken from the
 * encoder. TT_EINVAL, TT_ELIMIT or TT_ENOMEM from the parts; TT_EIO if the
 * headers cannot be written. */
int oggfile_open(FILE *fp, const opusenc_config *enc, const oggmux_config *mux,
		 oggfile **out);

/* Appends frames frames of interleaved float PCM (channels per frame as
 * configured); any count, including 0. TT_EIO on a write error; after any
 * error the writer stays failed and answers that error. */
int oggfile_write(oggfile *f, const float *pcm, size_t frames);

/* Pads the last partial frame, drains the encoder, writes the last page
 * with its end-of-stream flag and trimmed granule, flushes fp and frees f
 * (always, even on error). The decoded file has exactly the frames written.
 * f NULL is TT_OK. */
int oggfile_close(oggfile *f);

#endif
