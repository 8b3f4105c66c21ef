/*
 * clients/cli/query.c: tutti query --cycles N [--from C]
 *
 * Reads a program on stdin, compiles it, and prints every event of every
 * track over cycles [C, C+N) as one JSON object per line, in the format of
 * the conformance checker: {"whole": ["n/d","n/d"] or null, "part": [...],
 * "value": {...}, "locs": [[start, end], ...]}. The span is queried in one
 * piece (as Strudel's queryArc does), so events that cross cycle
 * boundaries come out whole. Rejected code exits 1 with "line:col:
 * message" on stderr.
 *
 * Invariants:
 *  1. Input larger than TT_MAX_CODE_BYTES is refused before compiling.
 *  2. The query arena grows by doubling up to QUERY_ARENA_MAX, so memory
 *     stays bounded whatever the pattern.
 */
#include "clients/cli/query.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/limits.h"
#include "engine/program.h"

#define QUERY_ARENA_MIN (16u * 1024 * 1024)
#define QUERY_ARENA_MAX (1024u * 1024 * 1024)

static void put_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void put_field_value(FILE *f, const tt_field *x)
{
	if (x->kind == TT_V_STR)
		put_json_str(f, x->str ? x->str : "");
	else if (x->kind == TT_V_BOOL)
		fputs(x->num != 0 ? "true" : "false", f);
	else if (!isfinite(x->num))
		fputs("null", f);
	else
		fprintf(f, "%.17g", x->num);
}

static void put_value(FILE *f, const tt_event *e)
{
	bool keyed = e->n_fields > 0 && e->fields[0].key;

	if (e->n_fields == 1 && !keyed) {
		put_field_value(f, &e->fields[0]);
		return;
	}
	fputc(keyed || e->n_fields == 0 ? '{' : '[', f);
	for (uint32_t i = 0; i < e->n_fields; i++) {
		if (i)
			fputc(',', f);
		if (keyed) {
			put_json_str(f, e->fields[i].key ? e->fields[i].key : "");
			fputc(':', f);
		}
		put_field_value(f, &e->fields[i]);
	}
	fputc(keyed || e->n_fields == 0 ? '}' : ']', f);
}

static void put_span(FILE *f, const tt_span *s)
{
	char a[48], b[48];
	rat_format(s->begin, a, sizeof a);
	rat_format(s->end, b, sizeof b);
	fprintf(f, "[\"%s\",\"%s\"]", a, b);
}

static void put_event(FILE *f, const tt_event *e)
{
	fputs("{\"whole\":", f);
	if (e->has_whole)
		put_span(f, &e->whole);
	else
		fputs("null", f);
	fputs(",\"part\":", f);
	put_span(f, &e->part);
	fputs(",\"value\":", f);
	put_value(f, e);
	fputs(",\"locs\":[", f);
	for (uint32_t i = 0; i < e->n_locs; i++)
		fprintf(f, "%s[%u,%u]", i ? "," : "", e->locs[i].start, e->locs[i].end);
	fputs("]}\n", f);
}

/* Reads all of stdin; refuses more than TT_MAX_CODE_BYTES. */
static int read_code(char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	if (!buf)
		return TT_ENOMEM;
	for (;;) {
		size_t got;
		if (n == cap) {
			char *b;
			if (cap > TT_MAX_CODE_BYTES) {
				free(buf);
				return TT_ELIMIT;
			}
			if (!(b = realloc(buf, cap * 2))) {
				free(buf);
				return TT_ENOMEM;
			}
			buf = b;
			cap *= 2;
		}
		got = fread(buf + n, 1, cap - n, stdin);
		n += got;
		if (got == 0)
			break;
	}
	if (n > TT_MAX_CODE_BYTES) {
		free(buf);
		return TT_ELIMIT;
	}
	*out = buf;
	*len = n;
	return TT_OK;
}

/* "3", "-1", "1/4" or "0.5" (decimals up to 6 places) as a rational. */
static int parse_rat(const char *s, tt_rat *out)
{
	char *end;
	long long n, d = 1;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || end == s)
		return TT_EINVAL;
	if (*end == '/') {
		const char *ds = end + 1;
		d = strtoll(ds, &end, 10);
		if (errno || end == ds || d <= 0)
			return TT_EINVAL;
	} else if (*end == '.') {
		double x = strtod(s, &end);
		if (*end != '\0')
			return TT_EINVAL;
		return rat_from_double(x, 1000000, out);
	}
	if (*end != '\0')
		return TT_EINVAL;
	return rat_make(n, d, out);
}

static int query_track(const tt_program *p, size_t i, tt_span span)
{
	size_t cap = QUERY_ARENA_MIN;
	int rc;

	for (;;) {
		void *mem = malloc(cap);
		tt_arena arena;
		tt_event *ev;
		size_t n;
		if (!mem)
			return TT_ENOMEM;
		arena_init(&arena, mem, cap);
		rc = program_query(p, i, span, &arena, &ev, &n);
		if (rc == TT_OK)
			for (size_t k = 0; k < n; k++)
				put_event(stdout, &ev[k]);
		free(mem);
		if (rc != TT_ELIMIT || cap >= QUERY_ARENA_MAX)
			return rc;
		cap *= 2;
	}
}

static int usage(void)
{
	fputs("usage: tutti query --cycles N [--from C] < code\n", stderr);
	return 2;
}

static int parse_args(int argc, char **argv, tt_span *span)
{
	tt_rat from = TT_RAT(0, 1), cycles = TT_RAT(1, 1);

	for (int i = 1; i < argc; i++) {
		bool c = strcmp(argv[i], "--cycles") == 0;
		if ((!c && strcmp(argv[i], "--from") != 0) || i + 1 >= argc)
			return TT_EINVAL;
		if (parse_rat(argv[++i], c ? &cycles : &from) < 0)
			return TT_EINVAL;
	}
	if (cycles.n <= 0)
		return TT_EINVAL;
	span->begin = from;
	return rat_add(from, cycles, &span->end);
}

int cli_query(int argc, char **argv)
{
	tt_span span;
	tt_program *p = NULL;
	tt_diag diag;
	char *code = NULL;
	size_t len = 0;
	int rc;

	if (parse_args(argc, argv, &span) < 0)
		return usage();
	if ((rc = read_code(&code, &len)) < 0) {
		if (rc == TT_ELIMIT)
			fprintf(stderr, "1:1: the code is larger than the limit of "
				"%d bytes\n", TT_MAX_CODE_BYTES);
		else
			fprintf(stderr, "1:1: %s\n", tt_strerror(rc));
		return 1;
	}
	rc = program_compile(code, len, &p, &diag);
	free(code);
	if (rc < 0) {
		fprintf(stderr, "%d:%d: %s\n", diag.line, diag.col, diag.message);
		return 1;
	}
	for (size_t i = 0; i < program_track_count(p) && rc == TT_OK; i++)
		rc = query_track(p, i, span);
	program_free(p);
	if (rc < 0) {
		if (rc == TT_ELIMIT)
			fprintf(stderr, "query: the pattern makes too many events (more "
				"than %d per cycle) or nests too deep\n",
				TT_MAX_EVENTS_PER_CYCLE);
		else
			fprintf(stderr, "query: %s\n", tt_strerror(rc));
		return 1;
	}
	return 0;
}
