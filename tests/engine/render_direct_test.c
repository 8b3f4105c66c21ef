/*
 * tests/engine/render_direct_test.c: direct events (engine/direct.h)
 * through render_trigger: an event starts at its exact stream frame and is
 * heard at that output frame; a frame before the window starts at its
 * first frame, one past it waits (TT_EAGAIN); RENDER_MAX_DIRECT events a
 * block at N and N+1; the event's own limits at N and N+1; the same
 * triggers give the same bytes (what replay relies on). This binary
 * carries the rtguard hooks: triggering and rendering run under the
 * guard, so an allocation or a lock there aborts the test.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/heap.h"
#include "engine/direct.h"
#include "engine/drums.h"
#include "engine/fx.h"
#include "engine/render.h"
#include "engine/rtguard.h"
#include "tests/tap.h"

static sampler *bank;

static render *fresh(void)
{
	render_config cfg;
	render *r = NULL;

	render_config_default(&cfg);
	cfg.bank = bank;
	if (render_new(&cfg, &r) != TT_OK)
		abort();
	return r;
}

static void bd(direct_event *e)
{
	direct_event_init(e, 0.5);
	direct_event_set_str(e, "s", "bd");
}

/* Renders one block under the guard. */
static void block(render *r, float *out)
{
	rtguard_enter();
	render_block(r, out, RENDER_BLOCK);
	rtguard_leave();
}

static float peak(const float *pcm, int from, int to)
{
	float m = 0;
	for (int i = 2 * from; i < 2 * to; i++)
		m = fmaxf(m, fabsf(pcm[i]));
	return m;
}

static void test_exact_frame(void)
{
	float out[2 * RENDER_BLOCK];
	render *r = fresh();
	direct_event e;
	int64_t from, to, at = -1;
	const sched_onset *o;
	size_t n;
	int rc;

	render_window(r, &from, &to);
	is_int(from, FX_LIMITER_LOOKAHEAD, "the first window starts after the limiter's look-ahead");
	is_int(to - from, RENDER_BLOCK, "a window is one block");
	bd(&e);
	rtguard_enter();
	rc = render_trigger(r, &e, from + 500, &at);
	rtguard_leave();
	is_int(rc, TT_OK, "an event in the window is taken");
	is_int(at, from + 500, "at its own frame");
	block(r, out);
	n = render_onsets(r, &o);
	ok(n == 1 && o[0].track == RENDER_DIRECT_TRACK && o[0].frame == from + 500,
	   "its onset is on the direct track at that frame");
	ok(peak(out, 0, (int)(from + 500)) == 0.0f && peak(out, (int)(from + 500), RENDER_BLOCK) > 0.01f,
	   "silence before that output frame, sound from it (%g)",
	   (double)peak(out, (int)(from + 500), RENDER_BLOCK));
	render_free(r);
}

static void test_window(void)
{
	float out[2 * RENDER_BLOCK];
	render *r = fresh();
	direct_event e;
	int64_t from, to, at = -1;
	const sched_onset *o;

	bd(&e);
	block(r, out);
	render_window(r, &from, &to);
	is_int(from, RENDER_BLOCK + FX_LIMITER_LOOKAHEAD, "the window moves a block per block");
	is_int(render_trigger(r, &e, to, &at), TT_EAGAIN, "a frame past the window waits (TT_EAGAIN)");
	is_int(render_trigger(r, &e, 3, &at), TT_OK, "a frame before the window is taken");
	is_int(at, from, "and starts at the window's first frame");
	is_int(render_trigger(r, &e, to - 1, &at), TT_OK, "the window's last frame is taken");
	block(r, out);
	ok(render_onsets(r, &o) == 2 && o[0].frame == from && o[1].frame == to - 1,
	   "both start where render_trigger said");
	block(r, out);
	is_int(render_onsets(r, &o), 0, "and only once");
	render_free(r);
}

static void test_per_block_limit(void)
{
	float out[2 * RENDER_BLOCK];
	render *r = fresh();
	direct_event e;
	int64_t from, to;
	int good = 1;
	const sched_onset *o;

	bd(&e);
	render_window(r, &from, &to);
	for (int i = 0; i < RENDER_MAX_DIRECT; i++)
		good &= render_trigger(r, &e, from + i, NULL) == TT_OK;
	ok(good, "RENDER_MAX_DIRECT (%d) events in one block are taken", RENDER_MAX_DIRECT);
	is_int(render_trigger(r, &e, from, NULL), TT_ELIMIT, "one more is refused (TT_ELIMIT)");
	block(r, out);
	is_int(render_onsets(r, &o), RENDER_MAX_DIRECT, "all of them start");
	is_int(render_trigger(r, &e, 0, NULL), TT_OK, "the next block takes events again");
	render_free(r);
}

static void test_event_limits(void)
{
	direct_event e;
	static const char *const keys[] = {
		"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "k10", "k11", "k12",
		"k13", "k14", "k15", "k16", "k17", "k18", "k19", "k20", "k21", "k22", "k23", "k24",
		"k25", "k26", "k27", "k28", "k29", "k30", "k31", "k32", "k33", "k34", "k35", "k36",
	};
	char s63[TT_MAX_OSC_STRING + 2];
	int good = 1;

	ok(sizeof keys / sizeof keys[0] > TT_MAX_DIRECT_FIELDS, "enough test keys");
	direct_event_init(&e, 1);
	for (int i = 0; i < TT_MAX_DIRECT_FIELDS; i++)
		good &= direct_event_set_num(&e, keys[i], i) == TT_OK;
	ok(good && e.n_fields == TT_MAX_DIRECT_FIELDS, "TT_MAX_DIRECT_FIELDS (%d) fields fit",
	   TT_MAX_DIRECT_FIELDS);
	is_int(direct_event_set_num(&e, keys[TT_MAX_DIRECT_FIELDS], 1), TT_ELIMIT,
	       "one more field is TT_ELIMIT");
	is_int(direct_event_set_num(&e, "k0", 7), TT_OK, "setting a key again replaces it");
	ok(e.n_fields == TT_MAX_DIRECT_FIELDS && direct_event_get(&e, "k0")->num == 7,
	   "without a new field");

	memset(s63, 'a', sizeof s63);
	s63[TT_MAX_OSC_STRING] = '\0';
	direct_event_init(&e, 1);
	is_int(direct_event_set_str(&e, "s", s63), TT_OK, "a %d-byte string fits", TT_MAX_OSC_STRING);
	ok(strcmp(direct_field_str(&e, direct_event_get(&e, "s")), s63) == 0, "copied whole");
	s63[TT_MAX_OSC_STRING] = 'a';
	s63[TT_MAX_OSC_STRING + 1] = '\0';
	is_int(direct_event_set_str(&e, "vowel", s63), TT_EINVAL, "%d bytes are TT_EINVAL",
	       TT_MAX_OSC_STRING + 1);
	s63[TT_MAX_OSC_STRING] = '\0';
	is_int(direct_event_set_str(&e, "vowel", s63), TT_OK, "TT_MAX_DIRECT_TEXT holds two of them");
	is_int(direct_event_set_str(&e, "bank", "x"), TT_ELIMIT, "a byte more is TT_ELIMIT");
	ok(direct_event_get(&e, "bank") == NULL, "and leaves the event as it was");
}

/* Renders 50 blocks with the same triggers: the same seed, the same bytes. */
static void run(float *pcm)
{
	render *r = fresh();
	direct_event e;

	direct_event_init(&e, 0.3);
	direct_event_set_str(&e, "s", "white");
	direct_event_set_num(&e, "gain", 0.5);
	for (int b = 0; b < 50; b++) {
		int64_t from, to;
		render_window(r, &from, &to);
		if (b % 7 == 0)
			render_trigger(r, &e, from + 123 + b, NULL);
		block(r, pcm + (size_t)b * 2 * RENDER_BLOCK);
	}
	render_free(r);
}

static void test_deterministic(void)
{
	static float a[50 * 2 * RENDER_BLOCK], b[50 * 2 * RENDER_BLOCK];
	direct_event e;

	run(a);
	run(b);
	ok(memcmp(a, b, sizeof a) == 0 && peak(a, 0, 50 * RENDER_BLOCK) > 0.01f,
	   "the same triggers give the same bytes (noise seeded from the event and frame)");
	bd(&e);
	ok(direct_event_seed(&e, 100) == direct_event_seed(&e, 100) &&
	   direct_event_seed(&e, 100) != direct_event_seed(&e, 101), "the seed is the event's and "
	   "its frame's");
}

int main(void)
{
	if (sampler_new(&bank) != TT_OK || drums_build(bank) != TT_OK)
		return 1;
#ifdef TT_ASAN   /* the guard's hooks are left out (engine/rtguard.c) */
	ok(1, "# SKIP the guard's hooks are left out under AddressSanitizer");
#else
	ok(rtguard_hooked(), "this binary carries the render-thread guard");
#endif
	test_exact_frame();
	test_window();
	test_per_block_limit();
	test_event_limits();
	test_deterministic();
	sampler_free(bank);
	return tap_done();
}
