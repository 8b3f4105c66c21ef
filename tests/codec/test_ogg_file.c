/*
 * tests/codec/test_ogg_file.c: the offline writer. PCM written in odd-sized
 * chunks decodes (libopusfile) to exactly what was written, its bytes equal
 * the live path's for the same PCM and settings, an empty stream is valid,
 * and write errors surface as TT_EIO.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/ogg_file.h"
#include "common/error.h"
#include "tests/codec/codec_util.h"
#include "tests/tap.h"

static void slurp(FILE *f, cu_buf *b)
{
	uint8_t tmp[8192];
	size_t n;
	rewind(f);
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		cu_append(b, tmp, n);
}

/* Writes frames of pcm in chunks of varying size; returns the close code. */
static int write_chunked(FILE *f, const float *pcm, size_t frames, int ch,
			 const opusenc_config *ec)
{
	static const size_t chunks[] = { 1, 959, 961, 4096, 17, 0, 10000 };
	oggfile *w = NULL;
	size_t i = 0, k = 0;
	int rc = oggfile_open(f, ec, NULL, &w);

	while (!rc && i < frames) {
		size_t n = chunks[k++ % (sizeof chunks / sizeof *chunks)];
		if (n > frames - i)
			n = frames - i;
		rc = oggfile_write(w, pcm + i * (size_t)ch, n);
		i += n;
	}
	if (w)
		return rc ? (oggfile_close(w), rc) : oggfile_close(w);
	return rc;
}

static void check_roundtrip(void)
{
	size_t frames = 2 * 48000 + 333, n = 0;
	float *pcm = malloc(frames * 2 * sizeof *pcm), *dec = NULL;
	FILE *f = tmpfile();
	cu_buf file = { 0 }, live = { 0 };
	opusenc_config ec;
	int ch = 0, holes = 0;
	double hz;

	cu_sine(pcm, frames, 2, 523.25, 0.5);
	opusenc_config_default(&ec);
	is_int(write_chunked(f, pcm, frames, 2, &ec), TT_OK,
	       "write in odd chunks and close");
	slurp(f, &file);
	fclose(f);
	is_int(cu_decode(file.data, file.len, &dec, &n, &ch, &holes), 0,
	       "libopusfile decodes the file");
	is_int(n, frames, "decoded length equals the frames written");
	hz = n == frames ? cu_zero_cross_hz(dec, 2, 24000, 48000) : 0;
	ok(fabs(hz - 523.25) < 1.0, "523.25 Hz preserved (%.2f)", hz);
	cu_encode_ogg(pcm, frames, &ec, 48000, 0x74757474u, &live);
	ok(live.len == file.len && memcmp(live.data, file.data, file.len) == 0,
	   "the file's bytes equal the live path's (1 s pages, same serial)");
	free(dec);
	cu_buf_free(&file);
	cu_buf_free(&live);
	free(pcm);
}

static void check_mono_tail(void)
{
	size_t frames = 48000 + 1, n = 0;
	float *pcm = malloc(frames * sizeof *pcm), *dec = NULL;
	FILE *f = tmpfile();
	cu_buf file = { 0 };
	opusenc_config ec;
	int ch = 0, holes = 0;

	cu_sine(pcm, frames, 1, 300.0, 0.5);
	opusenc_config_default(&ec);
	ec.channels = 1;
	ec.frame_size = 120;
	is_int(write_chunked(f, pcm, frames, 1, &ec), TT_OK,
	       "mono, 2.5 ms frames, one frame past a second");
	slurp(f, &file);
	fclose(f);
	cu_decode(file.data, file.len, &dec, &n, &ch, &holes);
	ok(n == frames && ch == 1, "decodes to %zu of %zu frames, %d channel",
	   n, frames, ch);
	free(dec);
	cu_buf_free(&file);
	free(pcm);
}

static void check_empty(void)
{
	FILE *f = tmpfile();
	oggfile *w = NULL;
	cu_buf file = { 0 };
	float *dec = NULL;
	size_t n = 99;
	int ch = 0, holes = 0;

	is_int(oggfile_open(f, NULL, NULL, &w), TT_OK, "open with defaults");
	is_int(oggfile_write(w, NULL, 0), TT_OK, "writing 0 frames is fine");
	is_int(oggfile_close(w), TT_OK, "close an empty stream");
	slurp(f, &file);
	fclose(f);
	ok(cu_decode(file.data, file.len, &dec, &n, &ch, &holes) == 0 &&
	   n == 0, "an empty stream decodes to 0 frames");
	free(dec);
	cu_buf_free(&file);
}

static void check_errors(void)
{
	char path[] = "/tmp/tt_oggfile_XXXXXX";
	opusenc_config ec;
	oggfile *w = NULL;
	FILE *ro;
	int fd = mkstemp(path);

	opusenc_config_default(&ec);
	ec.bitrate = 5000;
	is_int(oggfile_open(stdout, &ec, NULL, &w), TT_EINVAL,
	       "a bad encoder setting: TT_EINVAL, nothing written");
	ok(w == NULL, "and no writer");
	ro = fd >= 0 ? fdopen(fd, "r") : NULL;
	setvbuf(ro, NULL, _IONBF, 0);
	is_int(oggfile_open(ro, NULL, NULL, &w), TT_EIO,
	       "a stream that refuses writes: TT_EIO at the headers");
	if (ro)
		fclose(ro);
	unlink(path);
	is_int(oggfile_close(NULL), TT_OK, "close(NULL) is fine");
}

int main(void)
{
	check_roundtrip();
	check_mono_tail();
	check_empty();
	check_errors();
	return tap_done();
}
