/*
 * tests/engine/render_program_test.c: the render engine driven by real
 * compiled programs (program_compile -> program_query -> sched -> voices),
 * and `tutti render` (cli_render) writing WAV and Ogg Opus files that
 * libsndfile, libopusfile and opusinfo read back.
 */
#include <math.h>
#include <opusfile.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "engine/drums.h"
#include "engine/program.h"
#include "engine/render.h"
#include "engine/rtguard.h"
#include "engine/sched_program.h"
#include "tests/engine/synth_events.h"
#include "tests/tap.h"

#define SR 48000

#include "clients/cli/commands.h"

static sampler *bank;

/* Renders code for seconds; NULL when it does not compile. */
static float *render_code(const char *code, double cps, double seconds, render_stats *st)
{
	tt_program *p = NULL;
	tt_diag d;
	render_config cfg;
	render *r;
	sched_source src;
	int64_t n = (int64_t)(seconds * SR);
	float *out;
	if (program_compile(code, strlen(code), &p, &d) < 0) {
		printf("# compile error %d:%d %s\n", d.line, d.col, d.message);
		return NULL;
	}
	out = calloc((size_t)n * 2, sizeof *out);
	render_config_default(&cfg);
	cfg.cps = cps;
	cfg.bank = bank;
	render_new(&cfg, &r);
	sched_source_program(p, &src);
	render_set_source(r, &src);
	rtguard_enter(); /* the hooks are linked in: program_query may not allocate */
	for (int64_t f = 0; f < n; f += 500)
		render_block(r, out + 2 * f, (int)(n - f < 500 ? n - f : 500));
	rtguard_leave();
	if (st)
		render_stats_get(r, st);
	render_free(r);
	program_free(p);
	return out;
}

static double peak_of(const float *x, int64_t a, int64_t b)
{
	double m = 0;
	for (int64_t i = a; i < b; i++)
		m = fmax(m, fmax(fabs(x[2 * i]), fabs(x[2 * i + 1])));
	return m;
}

static void test_engine(void)
{
	render_stats st;
	float *x = render_code("note(\"a4\").s(\"sine\")", 0.5, 1.0, NULL);
	double f = x ? freq_of(x, 4800, 43200) : 0;
	ok(x && fabs(f - 440) < 0.5, "program note(\"a4\").s(\"sine\") measures %.3f Hz", f);
	free(x);
	x = render_code("note(\"c3 ~\").s(\"sawtooth\")", 0.5, 2.0, NULL);
	ok(x && peak_of(x, 0, SR) > 0.1, "note(\"c3 ~\"): the note sounds");
	ok(x && peak_of(x, (int64_t)(1.05 * SR), 2 * SR) == 0.0, "and the rest is silent");
	free(x);
	{
		const char *code = "s(\"bd*2 [~ sd] hh*4\").room(0.3)";
		float *a = render_code(code, 0.6, 3.0, NULL);
		float *b = render_code(code, 0.6, 3.0, &st);
		ok(a && b && memcmp(a, b, sizeof(float) * 2 * 3 * SR) == 0,
		   "a drum program renders to the same bytes twice");
		ok(a && peak_of(a, 0, 3 * SR) > 0.1 && st.missing == 0,
		   "its built-in drums all play (missing %llu)", (unsigned long long)st.missing);
		free(a);
		free(b);
	}
	x = render_code("s(\"bd\").gain(1e9).cutoff(-5).resonance(1000).speed(0)", 0.5, 1.0, &st);
	ok(x && peak_of(x, 0, SR) <= 0.8913, "absurd controls through the language stay bounded");
	free(x);
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* Runs cli_render with up to 8 arguments (a NULL ends the list). */
static int run_cli(const char *a0, const char *a1, const char *a2, const char *a3,
		   const char *a4, const char *a5, const char *a6, const char *a7)
{
	char *argv[10] = { "render", (char *)a0, (char *)a1, (char *)a2, (char *)a3, (char *)a4,
			   (char *)a5, (char *)a6, (char *)a7, NULL };
	int argc = 1;
	while (argc < 9 && argv[argc])
		argc++;
	return cli_render(argc, argv);
}

static void test_cli(void)
{
	char dir[64], prog[128], wav[128], fwav[128], ogg[128], bad[128], cmd[300];
	SF_INFO info = { 0 };
	SNDFILE *sf;
	snprintf(dir, sizeof dir, "/tmp/tt_cli_%d", (int)getpid());
	snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
	if (system(cmd) != 0)
		tap_diag("mkdir failed");
	snprintf(prog, sizeof prog, "%s/a.js", dir);
	snprintf(wav, sizeof wav, "%s/a.wav", dir);
	snprintf(fwav, sizeof fwav, "%s/f.wav", dir);
	snprintf(ogg, sizeof ogg, "%s/a.ogg", dir);
	snprintf(bad, sizeof bad, "%s/bad.js", dir);
	write_file(prog, "note(\"a4\").s(\"sine\")\n");
	write_file(bad, "note(\"a4\").s(\n");
	is_int(run_cli("--seconds", "2", "-o", wav, prog, NULL, NULL, NULL), 0, "tutti render -o x.wav");
	sf = sf_open(wav, SFM_READ, &info);
	ok(sf && info.frames == 2 * SR && info.channels == 2 && info.samplerate == SR &&
	   (info.format & SF_FORMAT_SUBMASK) == SF_FORMAT_PCM_16,
	   "the WAV is 16-bit stereo 48 kHz, 2 s long");
	if (sf) {
		float *x = calloc((size_t)info.frames * 2, sizeof *x);
		sf_readf_float(sf, x, info.frames);
		ok(fabs(freq_of(x, 4800, 43200) - 440) < 0.5, "and plays 440 Hz");
		free(x);
		sf_close(sf);
	}
	is_int(run_cli("--float", "--seconds", "1", "--cps", "1", "-o", fwav, prog), 0,
	       "tutti render --float");
	memset(&info, 0, sizeof info);
	sf = sf_open(fwav, SFM_READ, &info);
	ok(sf && (info.format & SF_FORMAT_SUBMASK) == SF_FORMAT_FLOAT, "--float writes 32-bit float");
	if (sf)
		sf_close(sf);
	is_int(run_cli("--seconds", "2", "-o", ogg, prog, NULL, NULL, NULL), 0, "tutti render -o x.ogg");
	{
		int err = 0;
		OggOpusFile *of = op_open_file(ogg, &err);
		ok(of != NULL, "libopusfile opens the Ogg output");
		ok(of && op_pcm_total(of, -1) == 2 * SR, "and it holds exactly 2 s (%lld)",
		   of ? (long long)op_pcm_total(of, -1) : -1LL);
		if (of)
			op_free(of);
	}
	if (system("command -v opusinfo >/dev/null 2>&1") == 0) {
		snprintf(cmd, sizeof cmd, "opusinfo %s >/dev/null 2>&1", ogg);
		is_int(system(cmd), 0, "opusinfo accepts the Ogg output");
	} else {
		ok(1, "# SKIP opusinfo not installed (Debian opus-tools)");
	}
	is_int(run_cli("-o", wav, bad, NULL, NULL, NULL, NULL, NULL), 1, "code that does not compile: status 1");
	is_int(run_cli("-o", "x.mp3", prog, NULL, NULL, NULL, NULL, NULL), 2, "an unknown output type: status 2");
	is_int(run_cli("--seconds", "zero", "-o", wav, prog, NULL, NULL, NULL), 2, "a bad --seconds: status 2");
	is_int(run_cli("--samples", "/nonexistent", "-o", wav, prog, NULL, NULL, NULL), 1,
	       "a missing --samples folder: status 1");
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		tap_diag("cleanup failed");
}

/* Every ```js example of docs/sound.md compiles, sounds, names no missing
 * sound, and is not squashed by the limiter (a sign of a badly set level). */
static void test_docs(void)
{
	const char *src = getenv("TT_SRCDIR");
	char path[1024], *text, *p;
	FILE *f;
	long n;
	int count = 0;
	snprintf(path, sizeof path, "%s/docs/sound.md", src ? src : ".");
	f = fopen(path, "rb");
	if (!ok(f != NULL, "docs/sound.md is readable"))
		return;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = calloc((size_t)n + 1, 1);
	if (fread(text, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	fclose(f);
	for (p = strstr(text, "```js\n"); p; p = strstr(p, "```js\n")) {
		char *code = p + 6, *end = strstr(code, "```");
		render_stats st;
		float *x;
		double pk;
		if (!end)
			break;
		*end = '\0';
		x = render_code(code, 0.5, 4.0, &st);
		pk = x ? peak_of(x, 0, 4 * SR) : 0;
		ok(x && pk > 0.02 && st.missing == 0 && st.min_gain > 0.3,
		   "docs example %d sounds (peak %.2f, limiter %.2f, missing %llu)", ++count, pk,
		   st.min_gain, (unsigned long long)st.missing);
		if (!x)
			printf("# %s\n", code);
		free(x);
		p = end + 3;
	}
	ok(count >= 20, "docs/sound.md has %d examples", count);
	free(text);
}

int main(void)
{
	sampler_new(&bank);
	drums_build(bank);
	test_engine();
	test_docs();
	test_cli();
	sampler_free(bank);
	return tap_done();
}
