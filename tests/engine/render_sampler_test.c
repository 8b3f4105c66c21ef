/*
 * tests/engine/render_sampler_test.c: sample banks from a generated folder
 * of WAV files (written here with libsndfile): sorting, n modulo count,
 * resampling to 48 kHz, reverse playback, begin/end, a corrupt file.
 */
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/limits.h"
#include "engine/render.h"
#include "engine/sampler.h"
#include "tests/engine/synth_events.h"
#include "tests/tap.h"

static char root[256];

static int write_wav(const char *path, int rate, int channels, int frames, double slope)
{
	SF_INFO info = { 0 };
	SNDFILE *f;
	float *x = calloc((size_t)frames * (size_t)channels, sizeof *x);
	info.samplerate = rate;
	info.channels = channels;
	info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
	f = sf_open(path, SFM_WRITE, &info);
	if (!f) {
		free(x);
		return -1;
	}
	for (int i = 0; i < frames; i++) /* a ramp: its direction shows play order */
		for (int c = 0; c < channels; c++)
			x[i * channels + c] = (float)(slope * (i - frames / 2) / frames);
	sf_writef_float(f, x, frames);
	sf_close(f);
	free(x);
	return 0;
}

static void make_tree(void)
{
	char p[512];
	snprintf(root, sizeof root, "/tmp/tt_samples_%d", (int)getpid());
	mkdir(root, 0755);
	snprintf(p, sizeof p, "%s/ramp", root);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/ramp/b_second.wav", root);
	write_wav(p, 44100, 1, 4410, -1.0);
	snprintf(p, sizeof p, "%s/ramp/a_first.wav", root);
	write_wav(p, 48000, 2, 4800, 1.0);
	snprintf(p, sizeof p, "%s/ramp/c_third.wav", root);
	write_wav(p, 22050, 1, 22050, 1.0);
	snprintf(p, sizeof p, "%s/ramp/notes.txt", root);
	fclose(fopen(p, "w"));
	snprintf(p, sizeof p, "%s/bd", root); /* replaces the built-in of that name */
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/bd/x.wav", root);
	write_wav(p, 48000, 1, 100, 1.0);
}

static void rm_tree(void)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s_bad'", root, root);
	if (system(cmd) != 0)
		tap_diag("could not remove the sample folder");
}

static float *play(const sampler *bank, const char *s, double speed, double begin, double end,
		   int frames)
{
	tsrc *src = calloc(1, sizeof *src);
	tev *e = tseq_add(&src->tr[0], 0, 1, 1, 1);
	render_config cfg;
	render *r;
	sched_source ss;
	float *out = calloc((size_t)frames * 2, sizeof *out);
	src->n = 1;
	tev_str(e, "s", s);
	tev_num(e, "speed", speed);
	tev_num(e, "begin", begin);
	tev_num(e, "end", end);
	tev_num(e, "gain", 1);
	ss = tsrc_source(src);
	render_config_default(&cfg);
	cfg.bank = bank;
	if (render_new(&cfg, &r) == TT_OK) {
		render_set_source(r, &ss);
		render_block(r, out, frames);
		render_free(r);
	}
	free(src);
	return out;
}

static int64_t sounding(const float *x, int frames)
{
	int64_t n = 0;
	for (int i = 0; i < frames; i++)
		n += x[2 * i] != 0.0f;
	return n;
}

static void test_load(void)
{
	sampler *bank;
	char err[512] = "";
	const sampler_sound *a, *b, *c;
	int rc;
	sampler_new(&bank);
	sampler_add(bank, "bd", calloc(14, sizeof(float)), 10);
	rc = sampler_load_dir(bank, root, err, sizeof err);
	is_int(rc, TT_OK, "a folder of WAV files loads (%s)", err);
	is_int(sampler_sound_count(bank, "ramp"), 3, "three audio files in 'ramp', the .txt skipped");
	a = sampler_find(bank, "ramp", 0);
	b = sampler_find(bank, "ramp", 1);
	c = sampler_find(bank, "ramp", 2);
	ok(a && a->frames == 4800, "n=0 is a_first.wav (48 kHz, 4800 frames)");
	ok(b && llabs(b->frames - 4800) <= 1, "n=1 is b_second.wav resampled 44.1 -> 48 kHz (%lld)",
	   b ? (long long)b->frames : -1LL);
	ok(c && llabs(c->frames - 48000) <= 1, "n=2 is c_third.wav resampled 22.05 -> 48 kHz");
	ok(sampler_find(bank, "ramp", 4) == b, "n=4 wraps modulo 3 to n=1");
	ok(sampler_find(bank, "ramp", -1) == c, "n=-1 wraps to the last");
	is_int(sampler_sound_count(bank, "bd"), 1, "a folder replaces the sound of the same name");
	ok(sampler_find(bank, "bd", 0)->frames == 100, "and its variant is the file");
	{ /* the resampled ramp still rises and stays in range */
		double mx = 0;
		for (int64_t i = 0; i < b->frames; i++)
			mx = fmax(mx, fabs(b->data[i]));
		ok(mx < 0.55 && b->data[100] > b->data[4000], "the resampled ramp keeps its shape");
	}
	{
		float *fw = play(bank, "ramp:0", 1, 0, 1, 6000);
		float *bw = play(bank, "ramp:0", -1, 0, 1, 6000);
		float *half = play(bank, "ramp:0", 1, 0.5, 1, 6000);
		float *fast = play(bank, "ramp:0", 2, 0, 1, 6000);
		ok(llabs(sounding(fast, 6000) - 2400) < 40, "speed 2 plays it in half the time (%lld)",
		   (long long)sounding(fast, 6000));
		free(fast);
		ok(fw[2 * 1000] < fw[2 * 3000], "speed 1 plays the rising ramp rising");
		ok(bw[2 * 1000] > bw[2 * 3000], "speed -1 plays it backwards");
		ok(llabs(sounding(half, 6000) - 2400) < 40, "begin 0.5 plays half the sample (%lld)",
		   (long long)sounding(half, 6000));
		free(fw);
		free(bw);
		free(half);
	}
	{
		float *z = play(bank, "ramp:0", 0, 0, 1, 6000);
		ok(sounding(z, 6000) == 0, "speed 0 is silent, not a DC offset");
		free(z);
	}
	sampler_free(bank);
}

static void test_corrupt(void)
{
	sampler *bank;
	char p[600], err[512] = "";
	FILE *f;
	int rc;
	snprintf(p, sizeof p, "%s_bad", root);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s_bad/snd", root);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s_bad/snd/0.wav", root);
	write_wav(p, 48000, 1, 100, 1.0);
	snprintf(p, sizeof p, "%s_bad/snd/1.wav", root);
	f = fopen(p, "wb");
	fputs("RIFF\x24\x00\x00\x00WAVEfmt garbage that is not a header", f);
	fclose(f);
	sampler_new(&bank);
	snprintf(p, sizeof p, "%s_bad", root);
	rc = sampler_load_dir(bank, p, err, sizeof err);
	is_int(rc, TT_EFORMAT, "a corrupt WAV fails the load with TT_EFORMAT");
	ok(strstr(err, "1.wav") != NULL, "the error names the file: %s", err);
	is_int(sampler_bank_count(bank), 0, "nothing of the failed folder is kept");
	rc = sampler_load_dir(bank, "/nonexistent/samples", err, sizeof err);
	is_int(rc, TT_ENOTFOUND, "a missing folder is TT_ENOTFOUND");
	sampler_free(bank);
}

static int write_sine(const char *path, int rate, int frames, double hz)
{
	SF_INFO info = { 0 };
	SNDFILE *f;
	float *x = calloc((size_t)frames, sizeof *x);
	info.samplerate = rate;
	info.channels = 1;
	info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
	f = sf_open(path, SFM_WRITE, &info);
	if (!f) {
		free(x);
		return -1;
	}
	for (int i = 0; i < frames; i++)
		x[i] = (float)(0.5 * sin(2 * M_PI * hz * i / rate));
	sf_writef_float(f, x, frames);
	sf_close(f);
	free(x);
	return 0;
}

static void test_resample_quality(void)
{
	char p[600];
	float *d = NULL;
	int64_t n = 0, crossings = 0, first = -1, last = -1;
	double mx = 0;
	snprintf(p, sizeof p, "%s_sine.wav", root);
	write_sine(p, 44100, 44100, 1000.0);
	is_int(sampler_load_file(p, &d, &n), TT_OK, "a 44.1 kHz sine loads");
	ok(llabs(n - 48000) <= 1, "one second at 44.1 kHz is 48000 frames at 48 kHz (%lld)",
	   (long long)n);
	for (int64_t i = 1000; d && i < n - 1000; i++) {
		mx = fmax(mx, fabs(d[i]));
		if (d[i - 1] < 0 && d[i] >= 0) {
			if (first < 0)
				first = i;
			last = i;
			crossings++;
		}
	}
	ok(crossings > 10 && fabs((crossings - 1) * 48000.0 / (double)(last - first) - 1000) < 1.0,
	   "the resampled sine is still 1000 Hz");
	ok(fabs(mx - 0.5) < 0.005, "and keeps its level (peak %.4f)", mx);
	free(d);
	unlink(p);
}

/* TT_MAX_SAMPLE_FRAMES: a file of exactly the limit loads, one frame more
 * is refused before anything is allocated. */
static void test_frame_limit(void)
{
	char p[600];
	SF_INFO info = { 0 };
	SNDFILE *f;
	static short zeros[48000];
	float *d = NULL;
	int64_t n = 0;
	snprintf(p, sizeof p, "%s_long.wav", root);
	info.samplerate = 48000;
	info.channels = 1;
	info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
	f = sf_open(p, SFM_WRITE, &info);
	for (int64_t left = TT_MAX_SAMPLE_FRAMES; f && left > 0; left -= 48000)
		sf_write_short(f, zeros, left < 48000 ? left : 48000);
	sf_close(f);
	is_int(sampler_load_file(p, &d, &n), TT_OK, "a file of TT_MAX_SAMPLE_FRAMES frames loads");
	is_int(n, TT_MAX_SAMPLE_FRAMES, "all of it");
	free(d);
	d = NULL;
	f = sf_open(p, SFM_RDWR, &info);
	if (f) {
		sf_seek(f, 0, SEEK_END);
		sf_write_short(f, zeros, 1);
		sf_close(f);
	}
	is_int(sampler_load_file(p, &d, &n), TT_ELIMIT, "one frame more is TT_ELIMIT");
	free(d);
	unlink(p);
}

static void test_bank_limit(void)
{
	sampler *b;
	char name[32];
	int rc = TT_OK;
	sampler_new(&b);
	for (int i = 0; i < TT_MAX_SAMPLE_BANKS && rc == TT_OK; i++) {
		snprintf(name, sizeof name, "s%05d", i);
		rc = sampler_add(b, name, calloc(5, sizeof(float)), 1);
	}
	is_int(rc, TT_OK, "%d sounds fit in a bank", TT_MAX_SAMPLE_BANKS);
	{
		float *x = calloc(5, sizeof(float));
		rc = sampler_add(b, "one_more", x, 1);
		is_int(rc, TT_ELIMIT, "sound %d is TT_ELIMIT", TT_MAX_SAMPLE_BANKS + 1);
		if (rc < 0)
			free(x);
	}
	ok(sampler_find(b, "s04095", 0) != NULL, "the last one is found by name");
	sampler_free(b);
}

int main(void)
{
	make_tree();
	test_load();
	test_corrupt();
	test_resample_quality();
	test_frame_limit();
	test_bank_limit();
	rm_tree();
	return tap_done();
}
