/*
 * tests/codec/test_codec_roundtrip.c: the live encode path (opusenc +
 * oggmux) decoded by a real, independent decoder (libopusfile): length with
 * pre-skip and end trimming, frequency, SNR, determinism, a listener
 * joining at a page boundary, archive rotation, every frame size, the
 * bitrate edges; and opus-tools (opusinfo, opusdec: libogg-based, a second
 * independent reader) on the same bytes.
 *
 * libopusenc is not used: libopusfile and opus-tools are the independent
 * checks of what we write.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/ogg_mux.h"
#include "codec/opus_enc.h"
#include "common/error.h"
#include "tests/codec/codec_util.h"
#include "tests/tap.h"

#define RATE 48000

static void check_sine(void)
{
	size_t frames = 3 * RATE + 517;
	float *pcm = malloc(frames * 2 * sizeof *pcm), *dec = NULL;
	opusenc_config ec;
	cu_buf ogg = { 0 };
	size_t n = 0;
	int ch = 0, holes = 0, rc;
	double hz, snr;

	cu_sine(pcm, frames, 2, 440.0, 0.5);
	opusenc_config_default(&ec);
	is_int(cu_encode_ogg(pcm, frames, &ec, 0, 1, &ogg), TT_OK,
	       "sine: encode + mux");
	rc = cu_decode(ogg.data, ogg.len, &dec, &n, &ch, &holes);
	is_int(rc, 0, "sine: libopusfile decodes the stream");
	is_int(ch, 2, "sine: two channels");
	is_int(n, frames, "sine: decoded length equals input (pre-skip, end trim)");
	is_int(holes, 0, "sine: no holes");
	hz = n >= frames ? cu_zero_cross_hz(dec, 2, RATE, RATE) : 0;
	ok(fabs(hz - 440.0) < 1.0, "sine: 440 Hz preserved (got %.2f)", hz);
	snr = n >= frames ? cu_snr_db(pcm, dec, 2, 4800, frames - 9600) : 0;
	ok(snr > 20.0, "sine: SNR %.1f dB > 20 dB, time-aligned", snr);
	free(dec);
	cu_buf_free(&ogg);
	free(pcm);
}

static void check_chirp(void)
{
	size_t frames = 4 * RATE;
	float *pcm = malloc(frames * 2 * sizeof *pcm), *dec = NULL;
	opusenc_config ec;
	cu_buf ogg = { 0 };
	size_t n = 0;
	int ch = 0, holes = 0, bad = 0;
	double snr;

	cu_chirp(pcm, frames, 2, 100.0, 4000.0, 0.5);
	opusenc_config_default(&ec);
	is_int(cu_encode_ogg(pcm, frames, &ec, 1920, 2, &ogg), TT_OK,
	       "chirp: encode + mux (40 ms pages)");
	is_int(cu_decode(ogg.data, ogg.len, &dec, &n, &ch, &holes), 0,
	       "chirp: libopusfile decodes");
	is_int(n, frames, "chirp: decoded length equals input");
	for (int w = 1; w < 8 && n >= frames; w++) {
		size_t from = (size_t)w * frames / 8, len = 2400;
		double t = ((double)from + len / 2.0) / RATE;
		double want = 100.0 + (4000.0 - 100.0) * t / 4.0;
		double got = cu_zero_cross_hz(dec, 2, from, len);
		if (fabs(got - want) > want * 0.03) {
			bad++;
			printf("# window %d: want %.1f Hz got %.1f\n", w, want,
			       got);
		}
	}
	ok(n >= frames && bad == 0,
	   "chirp: instantaneous frequency tracks 100->4000 Hz in 7 windows");
	snr = n >= frames ? cu_snr_db(pcm, dec, 2, 4800, frames - 9600) : 0;
	ok(snr > 15.0, "chirp: SNR %.1f dB > 15 dB", snr);
	free(dec);
	cu_buf_free(&ogg);
	free(pcm);
}

static void check_determinism(void)
{
	size_t frames = 2 * RATE + 100;
	float *pcm = malloc(frames * 2 * sizeof *pcm);
	opusenc_config ec;
	cu_buf a = { 0 }, b = { 0 }, c = { 0 };

	cu_chirp(pcm, frames, 2, 200.0, 2000.0, 0.4);
	opusenc_config_default(&ec);
	cu_encode_ogg(pcm, frames, &ec, 0, 7, &a);
	cu_encode_ogg(pcm, frames, &ec, 0, 7, &b);
	ok(a.len > 0 && a.len == b.len && memcmp(a.data, b.data, a.len) == 0,
	   "determinism: two encodes give identical bytes (%zu)", a.len);
	cu_encode_ogg(pcm, frames, &ec, 0, 8, &c);
	ok(c.len == a.len && memcmp(a.data, c.data, a.len) != 0,
	   "determinism: the serial number is what changes the bytes");
	cu_buf_free(&a);
	cu_buf_free(&b);
	cu_buf_free(&c);
	free(pcm);
}

/* Writes data to a new temporary file; fills path. */
static int write_tmp(char *path, const uint8_t *data, size_t len)
{
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
	size_t n;

	if (!f)
		return -1;
	n = fwrite(data, 1, len, f);
	return fclose(f) == 0 && n == len ? 0 : -1;
}

static int have(const char *tool)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

static void skip(const char *why)
{
	printf("ok %d # SKIP %s\n", ++tap_n_, why);
}

/* Runs cmd (its output to text), returns its exit status. */
static int run_tool(const char *cmd, char *text, size_t cap)
{
	FILE *p = popen(cmd, "r");
	size_t n;

	if (!p)
		return -1;
	n = fread(text, 1, cap - 1, p);
	text[n] = 0;
	return pclose(p);
}

/* Counts lines of text containing needle. */
static int count_lines(const char *text, const char *needle)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* opusinfo's verdict on data: 1 when it reports no problem at all; with
 * live, when its only warnings are the sequence gap it calls "normal for
 * live streams" and the discontinuity that follows from it (opusinfo then
 * exits 1, as it does for any warning). */
static int opusinfo_ok(const cu_buf *b, bool live)
{
	char path[] = "/tmp/tt_codec_XXXXXX", cmd[256], text[16384];
	int st, warnings, good;

	if (write_tmp(path, b->data, b->len))
		return 0;
	snprintf(cmd, sizeof cmd, "opusinfo '%s' 2>&1", path);
	st = run_tool(cmd, text, sizeof text);
	unlink(path);
	warnings = count_lines(text, "WARNING");
	good = !strstr(text, "ERROR") && !strstr(text, "Invalid") &&
	       strstr(text, "Playback length") != NULL;
	if (live)
		good = good && warnings ==
				       count_lines(text, "normal for live streams") +
					       count_lines(text, "discontinuity");
	else
		good = good && st == 0 && warnings == 0;
	if (!good)
		printf("# opusinfo said:\n# %s\n", text);
	return good;
}

/* Frames opusdec (opus-tools' own decoder, on libogg) writes for data, or
 * -1. A name without .wav makes it write raw 16-bit PCM: bytes / 2 / ch. */
static long opusdec_frames(const cu_buf *b, int channels)
{
	char in[] = "/tmp/tt_codec_XXXXXX", out[] = "/tmp/tt_codec_XXXXXX";
	char cmd[256], text[4096];
	long frames = -1;
	FILE *f;
	int fd;

	if (write_tmp(in, b->data, b->len))
		return -1;
	fd = mkstemp(out);
	if (fd >= 0)
		close(fd);
	snprintf(cmd, sizeof cmd, "opusdec --quiet '%s' '%s' 2>&1", in, out);
	f = run_tool(cmd, text, sizeof text) == 0 ? fopen(out, "rb") : NULL;
	if (f) {
		fseek(f, 0, SEEK_END);
		frames = ftell(f) / 2 / channels;
		fclose(f);
	}
	unlink(in);
	unlink(out);
	return frames;
}

/* A listener joining at page k: the retained header pages, then the
 * stream's pages from k on, exactly the bytes a late joiner receives. */
static void join_at(const cu_buf *ogg, const float *pcm, size_t frames,
		    size_t k)
{
	size_t *offs = NULL, npages = 0, n = 0, hl = 0, j;
	oggmux_config mc;
	oggmux *m = NULL;
	const uint8_t *h;
	uint32_t seq = 0;
	cu_buf cut = { 0 };
	float *dec = NULL;
	int ch = 0, holes = 0;

	cu_page_offsets(ogg->data, ogg->len, &offs, &npages);
	oggmux_page_info(ogg->data + offs[k], ogg->len - offs[k], NULL, &seq,
			 NULL);
	/* The muxer that made ogg had these settings; its retained headers
	 * come out identical (determinism). */
	oggmux_config_default(&mc);
	mc.serial = 3;
	oggmux_new(&mc, &m);
	oggmux_headers(m, &h, &hl);
	cu_append(&cut, h, hl);
	ok(memcmp(cut.data, ogg->data, hl) == 0,
	   "join at page %zu: the retained header pages are the stream's own",
	   k);
	cu_append(&cut, ogg->data + offs[k], ogg->len - offs[k]);
	is_int(cu_decode(cut.data, cut.len, &dec, &n, &ch, &holes), 0,
	       "join at page %zu (seq %u): libopusfile decodes", k, seq);
	j = (size_t)seq - 2; /* one packet per page: page s holds packet s-2 */
	is_int(n, frames - j * 960, "join at page %zu: length is the rest of "
	       "the stream", k);
	ok(holes <= 1, "join at page %zu: at most one hole reported (%d)", k,
	   holes);
	ok(n == frames - j * 960 &&
	   cu_snr_db(pcm + j * 960 * 2, dec, 2, 2400, n - 4800) > 20.0,
	   "join at page %zu: decoded sample i is input frame %zu + i "
	   "(SNR > 20 dB)", k, j * 960);
	if (have("opusinfo"))
		ok(opusinfo_ok(&cut, true), "join at page %zu: opusinfo "
		   "accepts it (a live-stream gap, nothing else)", k);
	else
		skip("opusinfo not installed (Debian opus-tools)");
	if (have("opusdec"))
		is_int(opusdec_frames(&cut, 2), (long)(frames - j * 960),
		       "join at page %zu: opusdec decodes the rest too", k);
	else
		skip("opusdec not installed (Debian opus-tools)");
	free(dec);
	cu_buf_free(&cut);
	oggmux_free(m);
	free(offs);
}

static void check_join(void)
{
	size_t frames = 5 * RATE, *offs = NULL, npages = 0;
	float *pcm = malloc(frames * 2 * sizeof *pcm);
	opusenc_config ec;
	cu_buf ogg = { 0 };

	cu_sine(pcm, frames, 2, 1000.0, 0.5);
	opusenc_config_default(&ec);
	cu_encode_ogg(pcm, frames, &ec, 0, 3, &ogg);
	cu_page_offsets(ogg.data, ogg.len, &offs, &npages);
	is_int(npages, 2 + (frames + 312 + 959) / 960,
	       "page per packet: headers + one page per packet");
	join_at(&ogg, pcm, frames, npages * 2 / 5);
	join_at(&ogg, pcm, frames, npages - 40);
	free(offs);
	cu_buf_free(&ogg);
	free(pcm);
}

/* Archive rotation: one encoder, the packets split between two muxers at
 * packet 100 (eos on the first file's last packet). */
static void check_rotation(void)
{
	static uint8_t pages[OGGMUX_MAX_PUSH_OUT];
	size_t frames = 4 * RATE, n = 0, na = 0, nb = 0;
	float *pcm = malloc(frames * 2 * sizeof *pcm), *dec = NULL;
	uint8_t pk[TT_MAX_OPUS_PACKET];
	cu_buf fa = { 0 }, fb = { 0 };
	opusenc_config ec;
	oggmux_config mc;
	opusenc *e = NULL;
	oggmux *a = NULL, *b = NULL;
	opusenc_packet p;
	const uint8_t *h;
	int ch = 0, holes = 0, rc = 0;

	cu_sine(pcm, frames, 2, 440.0, 0.5);
	opusenc_config_default(&ec);
	oggmux_config_default(&mc);
	rc |= opusenc_new(&ec, &e) | oggmux_new(&mc, &a) | oggmux_new(&mc, &b);
	oggmux_headers(a, &h, &n);
	cu_append(&fa, h, n);
	oggmux_headers(b, &h, &n);
	cu_append(&fb, h, n);
	for (size_t f = 0; !rc && f < frames / 960; f++) {
		rc |= opusenc_encode(e, pcm + f * 1920, pk, sizeof pk, &p);
		rc |= oggmux_push(f < 100 ? a : b, p.data, (size_t)p.len,
				  p.granule, f == 99, pages, sizeof pages, &n);
		cu_append(f < 100 ? &fa : &fb, pages, n);
	}
	do {
		rc |= opusenc_drain(e, pk, sizeof pk, &p);
		rc |= oggmux_push(b, p.data, (size_t)p.len, p.granule, p.last,
				  pages, sizeof pages, &n);
		cu_append(&fb, pages, n);
	} while (!rc && !p.last);
	is_int(rc, TT_OK, "rotation: one encoder, two muxers");
	cu_decode(fa.data, fa.len, &dec, &na, &ch, &holes);
	free(dec);
	cu_decode(fb.data, fb.len, &dec, &nb, &ch, &holes);
	ok(na == 100 * 960 - 312 && nb == frames - 100 * 960,
	   "rotation: file 1 has %zu frames, file 2 %zu: together all but "
	   "one pre-skip of warm-up", na, nb);
	ok(nb == frames - 100 * 960 &&
	   cu_snr_db(pcm + 100 * 960 * 2, dec, 2, 2400, nb - 4800) > 20.0,
	   "rotation: file 2 is aligned with stream time (SNR > 20 dB)");
	if (have("opusinfo"))
		ok(opusinfo_ok(&fa, false) && opusinfo_ok(&fb, false),
		   "rotation: opusinfo accepts both files without a warning");
	else
		skip("opusinfo not installed (Debian opus-tools)");
	free(dec);
	cu_buf_free(&fa);
	cu_buf_free(&fb);
	oggmux_free(a);
	oggmux_free(b);
	opusenc_free(e);
	free(pcm);
}

static void check_frame_sizes(void)
{
	static const int sizes[] = { 120, 240, 480, 960, 1920, 2880 };
	size_t frames = RATE + 7 * 960 + 13;
	float *pcm = malloc(frames * 2 * sizeof *pcm);

	cu_sine(pcm, frames, 2, 660.0, 0.5);
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		opusenc_config ec;
		cu_buf ogg = { 0 };
		float *dec = NULL;
		size_t n = 0;
		int ch = 0, holes = 0;
		double hz;

		opusenc_config_default(&ec);
		ec.frame_size = sizes[i];
		cu_encode_ogg(pcm, frames, &ec, 0, 4, &ogg);
		cu_decode(ogg.data, ogg.len, &dec, &n, &ch, &holes);
		hz = n == frames ? cu_zero_cross_hz(dec, 2, 9600, 24000) : 0;
		ok(n == frames && fabs(hz - 660.0) < 2.0,
		   "frame size %d: length %zu/%zu, %.1f Hz", sizes[i], n,
		   frames, hz);
		free(dec);
		cu_buf_free(&ogg);
	}
	free(pcm);
}

static void check_variants(void)
{
	size_t frames = RATE + 300;
	float *pcm = malloc(frames * 2 * sizeof *pcm);
	struct {
		const char *name;
		int bitrate, channels;
		bool low_delay, vbr;
	} v[] = {
		{ "bitrate 6000 (lowest)", 6000, 2, false, true },
		{ "bitrate 510000 (highest)", 510000, 2, false, true },
		{ "mono", 64000, 1, false, true },
		{ "low delay", 128000, 2, true, true },
		{ "CBR", 128000, 2, false, false },
	};

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		opusenc_config ec;
		cu_buf ogg = { 0 };
		float *dec = NULL;
		size_t n = 0;
		int ch = 0, holes = 0;
		double hz;

		opusenc_config_default(&ec);
		ec.bitrate = v[i].bitrate;
		ec.channels = v[i].channels;
		ec.low_delay = v[i].low_delay;
		ec.vbr = v[i].vbr;
		cu_sine(pcm, frames, ec.channels, 440.0, 0.5);
		cu_encode_ogg(pcm, frames, &ec, 0, 5, &ogg);
		cu_decode(ogg.data, ogg.len, &dec, &n, &ch, &holes);
		hz = n == frames ? cu_zero_cross_hz(dec, ch, 9600, 24000) : 0;
		ok(n == frames && ch == v[i].channels && fabs(hz - 440) < 2.0,
		   "%s: decodes, length %zu/%zu, %d ch, %.1f Hz", v[i].name,
		   n, frames, ch, hz);
		free(dec);
		cu_buf_free(&ogg);
	}
	free(pcm);
}

/* The engine keeps NaN and Inf out of the mix; if one ever got through, the
 * encoder must not fail or stay broken. */
static void check_bad_floats(void)
{
	size_t frames = 2 * RATE, n = 0;
	float *pcm = malloc(frames * 2 * sizeof *pcm), *dec = NULL;
	opusenc_config ec;
	cu_buf ogg = { 0 };
	int ch = 0, holes = 0;
	double hz;

	cu_sine(pcm, frames, 2, 440.0, 0.5);
	for (size_t i = 0; i < RATE / 2; i += 7) {
		pcm[2 * i] = (float)NAN;
		pcm[2 * i + 1] = i % 2 ? (float)INFINITY : -1e30f;
	}
	opusenc_config_default(&ec);
	is_int(cu_encode_ogg(pcm, frames, &ec, 0, 10, &ogg), TT_OK,
	       "NaN, Inf and 1e30 in the input: encoding goes on");
	cu_decode(ogg.data, ogg.len, &dec, &n, &ch, &holes);
	hz = n == frames ? cu_zero_cross_hz(dec, 2, RATE, RATE) : 0;
	ok(n == frames && fabs(hz - 440.0) < 1.0,
	   "and the stream is clean 440 Hz again after them (%.1f Hz)", hz);
	free(dec);
	cu_buf_free(&ogg);
	free(pcm);
}

static void check_crc_matters(void)
{
	size_t frames = RATE;
	float *pcm = malloc(frames * 2 * sizeof *pcm), *dec = NULL;
	opusenc_config ec;
	cu_buf ogg = { 0 };
	size_t n = 0;
	int ch = 0, holes = 0;

	cu_sine(pcm, frames, 2, 440.0, 0.5);
	opusenc_config_default(&ec);
	cu_encode_ogg(pcm, frames, &ec, 0, 6, &ogg);
	/* Byte 27+1+12 is in OpusHead's input rate, which decoders ignore:
	 * only the page CRC can reject the stream. */
	ogg.data[27 + 1 + 12] ^= 0x01;
	ok(cu_decode(ogg.data, ogg.len, &dec, &n, &ch, &holes) != 0,
	   "one flipped byte in the OpusHead page: libopusfile refuses it "
	   "(the CRC is checked and ours was right)");
	free(dec);
	cu_buf_free(&ogg);
	free(pcm);
}

static void check_opusinfo(void)
{
	size_t frames = 2 * RATE + 123;
	float *pcm;
	opusenc_config ec;
	cu_buf ogg = { 0 };

	if (!have("opusinfo") || !have("opusdec")) {
		skip("opusinfo/opusdec not installed (Debian opus-tools)");
		skip("opusinfo/opusdec not installed (Debian opus-tools)");
		return;
	}
	pcm = malloc(frames * 2 * sizeof *pcm);
	cu_chirp(pcm, frames, 2, 100.0, 3000.0, 0.5);
	opusenc_config_default(&ec);
	cu_encode_ogg(pcm, frames, &ec, 0, 9, &ogg);
	ok(opusinfo_ok(&ogg, false),
	   "opusinfo accepts a whole stream without a warning");
	is_int(opusdec_frames(&ogg, 2), (long)frames,
	       "opusdec decodes exactly the frames encoded");
	cu_buf_free(&ogg);
	free(pcm);
}

int main(void)
{
	check_sine();
	check_chirp();
	check_determinism();
	check_join();
	check_rotation();
	check_frame_sizes();
	check_variants();
	check_bad_floats();
	check_crc_matters();
	check_opusinfo();
	return tap_done();
}
