/*
 * bench/pattern_bench.c: how fast tutti's pattern language answers queries.
 *
 * Usage: pattern_bench CYCLES FILE...   Each FILE holds one program. Every
 * program is compiled once, then queried cycle by cycle over [0, CYCLES),
 * as the render thread does (one arena, reset per query). Prints one line:
 *   tutti_events=E seconds=S
 * counting only query time. A program that fails to compile is an error:
 * the caller passes only programs that compile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/program.h"

#define ARENA (64u * 1024 * 1024)

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
	    fread(buf, 1, (size_t)n, f) == (size_t)n) {
		*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* Queries every track of p over [0, cycles); adds events and seconds. */
static int run(const tt_program *p, long cycles, tt_arena *arena, long long *events,
	       double *secs)
{
	double t0 = now();

	for (long c = 0; c < cycles; c++) {
		tt_span span = { TT_RAT(c, 1), TT_RAT(c + 1, 1) };
		for (size_t i = 0; i < program_track_count(p); i++) {
			tt_event *ev;
			size_t n;
			arena_reset(arena);
			if (program_query(p, i, span, arena, &ev, &n) != 0)
				return -1;
			*events += (long long)n;
		}
	}
	*secs += now() - t0;
	return 0;
}

int main(int argc, char **argv)
{
	long cycles;
	long long events = 0;
	double secs = 0;
	void *mem = malloc(ARENA);
	tt_arena arena;

	if (argc < 3 || !mem || (cycles = strtol(argv[1], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: pattern_bench CYCLES FILE...\n");
		return 2;
	}
	arena_init(&arena, mem, ARENA);
	for (int k = 2; k < argc; k++) {
		size_t len;
		char *code = slurp(argv[k], &len);
		tt_program *p;
		tt_diag d;
		if (!code || program_compile(code, len, &p, &d) != 0) {
			fprintf(stderr, "%s: %d:%d: %s\n", argv[k], d.line, d.col, d.message);
			return 1;
		}
		free(code);
		if (run(p, cycles, &arena, &events, &secs) < 0) {
			fprintf(stderr, "%s: query failed\n", argv[k]);
			return 1;
		}
		program_free(p);
	}
	printf("tutti_events=%lld seconds=%.6f\n", events, secs);
	free(mem);
	return 0;
}
