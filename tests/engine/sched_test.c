/*
 * tests/engine/sched_test.c: the tempo map (exact cycle<->frame), tempo
 * changes, block tiling, mute/solo/hush and the track-flag limit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/limits.h"
#include "engine/sched.h"
#include "tests/engine/synth_events.h"
#include "tests/tap.h"

static unsigned char mem[1 << 20];

static void test_tempo_map(void)
{
	sched s;
	tt_rat c;
	int64_t f;
	sched_init(&s, 0.5);
	ok(sched_cycle_at(&s, 96000, &c) == TT_OK && c.n == 1 && c.d == 1,
	   "cps 0.5: frame 96000 is cycle 1 exactly");
	ok(sched_cycle_at(&s, 1, &c) == TT_OK && c.n == 1 && c.d == 96000,
	   "cps 0.5: frame 1 is cycle 1/96000");
	ok(sched_frame_at(&s, TT_RAT(1, 3), &f) == TT_OK && f == 32000, "cycle 1/3 is frame 32000");
	/* tempo change at frame 48000 (cycle 1/2): 1 cps from there */
	is_int(sched_set_cps(&s, 48000, 1.0), TT_OK, "tempo change accepted");
	ok(sched_cycle_at(&s, 48000, &c) == TT_OK && c.n == 1 && c.d == 2,
	   "the cycle is continuous at the change");
	ok(sched_cycle_at(&s, 96000, &c) == TT_OK && c.n == 3 && c.d == 2,
	   "after the change cycles run at 1 cps (frame 96000 is cycle 3/2)");
	ok(sched_frame_at(&s, TT_RAT(5, 2), &f) == TT_OK && f == 144000,
	   "cycle 5/2 maps back to frame 144000");
	ok(sched_frame_at(&s, TT_RAT(1, 4), &f) == TT_OK && f == 24000,
	   "a cycle before the change uses the old tempo");
	is_int(sched_set_cps(&s, 1000, 1.0), TT_EINVAL, "a tempo change in the past is refused");
	for (int i = 0; i < 16; i++)
		sched_set_cps(&s, 100000 + i, 0.6);
	is_int(sched_set_cps(&s, 200000, 0.7), TT_ELIMIT, "pending tempo changes are bounded");
	/* a non-terminating decimal cps is held as a small fraction */
	sched_init(&s, 130.0 / 240.0);
	ok(s.seg[0].cps.n == 13 && s.seg[0].cps.d == 24, "cps 130/240 is held as 13/24");
}

/* Counts onsets over [0, frames) in blocks of bs, recording frames. */
static size_t count_onsets(sched *s, int64_t frames, int bs, int64_t *at, size_t cap)
{
	static sched_onset on[TT_MAX_ONSETS_PER_BLOCK];
	tt_arena a;
	size_t total = 0;
	arena_init(&a, mem, sizeof mem);
	for (int64_t f = 0; f < frames; f += bs) {
		size_t n = sched_block(s, f, bs, &a, on, TT_MAX_ONSETS_PER_BLOCK);
		for (size_t i = 0; i < n; i++) {
			if (total < cap)
				at[total] = on[i].frame;
			total++;
			if (on[i].offset != (int)(on[i].frame - f))
				ok(0, "offset %d does not match frame", on[i].offset);
		}
	}
	return total;
}

static void test_tiling(void)
{
	tsrc *src = calloc(1, sizeof *src);
	sched_source ss;
	sched s;
	int64_t a[64], b[64];
	size_t na, nb;
	src->n = 1;
	src->tr[0].repeat = 1;
	for (int i = 0; i < 7; i++) { /* seven steps per cycle: no frame is exact */
		tev *e = tseq_add(&src->tr[0], i, 7, i + 1, 7);
		tev_str(e, "s", "bd");
	}
	ss = tsrc_source(src);
	sched_init(&s, 0.55);
	sched_set_source(&s, &ss);
	na = count_onsets(&s, 48000 * 4, 128, a, 64);
	sched_init(&s, 0.55);
	sched_set_source(&s, &ss);
	nb = count_onsets(&s, 48000 * 4, 1000, b, 64);
	ok(na == 16 && nb == 16, "7 steps per cycle over 2.2 cycles: 16 onsets (%zu, %zu)", na, nb);
	ok(memcmp(a, b, sizeof(int64_t) * 16) == 0, "the same frames whatever the block size");
	ok(a[1] == (int64_t)(48000.0 / 7 / 0.55), "the second onset is at floor(exact) = %lld",
	   (long long)a[1]);
	/* Tempo change mid-run: the cycle stays continuous, onsets keep order. */
	sched_init(&s, 0.5);
	sched_set_source(&s, &ss);
	sched_set_cps(&s, 50000, 1.0);
	na = count_onsets(&s, 48000 * 3, 128, a, 64);
	{
		int mono = 1;
		for (size_t i = 1; i < na && i < 64; i++)
			mono &= a[i] > a[i - 1];
		ok(mono && na > 10, "onsets across a tempo change stay in order (%zu)", na);
	}
	free(src);
}

static void test_flags(void)
{
	tsrc *src = calloc(1, sizeof *src);
	sched_source ss;
	sched s;
	char name[32];
	int rc = TT_OK;
	src->n = 2;
	src->tr[0].name = "drums";
	src->tr[1].name = "bass";
	ss = tsrc_source(src);
	sched_init(&s, 0.5);
	sched_set_source(&s, &ss);
	ok(sched_track_audible(&s, 0) && sched_track_audible(&s, 1), "tracks play by default");
	sched_mute(&s, "drums", true);
	ok(!sched_track_audible(&s, 0) && sched_track_audible(&s, 1), "mute drums");
	sched_mute(&s, "drums", false);
	sched_solo(&s, "bass", true);
	ok(!sched_track_audible(&s, 0) && sched_track_audible(&s, 1), "solo bass");
	sched_solo(&s, "bass", false);
	ok(sched_track_audible(&s, 0) && sched_track_audible(&s, 1), "unsolo");
	sched_hush(&s, true);
	ok(!sched_track_audible(&s, 0) && !sched_track_audible(&s, 1), "hush silences all");
	sched_hush(&s, false);
	for (int i = 0; i < TT_MAX_TRACK_FLAGS && rc == TT_OK; i++) {
		snprintf(name, sizeof name, "t%d", i);
		rc = sched_mute(&s, name, true);
	}
	is_int(rc, TT_OK, "%d muted names are held", TT_MAX_TRACK_FLAGS);
	is_int(sched_mute(&s, "one_more", true), TT_ELIMIT, "name %d is TT_ELIMIT",
	       TT_MAX_TRACK_FLAGS + 1);
	is_int(sched_mute(&s, "t0", false), TT_OK, "unmuting frees a slot");
	is_int(sched_mute(&s, "one_more", true), TT_OK, "which can be used again");
	free(src);
}

int main(void)
{
	test_tempo_map();
	test_tiling();
	test_flags();
	return tap_done();
}
