/*
 * bench/render.c: the render engine's throughput, in two measurements.
 *
 *   bench/render_voices voices [N] [SECONDS]
 *     N reference voices (band-limited sawtooth -> resonant low-pass with a
 *     decaying filter envelope -> ADSR -> constant-power pan), all held for
 *     SECONDS (default 256 voices, 10 s), rendered offline through the real
 *     render loop (scheduler, voice pool, buses, limiter). Prints
 *       voices: n=N seconds=S cpu=C voices_per_core=V
 *     where V = N x S / C voice-seconds per CPU-second (this thread's CPU).
 *
 *   bench/render_voices tracks [SECONDS]
 *     The four-track program of bench/four_tracks.js (drums, bass, chords,
 *     lead with delay and reverb), compiled by program_compile, rendered and
 *     encoded to Ogg Opus at 128 kbit/s, complexity 10 (codec/ogg_file, into
 *     /dev/null). Prints
 *       tracks: seconds=S cpu=C x_realtime=X
 *
 * Both take the least CPU time of several runs (5 and 3), which filters out
 * a shared machine's noise. bench/render (the script) combines them with scsynth's
 * figure and bench/encode's encode_ratio into the one summary line.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/ogg_file.h"
#include "common/error.h"
#include "engine/drums.h"
#include "engine/program.h"
#include "engine/render.h"
#include "engine/sched_program.h"
#include "tests/engine/synth_events.h"

#define SR 48000

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The reference voice, as the scsynth SynthDef of bench/render builds it. */
static void reference_voices(tsrc *s, int n, double seconds, double cps)
{
	int64_t len = (int64_t)llround(seconds * cps * 1000);
	s->n = 1;
	for (int i = 0; i < n; i++) {
		tev *e = tseq_add(&s->tr[0], 0, 1, len, 1000);
		tev_str(e, "s", "sawtooth");
		tev_num(e, "note", 36 + (i * 7) % 48);
		tev_num(e, "cutoff", 400);
		tev_num(e, "resonance", 6);
		tev_num(e, "lpenv", 4);
		tev_num(e, "lpattack", 0.001);
		tev_num(e, "lpdecay", 2);
		tev_num(e, "lpsustain", 0.2);
		tev_num(e, "attack", 0.01);
		tev_num(e, "decay", 0.5);
		tev_num(e, "sustain", 0.6);
		tev_num(e, "release", 0.5);
		tev_num(e, "pan", (double)(i % 17) / 16.0);
		tev_num(e, "gain", 0.05);
	}
}

static int bench_voices(int n, double seconds)
{
	tsrc *s = calloc(1, sizeof *s);
	float *buf = malloc(sizeof(float) * 2 * 960);
	double best = 1e30;
	int64_t frames = (int64_t)(seconds * SR);
	render_stats st = { 0 };
	if (!s || !buf || n > TSEQ_MAX)
		return 1;
	reference_voices(s, n, seconds, 0.5);
	for (int run = 0; run < 5; run++) {
		render_config cfg;
		render *r;
		sched_source src = tsrc_source(s);
		double t0;
		render_config_default(&cfg);
		if (render_new(&cfg, &r) < 0)
			return 1;
		render_set_source(r, &src);
		t0 = cpu_now();
		for (int64_t f = 0; f < frames; f += 960)
			render_block(r, buf, 960);
		t0 = cpu_now() - t0;
		if (t0 < best)
			best = t0;
		render_stats_get(r, &st);
		render_free(r);
	}
	if (st.active != n) {
		fprintf(stderr, "bench: %d voices sounding, wanted %d\n", st.active, n);
		return 1;
	}
	printf("voices: n=%d seconds=%g cpu=%.4f voices_per_core=%.0f\n", n, seconds, best,
	       n * seconds / best);
	free(buf);
	free(s);
	return 0;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *b = calloc(1, 1 << 16);
	size_t n;
	if (!f || !b)
		return NULL;
	n = fread(b, 1, (1 << 16) - 1, f);
	b[n] = '\0';
	fclose(f);
	return b;
}

static double tracks_once(const tt_program *p, const sampler *bank, double seconds)
{
	render_config cfg;
	render *r;
	sched_source src;
	opusenc_config ec;
	oggfile *of = NULL;
	FILE *devnull = fopen("/dev/null", "wb");
	static float buf[2 * 960];
	int64_t frames = (int64_t)(seconds * SR);
	double cps = 0.5, t0;
	render_config_default(&cfg);
	if (program_cps(p, &cps))
		cfg.cps = cps;
	cfg.bank = bank;
	opusenc_config_default(&ec);
	ec.bitrate = 128000;
	ec.complexity = 10;
	if (!devnull || render_new(&cfg, &r) < 0 || oggfile_open(devnull, &ec, NULL, &of) < 0)
		return -1;
	sched_source_program(p, &src);
	render_set_source(r, &src);
	t0 = cpu_now();
	for (int64_t f = 0; f < frames; f += 960) {
		render_block(r, buf, 960);
		oggfile_write(of, buf, 960);
	}
	oggfile_close(of);
	t0 = cpu_now() - t0;
	render_free(r);
	fclose(devnull);
	return t0;
}

static int bench_tracks(const char *path, double seconds)
{
	char *code = slurp(path);
	tt_program *p = NULL;
	tt_diag d;
	sampler *bank = NULL;
	double best = 1e30;
	if (!code || program_compile(code, strlen(code), &p, &d) < 0) {
		fprintf(stderr, "bench: %s:%d:%d: %s\n", path, d.line, d.col, code ? d.message : "unreadable");
		return 1;
	}
	sampler_new(&bank);
	drums_build(bank);
	for (int run = 0; run < 3; run++) {
		double t = tracks_once(p, bank, seconds);
		if (t < 0)
			return 1;
		if (t < best)
			best = t;
	}
	printf("tracks: seconds=%g cpu=%.4f x_realtime=%.1f\n", seconds, best, seconds / best);
	program_free(p);
	sampler_free(bank);
	free(code);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "voices") == 0)
		return bench_voices(argc > 2 ? (int)strtol(argv[2], NULL, 10) : TT_MAX_VOICES,
				    argc > 3 ? strtod(argv[3], NULL) : 10.0);
	if (argc >= 3 && strcmp(argv[1], "tracks") == 0)
		return bench_tracks(argv[2], argc > 3 ? strtod(argv[3], NULL) : 60.0);
	fprintf(stderr, "usage: %s voices [N] [SECONDS] | tracks FILE.js [SECONDS]\n", argv[0]);
	return 2;
}
