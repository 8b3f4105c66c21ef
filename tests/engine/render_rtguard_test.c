/*
 * tests/engine/render_rtguard_test.c: the render path allocates nothing and
 * takes no lock. This binary carries engine/rtguard.c's hooks: first we
 * check that the guard really aborts on malloc/calloc/realloc/free/lock
 * inside a guarded stretch (in child processes), then we render a busy
 * program (every source and effect, voice stealing, onset overflow, tempo
 * change, mute, hush) with the guard on, also in a child, and require it to
 * exit normally.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "engine/drums.h"
#include "engine/render.h"
#include "engine/rtguard.h"
#include "tests/engine/synth_events.h"
#include "tests/tap.h"

static void *volatile sink;

static void call_malloc(void) { sink = malloc(16); }
static void call_calloc(void) { sink = calloc(4, 4); }
static void call_realloc(void) { sink = realloc(NULL, 32); }
static void call_free(void) { free(sink); }
static void call_lock(void)
{
	static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&m);
}

/* Runs fn in a child with the guard entered; returns the wait status. */
static int in_child(void (*fn)(void), int guarded)
{
	int st = 0;
	pid_t pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", 1);
		if (devnull >= 0)
			dup2(devnull, 2); /* keep the expected abort message out of the log */
		if (guarded)
			rtguard_enter();
		fn();
		if (guarded)
			rtguard_leave();
		_exit(0);
	}
	waitpid(pid, &st, 0);
	return st;
}

static int aborted(int st)
{
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static void busy_program(tsrc *s)
{
	static const char *const snd[] = { "bd", "sd", "hh", "sawtooth", "square", "triangle",
					   "sine", "white", "pink", "brown", "cp", "cr", "nope" };
	s->n = 3;
	s->tr[0].name = "a";
	s->tr[1].name = "b";
	s->tr[2].name = "c";
	s->tr[0].repeat = s->tr[1].repeat = s->tr[2].repeat = 1;
	for (int i = 0; i < 64; i++) {
		tev *e = tseq_add(&s->tr[i % 2], i, 64, i + 1, 64);
		tev_str(e, "s", snd[i % 13]);
		tev_num(e, "note", 30 + i);
		tev_num(e, "cutoff", 300 + 50 * i);
		tev_num(e, "resonance", 5);
		tev_num(e, "lpenv", 3);
		tev_num(e, "hcutoff", 100);
		tev_num(e, "bandf", 2000);
		tev_str(e, "vowel", i % 2 ? "a" : "o");
		tev_num(e, "shape", 0.5);
		tev_num(e, "crush", 8);
		tev_num(e, "coarse", 3);
		tev_num(e, "delay", 0.5);
		tev_num(e, "room", 0.5);
		tev_num(e, "orbit", i % 3);
		tev_num(e, "speed", i % 4 ? 1.5 : -1);
	}
	for (int i = 0; i < 600; i++) { /* past the voice pool and the onset cap */
		tev *e = tseq_add(&s->tr[2], 0, 1, 4, 1);
		tev_str(e, "s", "sine");
		tev_num(e, "gain", 0.001);
	}
}

static sampler *bank;
static render *rend;

static void render_busy(void)
{
	static float out[2 * 480];
	for (int i = 0; i < 500; i++) {
		if (i == 100)
			render_set_cps(rend, 0.9);
		if (i == 200)
			sched_mute(render_sched(rend), "a", true);
		if (i == 300)
			render_hush(rend, true);
		if (i == 350)
			render_hush(rend, false);
		render_block(rend, out, 480);
	}
}

int main(void)
{
	tsrc *s = calloc(1, sizeof *s);
	render_config cfg;
	sched_source ss;
	render_stats st;
	if (rtguard_hooked()) {
		ok(aborted(in_child(call_malloc, 1)), "malloc while rendering aborts");
		ok(aborted(in_child(call_calloc, 1)), "calloc while rendering aborts");
		ok(aborted(in_child(call_realloc, 1)), "realloc while rendering aborts");
		ok(aborted(in_child(call_free, 1)), "free while rendering aborts");
		ok(aborted(in_child(call_lock, 1)), "pthread_mutex_lock while rendering aborts");
		ok(in_child(call_malloc, 0) == 0, "malloc outside rendering is fine");
	} else {
		ok(1, "# SKIP the hooks are left out under AddressSanitizer");
	}

	sampler_new(&bank);
	drums_build(bank);
	busy_program(s);
	ss = tsrc_source(s);
	render_config_default(&cfg);
	cfg.bank = bank;
	render_new(&cfg, &rend);
	render_set_source(rend, &ss);
	{
		int stc = in_child(render_busy, 1);
		ok(WIFEXITED(stc) && WEXITSTATUS(stc) == 0,
		   "5 s of a busy program render with the guard on (status %d)", stc);
	}
	render_busy(); /* once more here, for the counters */
	render_stats_get(rend, &st);
	ok(st.stolen > 0 && st.sched.dropped > 0 && st.missing > 0,
	   "that run stole voices (%llu), dropped onsets (%llu), missed a sound (%llu)",
	   (unsigned long long)st.stolen, (unsigned long long)st.sched.dropped,
	   (unsigned long long)st.missing);
	render_free(rend);
	sampler_free(bank);
	free(s);
	return tap_done();
}
