/*
 * tests/server/oggcheck.c: decodes what tuttid streamed, for the live
 * tests, and prints one JSON line per 20 ms window of the left channel:
 *   {"frame": F, "rms": R, "freq": HZ}
 * where F is the window's first stream frame and HZ its frequency by
 * counting rising zero crossings (0 when silent).
 *
 *   oggcheck ogg FILE       an Ogg Opus stream as a listener got it
 *                           (header pages, then pages from any point),
 *                           decoded with libopusfile; stream frames come
 *                           from the first audio page's granule position
 *   oggcheck packets FILE   records of [int64 frame][uint16 len][packet],
 *                           little-endian, as the WebSocket audio carries
 *                           them, decoded with libopus
 */
#include <math.h>
#include <opus.h>
#include <opusfile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WIN 960
#define PRE_SKIP 312

static void window_out(int64_t frame, const float *l, int n)
{
	double sum = 0, first = -1, last = -1, freq = 0;
	int crossings = 0;

	/* Rising zero crossings, placed between samples by interpolation. */
	for (int i = 0; i < n; i++) {
		sum += (double)l[i] * l[i];
		if (i > 0 && l[i - 1] < 0 && l[i] >= 0) {
			double t = i - 1 + (double)-l[i - 1] / (double)(l[i] - l[i - 1]);
			if (first < 0)
				first = t;
			last = t;
			crossings++;
		}
	}
	double rms = sqrt(sum / n);
	if (rms > 1e-3 && crossings >= 2)
		freq = (crossings - 1) * 48000.0 / (last - first);
	printf("{\"frame\": %lld, \"rms\": %.6f, \"freq\": %.1f}\n", (long long)frame, rms,
	       freq);
}

static unsigned char *slurp(const char *path, long *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*len = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)*len + 1);
	if (b && fread(b, 1, (size_t)*len, f) != (size_t)*len) {
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

/* Granule position at the start of the third page (the first audio page
 * after OpusHead and OpusTags): its end granule less its samples. */
static int64_t first_audio_granule(const unsigned char *b, long len)
{
	long off = 0;
	for (int page = 0; off + 27 <= len; page++) {
		int nseg = b[off + 26];
		long body = 0;
		int packets = 0;
		uint64_t g = 0; /* unsigned: a negative granule's top byte would overflow */
		for (int i = 0; i < 8; i++)
			g |= (uint64_t)b[off + 6 + i] << (8 * i);
		for (int i = 0; i < nseg; i++) {
			body += b[off + 27 + i];
			if (b[off + 27 + i] < 255)
				packets++;
		}
		if (page == 2)
			return (int64_t)g - (int64_t)packets * WIN;
		off += 27 + nseg + body;
	}
	return -1;
}

static int decode_ogg(const char *path)
{
	long len;
	unsigned char *b = slurp(path, &len);
	OggOpusFile *of;
	float pcm[2 * 5760], win[WIN];
	int err, nwin = 0;
	int64_t frame;

	if (!b)
		return 2;
	frame = first_audio_granule(b, len);
	of = op_open_memory(b, (size_t)len, &err);
	if (!of) {
		fprintf(stderr, "oggcheck: libopusfile refuses the stream (%d)\n", err);
		return 1;
	}
	fprintf(stderr, "oggcheck: first audio granule %lld\n", (long long)frame);
	for (;;) {
		int n = op_read_float_stereo(of, pcm, 5760);
		if (n < 0) {
			fprintf(stderr, "oggcheck: decode error %d\n", n);
			return 1;
		}
		if (n == 0)
			break;
		for (int i = 0; i < n; i++) {
			win[nwin++] = pcm[2 * i];
			if (nwin == WIN) {
				window_out(frame, win, WIN);
				frame += WIN;
				nwin = 0;
			}
		}
	}
	op_free(of);
	free(b);
	return 0;
}

static int decode_packets(const char *path)
{
	long len, off = 0;
	unsigned char *b = slurp(path, &len);
	OpusDecoder *dec;
	float pcm[2 * 5760], win[WIN];
	int err;

	if (!b)
		return 2;
	dec = opus_decoder_create(48000, 2, &err);
	if (!dec)
		return 2;
	while (off + 10 <= len) {
		uint64_t frame = 0; /* the first packet's frame is -PRE_SKIP */
		int plen, n;
		for (int i = 0; i < 8; i++)
			frame |= (uint64_t)b[off + i] << (8 * i);
		plen = b[off + 8] | b[off + 9] << 8;
		off += 10;
		if (off + plen > len)
			break;
		n = opus_decode_float(dec, b + off, plen, pcm, 5760, 0);
		off += plen;
		if (n < 0) {
			fprintf(stderr, "oggcheck: packet decode error %d\n", n);
			return 1;
		}
		for (int i = 0; i < n && i < WIN; i++)
			win[i] = pcm[2 * i];
		window_out((int64_t)frame, win, n < WIN ? n : WIN);
	}
	opus_decoder_destroy(dec);
	free(b);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "ogg") == 0)
		return decode_ogg(argv[2]);
	if (argc == 3 && strcmp(argv[1], "packets") == 0)
		return decode_packets(argv[2]);
	fprintf(stderr, "usage: oggcheck ogg|packets FILE\n");
	return 2;
}
