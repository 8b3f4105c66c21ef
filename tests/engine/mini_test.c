/*
 * tests/engine/mini_test.c: the mini-notation parser and builder.
 *
 * Expected events and locations come from Strudel 1.2.6 (run through the
 * oracle in /work/shared/conformance/oracle) for the same strings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/limits.h"
#include "engine/mini.h"
#include "tests/tap.h"

static int parses(const char *s)
{
	mini_ast *a = NULL;
	mini_err e;
	int rc = mini_parse(s, strlen(s), &a, &e);
	mini_free(a);
	return rc;
}

static size_t err_at(const char *s, char *msg, size_t cap)
{
	mini_ast *a = NULL;
	mini_err e;
	if (mini_parse(s, strlen(s), &a, &e) == TT_OK) {
		mini_free(a);
		return (size_t)-1;
	}
	snprintf(msg, cap, "%s", e.message);
	return e.at;
}

static int by_begin(const void *a, const void *b)
{
	return rat_cmp(((const tt_event *)a)->whole.begin,
		       ((const tt_event *)b)->whole.begin);
}

/* Events of s over [0, cycles) as "begin-end:value@loc;..." in query order,
 * with the string's quote at offset 2 as in s("..."), sorted by onset. */
static char *render(const char *s, int cycles)
{
	static char out[8192];
	pat_pool *pool;
	pat *p;
	mini_err e;
	tt_arena arena;
	static unsigned char mem[1 << 22];
	tt_event *ev;
	size_t n, len = 0;
	tt_span span = { TT_RAT(0, 1), TT_RAT(cycles, 1) };

	out[0] = '\0';
	if (pat_pool_new(&pool) < 0)
		return out;
	if (mini_compile(pool, s, strlen(s), 2, &p, &e) < 0) {
		snprintf(out, sizeof out, "error at %zu: %s", e.at, e.message);
		pat_pool_free(pool);
		return out;
	}
	arena_init(&arena, mem, sizeof mem);
	if (pat_query(p, span, &arena, &ev, &n) == TT_OK) {
		qsort(ev, n, sizeof *ev, by_begin);
		for (size_t i = 0; i < n && len < sizeof out - 128; i++) {
			char b[48], d[48], v[64];
			const tt_field *f = &ev[i].fields[0];
			rat_format(ev[i].whole.begin, b, sizeof b);
			rat_format(ev[i].whole.end, d, sizeof d);
			if (f->kind == TT_V_STR)
				snprintf(v, sizeof v, "%s", f->str);
			else
				snprintf(v, sizeof v, "%g", f->num);
			len += (size_t)snprintf(out + len, sizeof out - len, "%s%s-%s:%s@%u",
						i ? ";" : "", b, d, v,
						ev[i].n_locs ? ev[i].locs[0].start : 0);
		}
	}
	pat_pool_free(pool);
	return out;
}

static char *nest(char open, char close, int depth)
{
	char *s = malloc((size_t)depth * 2 + 3);
	int k = 0;
	for (int i = 0; i < depth; i++)
		s[k++] = open;
	s[k++] = 'b';
	s[k++] = 'd';
	for (int i = 0; i < depth; i++)
		s[k++] = close;
	s[k] = '\0';
	return s;
}

/* s with control characters shown as '?', for one-line TAP messages. */
static const char *shown(const char *s)
{
	static char b[128];
	size_t i = 0;
	for (; s[i] && i < sizeof b - 1; i++)
		b[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
	b[i] = '\0';
	return b;
}

static void test_syntax(void)
{
	static const char *const good[] = {
		"bd", "bd sd", "~ bd - sd", "[bd sd]", "<bd sd>", "{bd sd, hh}%4",
		"bd*2", "bd*<2 3>", "bd/2", "bd!", "bd!3", "bd ! !", "bd@3", "bd _ _",
		"bd?", "bd?0.3", "bd | sd", "bd(3,8)", "bd(3,8,2)", "bd(<3 5>,8)",
		"0 .. 7", "bd:3", "bd sd . hh", "c#3 eb4", "^bd sd", "bd, sd",
		"  bd  ", "bd\tsd\nhh", "0 ..",
	};
	static const char *const bad[] = {
		"", " ", "[bd", "bd]", "<bd", "{bd", "bd(3,8", "bd $ sd", "bd*",
		"[]", "<>", "bd(3)", "bd . . sd", "bd, , sd", "'bd'", "bd \"",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		is_int(parses(good[i]), TT_OK, "mini_parse accepts \"%s\"", shown(good[i]));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		is_int(parses(bad[i]), TT_ESYNTAX, "mini_parse rejects \"%s\"", shown(bad[i]));
}

static void test_errors(void)
{
	char msg[256];
	size_t at = err_at("bd [sd hh", msg, sizeof msg);
	is_int(at, 9, "unclosed bracket is reported at the end");
	ok(strstr(msg, "']'") != NULL, "and says ']' was expected: %s", msg);
	at = err_at("bd $ sd", msg, sizeof msg);
	is_int(at, 3, "a bad character is reported where it is");
	ok(strstr(msg, "'$'") != NULL, "and is named: %s", msg);
	at = err_at("<c3 e3", msg, sizeof msg);
	ok(strstr(msg, "'>'") != NULL, "unclosed angle expects '>': %s", msg);
	at = err_at("bd(3,8", msg, sizeof msg);
	ok(strstr(msg, "')'") != NULL, "unclosed euclid expects ')': %s", msg);
}

static void test_nesting_limit(void)
{
	char *s;
	const char opens[] = "[<{", closes[] = "]>}";

	for (int k = 0; k < 3; k++) {
		s = nest(opens[k], closes[k], TT_MAX_NESTING);
		is_int(parses(s), TT_OK, "%d nested '%c' are accepted", TT_MAX_NESTING,
		       opens[k]);
		free(s);
		s = nest(opens[k], closes[k], TT_MAX_NESTING + 1);
		is_int(parses(s), TT_ELIMIT, "%d nested '%c' are refused",
		       TT_MAX_NESTING + 1, opens[k]);
		free(s);
	}
	s = nest('[', ']', 10000);
	is_int(parses(s), TT_ELIMIT, "10000 nested brackets are refused");
	free(s);
	/* euclid parentheses nest too: a(a(a(...,1),1),1) */
	{
		size_t cap = 8 * (TT_MAX_NESTING + 2), k = 0;
		char *e = malloc(cap);
		for (int i = 0; i <= TT_MAX_NESTING; i++)
			k += (size_t)snprintf(e + k, cap - k, "a(");
		k += (size_t)snprintf(e + k, cap - k, "1");
		for (int i = 0; i <= TT_MAX_NESTING; i++)
			k += (size_t)snprintf(e + k, cap - k, ",1)");
		is_int(parses(e), TT_ELIMIT, "%d nested euclid parentheses are refused",
		       TT_MAX_NESTING + 1);
		free(e);
	}
}

static void test_numbers(void)
{
	static const struct { const char *s; int ok; double v; } cases[] = {
		{ "1", 1, 1 }, { "-2.5", 1, -2.5 }, { ".25", 1, 0.25 }, { "1e3", 1, 1000 },
		{ "0x10", 1, 16 }, { "Infinity", 1, 1.0 / 0.0 }, { "1.", 1, 1 },
		{ "bd", 0, 0 }, { "-", 0, 0 }, { ".", 0, 0 }, { "1e", 0, 0 },
		{ "c3", 0, 0 }, { "1_0", 0, 0 }, { "0x", 0, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		double v = 0;
		bool got = mini_word_number(cases[i].s, strlen(cases[i].s), &v);
		ok(got == (bool)cases[i].ok && (!got || v == cases[i].v),
		   "Number(\"%s\") %s", cases[i].s, cases[i].ok ? "is a number" : "is not");
	}
}

static void test_events(void)
{
	/* locations: a leaf after "!" keeps its leading space out (Strudel's
	 * getLeafLocation); the quote is at 2, so "bd" at index 0 is at 3 */
	is_str(render("bd ! ! sd", 1), "0-1/4:bd@3;1/4-1/2:bd@3;1/2-3/4:bd@3;3/4-1:sd@10",
	       "replicate without a number, and locations");
	is_str(render("bd@3 sd", 1), "0-3/4:bd@3;3/4-1:sd@8", "elongation");
	is_str(render("bd _ _ sd", 1), "0-3/4:bd@3;3/4-1:sd@10", "underscore");
	is_str(render("<bd sd>!2 hh", 1), "0-1/3:bd@4;1/3-2/3:bd@4;2/3-1:hh@13",
	       "replicated alternation");
	is_str(render("{bd sd hh}%4", 1), "0-1/4:bd@4;1/4-1/2:sd@7;1/2-3/4:hh@10;3/4-1:bd@4",
	       "polymeter steps");
	is_str(render("bd sd . hh hh hh", 1),
	       "0-1/4:bd@3;1/4-1/2:sd@6;1/2-2/3:hh@11;2/3-5/6:hh@14;5/6-1:hh@17",
	       "feet");
	is_str(render("0 ..", 1), "0-1/2:0@3;1/2-1:..@5", "\"..\" without an end is a word");
	/* the seeds of '?' count per string in completion order: Strudel keeps
	 * only hh and cp of "bd? sd? hh? cp?" in cycle 0 */
	is_str(render("bd? sd? hh? cp?", 1), "1/2-3/4:hh@11;3/4-1:cp@15", "degrade seeds");
	is_str(render("é bd", 1), "0-1/2:é@3;1/2-1:bd@5",
	       "locations count UTF-16 units, not bytes");
	is_str(render("bd*100000000", 1), "", "a huge fast builds; the query refuses it");
}

int main(void)
{
	test_syntax();
	test_errors();
	test_nesting_limit();
	test_numbers();
	test_events();
	{
		mini_ast *a;
		mini_err e;
		const char *s = "bd [sd <hh cp>] ~";
		if (mini_parse(s, strlen(s), &a, &e) == TT_OK) {
			is_int(mini_leaf_count(a), 5, "leaf count includes rests");
			mini_free(a);
		} else {
			ok(0, "leaf count: parse failed");
		}
	}
	return tap_done();
}
