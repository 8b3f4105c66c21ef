/*
 * tests/engine/lang_test.c: the host language and programs (what the
 * conformance corpus cannot check): labels and tracks, setcps/setcpm, hush,
 * every limit at N and N+1, hostile programs, and error messages with their
 * line, column and suggestion.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/limits.h"
#include "engine/program.h"
#include "tests/tap.h"

static tt_diag diag;

static int compile(const char *code, tt_program **p)
{
	return program_compile(code, strlen(code), p, &diag);
}

/* Events of track i over [0, 1) as "begin-end:key=value,...;...". */
static const char *events(const tt_program *p, size_t i)
{
	static char out[4096];
	static unsigned char mem[1 << 20];
	tt_arena arena;
	tt_event *ev;
	size_t n, len = 0;
	tt_span span = { TT_RAT(0, 1), TT_RAT(1, 1) };

	out[0] = '\0';
	arena_init(&arena, mem, sizeof mem);
	if (program_query(p, i, span, &arena, &ev, &n) != TT_OK)
		return "query failed";
	for (size_t k = 0; k < n && len < sizeof out - 200; k++) {
		char b[40], e[40];
		rat_format(ev[k].part.begin, b, sizeof b);
		rat_format(ev[k].part.end, e, sizeof e);
		len += (size_t)snprintf(out + len, sizeof out - len, "%s%s-%s:", k ? ";" : "",
					b, e);
		for (uint32_t f = 0; f < ev[k].n_fields; f++) {
			const tt_field *x = &ev[k].fields[f];
			len += (size_t)snprintf(out + len, sizeof out - len, "%s%s=", f ? "," : "",
						x->key ? x->key : "");
			if (x->kind == TT_V_STR)
				len += (size_t)snprintf(out + len, sizeof out - len, "%s", x->str);
			else
				len += (size_t)snprintf(out + len, sizeof out - len, "%g", x->num);
		}
	}
	return out;
}

/* Compiles code and returns the events of its only track, or the error as
 * "line:col: message". */
static const char *run(const char *code)
{
	static char out[4096];
	tt_program *p;

	if (compile(code, &p) < 0) {
		snprintf(out, sizeof out, "%d:%d: %s", diag.line, diag.col, diag.message);
		return out;
	}
	if (program_track_count(p) != 1)
		snprintf(out, sizeof out, "%zu tracks", program_track_count(p));
	else
		snprintf(out, sizeof out, "%s", events(p, 0));
	program_free(p);
	return out;
}

static void test_tracks(void)
{
	tt_program *p;
	double cps = 0;

	is_int(compile("$: s(\"bd\")\n$: s(\"sd\")\ndrums: s(\"hh\")", &p), TT_OK,
	       "three labelled patterns compile");
	is_int(program_track_count(p), 3, "each label is a track");
	is_str(program_track_name(p, 0), "$0", "anonymous tracks are numbered ($0)");
	is_str(program_track_name(p, 1), "$1", "... and $1");
	is_str(program_track_name(p, 2), "drums", "a named track keeps its name");
	is_str(events(p, 1), "0-1:s=sd", "track 1 plays its own pattern");
	ok(!program_cps(p, &cps), "no tempo set");
	ok(!program_hushed(p), "not hushed");
	{
		tt_arena a;
		unsigned char m[64];
		tt_event *ev;
		size_t n;
		tt_span sp = { TT_RAT(0, 1), TT_RAT(1, 1) };
		arena_init(&a, m, sizeof m);
		is_int(program_query(p, 3, sp, &a, &ev, &n), TT_EINVAL,
		       "a track past the last is refused");
	}
	program_free(p);

	is_int(compile("_$: s(\"bd\")\nx_: s(\"cp\")\nkeep: s(\"sd\")", &p), TT_OK,
	       "muted labels compile");
	is_int(program_track_count(p), 1, "labels starting or ending in _ are muted");
	is_str(program_track_name(p, 0), "keep", "the unmuted one remains");
	program_free(p);

	is_int(compile("a: s(\"bd\")\na: s(\"sd\")", &p), TT_OK, "a repeated label compiles");
	is_int(program_track_count(p), 1, "a repeated label replaces its track");
	is_str(events(p, 0), "0-1:s=sd", "with the later pattern");
	program_free(p);

	is_int(compile("$: s(\"bd\")\nS$: s(\"sd\")", &p), TT_OK, "a soloed label compiles");
	is_int(program_track_count(p), 1, "S$: solos its track");
	is_str(program_track_name(p, 0), "S$1", "the soloed track is the one left");
	program_free(p);

	is_int(compile("s(\"bd\")\ns(\"sd\")", &p), TT_OK, "two plain expressions compile");
	is_int(program_track_count(p), 1, "without labels the last expression plays");
	is_str(program_track_name(p, 0), "", "as the unnamed track");
	is_str(events(p, 0), "0-1:s=sd", "the last one");
	program_free(p);

	is_int(compile("// nothing yet\n", &p), TT_OK, "a comment-only program compiles");
	is_int(program_track_count(p), 0, "and plays nothing");
	program_free(p);
}

static void test_tempo_hush(void)
{
	tt_program *p;
	double cps = 0;

	is_int(compile("setcps(0.75)\ns(\"bd\")", &p), TT_OK, "setcps compiles");
	ok(program_cps(p, &cps) && cps == 0.75, "setcps sets cps 0.75");
	program_free(p);
	is_int(compile("setcpm(120)\ns(\"bd\")", &p), TT_OK, "setcpm compiles");
	ok(program_cps(p, &cps) && cps == 2, "setcpm(120) is 2 cycles per second");
	program_free(p);
	is_int(compile("setcps(0)\ns(\"bd\")", &p), TT_EINVAL, "setcps(0) is refused");
	ok(strstr(diag.message, "setcps") != NULL, "naming setcps: %s", diag.message);
	is_int(compile("$: s(\"bd\")\nhush()", &p), TT_OK, "hush compiles");
	ok(program_hushed(p), "hush() hushes");
	is_int(program_track_count(p), 0, "and clears the tracks before it");
	program_free(p);
}

static void test_language(void)
{
	is_str(run("const f = x => x.fast(2)\nf(s(\"bd\"))"), "0-1/2:s=bd;1/2-1:s=bd",
	       "arrow functions and const");
	is_str(run("let k = 1\nk = k + 1\nn(k)"), "0-1:n=2", "let and assignment");
	is_str(run("const a = [1, 2]\nn(seq(...a, 3))"), "0-1/3:n=1;1/3-2/3:n=2;2/3-1:n=3",
	       "arrays and spread");
	is_str(run("const add = (a) => (b) => a + b\nn(add(2)(3))"), "0-1:n=5", "closures");
	is_str(run("const f = (x) => { const y = x * 2; return y + 1 }\nn(f(3))"),
	       "0-1:n=7", "block bodies with return");
	is_str(run("n(1 > 2 ? 1 : 2 ** 3 % 5)"), "0-1:n=3", "ternary and operators");
	is_str(run("n(f(1))\nfunction f(x) { return x + 1 }\nn(f(2))"), "0-1:n=3",
	       "function declarations are hoisted");
	is_str(run("const g = function (x) { return x * 2 }\nn(g(4))"), "0-1:n=8",
	       "function expressions");
	is_str(run("n(Math.floor(2.7) + Math.max(1, 3) + Math.round(-2.5))"), "0-1:n=3",
	       "Math");
	is_str(run("stack(...[\"bd\", \"sd\"].map(x => s(x)))"), "0-1:s=bd;0-1:s=sd",
	       "array map");
	is_str(run("const o = {a: 4}\nn(o.a)"), "0-1:n=4", "objects and members");
	is_str(run("n('a' + 1 === 'a1' ? 1 : 0)"), "0-1:n=1", "strings concatenate");
	is_str(run("s('bd sd')"), "0-1:s=bd sd", "single quotes are plain strings");
	is_str(run("s(`bd\n  sd`)"), "0-1/2:s=bd;1/2-1:s=sd", "backticks are mini-notation");
	is_str(run("s(\"bd\") // comment\n  /* block */ .fast(2)"), "0-1/2:s=bd;1/2-1:s=bd",
	       "comments and chains across lines");
	is_str(run("n(\"0 1\".every(1, add(10)))"), "0-1/2:n=10;1/2-1:n=11",
	       "curried free functions");
	is_str(run("s(\"bd\").fast"), "1:1: the program's value is a function, not a "
	       "pattern", "a method without a call is not a pattern");
	/* ToInt32, as node prints them; 1e50 & x was undefined behaviour in C
	 * (fuzz_lang) */
	is_str(run("n(seq(1e50 & 65535, 4294967297 | 0, -1.5 | 0, 2147483649 ^ 2147483648))"),
	       "0-1/4:n=0;1/4-1/2:n=1;1/2-3/4:n=-1;3/4-1:n=1",
	       "bitwise operators take their operands modulo 2^32 (ToInt32)");
	is_str(run("n(seq(~2.5, 1/0 | 0, (0/0) ^ 3, ~(-1e300)))"),
	       "0-1/4:n=-3;1/4-1/2:n=0;1/2-3/4:n=3;3/4-1:n=-1",
	       "~, infinities and NaN under ToInt32");
}

static void test_errors(void)
{
	is_str(run("s(\"bd\").fsat(2)"), "1:9: unknown function 'fsat': did you mean 'fast'?",
	       "misspelt method: position and suggestion");
	is_str(run("n(\"0 2\").scal(\"C:major\")"),
	       "1:10: unknown function 'scal': did you mean 'scale'?", "scal -> scale");
	is_str(run("stak(s(\"bd\"))"), "1:1: 'stak' is not defined: did you mean 'stack'?",
	       "misspelt function");
	is_str(run("s(\"bd\")\n  .fast(speedy)"), "2:9: 'speedy' is not defined: did you mean "
	       "'speed'?",
	       "undefined variable on line 2");
	is_str(run("s(\"bd sd\""), "1:10: unexpected end of the code: expected ',' or ')'",
	       "unclosed parenthesis");
	is_str(run("s(\"bd sd\"))"), "1:11: unexpected ')': expected ';' or a line break",
	       "extra parenthesis");
	is_str(run("n(\"0 1\").every(2)"), "1:10: every() expects 2 arguments but got 1",
	       "missing argument");
	is_str(run("n(\"0 1\").every(2, rev, 3)"), "1:10: every() expects 2 arguments "
	       "but got 3", "too many arguments");
	is_str(run("s(\"bd\").rev(1)"), "1:9: rev() expects 0 arguments but got 1",
	       "an argument where none is taken");
	is_str(run("s(\"bd\").fast()"), "", "a missing single argument is silence, as "
	       "in Strudel");
	is_str(run("s(\"bd\").fast(1, 2)"), "0-1/2:s=bd;1/2-1:s=bd",
	       "several single arguments make a sequence, as in Strudel");
	is_str(run("const x = s(\"bd\")"),
	       "1:1: the program must end with an expression (the pattern to play)",
	       "no expression at the end");
	is_str(run("\n  s(\"bd [sd\")"), "2:12: mini-notation: expected ']' but the string ended",
	       "mini-notation errors point into the code");
	is_str(run("const drums = s(\"bd\")\ndrum.fast(2)"),
	       "2:1: 'drum' is not defined: did you mean 'drums'?",
	       "the program's own names are suggested");
	is_str(run("const a = 1\nconst a = 2\nn(a)"), "2:7: 'a' has already been declared",
	       "redeclaration");
	is_str(run("const a = 1\na = 2\nn(a)"), "2:3: assignment to constant 'a'",
	       "assignment to a constant");
}

/* head + n copies of unit + tail, in a new buffer. */
static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t lh = strlen(head), lu = strlen(unit), lt = strlen(tail);
	char *s = malloc(lh + lu * n + lt + 1), *q = s;

	memcpy(q, head, lh);
	q += lh;
	for (size_t i = 0; i < n; i++, q += lu)
		memcpy(q, unit, lu);
	memcpy(q, tail, lt + 1);
	return s;
}

static void test_limits(void)
{
	tt_program *p;
	char *code, *a, *b;
	size_t pad;

	/* TT_MAX_CODE_BYTES: a program of exactly the limit compiles */
	pad = TT_MAX_CODE_BYTES - strlen("s(\"bd\")\n//");
	code = repeat("s(\"bd\")\n//", "x", pad, "");
	is_int(program_compile(code, strlen(code), &p, &diag), TT_OK,
	       "code of %d bytes compiles", TT_MAX_CODE_BYTES);
	program_free(p);
	free(code);
	code = repeat("s(\"bd\")\n//", "x", pad + 1, "");
	is_int(program_compile(code, strlen(code), &p, &diag), TT_ELIMIT,
	       "code of %d bytes is refused", TT_MAX_CODE_BYTES + 1);
	free(code);

	/* TT_MAX_NESTING: parentheses around a call (the call nests once) */
	a = repeat("", "(", TT_MAX_NESTING - 1, "s(\"bd\")");
	b = repeat(a, ")", TT_MAX_NESTING - 1, "");
	is_str(run(b), "0-1:s=bd", "%d levels of nesting compile", TT_MAX_NESTING);
	free(a);
	free(b);
	a = repeat("", "(", TT_MAX_NESTING, "s(\"bd\")");
	b = repeat(a, ")", TT_MAX_NESTING, "");
	ok(strstr(run(b), "nested deeper than 200") != NULL, "%d levels are refused: %s",
	   TT_MAX_NESTING + 1, run(b));
	free(a);
	free(b);
	a = repeat("n(", "[", TT_MAX_NESTING - 1, "1");
	b = repeat(a, "]", TT_MAX_NESTING - 1, ")");
	ok(strstr(run(b), "nested") == NULL, "arrays nest to the limit too");
	free(a);
	free(b);

	/* TT_MAX_TRACKS */
	code = repeat("", "$: s(\"bd\")\n", TT_MAX_TRACKS, "");
	is_int(compile(code, &p), TT_OK, "%d tracks compile", TT_MAX_TRACKS);
	is_int(program_track_count(p), TT_MAX_TRACKS, "all of them");
	program_free(p);
	free(code);
	code = repeat("", "$: s(\"bd\")\n", TT_MAX_TRACKS + 1, "");
	is_int(compile(code, &p), TT_ELIMIT, "%d tracks are refused", TT_MAX_TRACKS + 1);
	is_int(diag.line, TT_MAX_TRACKS + 1, "at the first track too many");
	free(code);

	/* TT_MAX_EVENTS_PER_CYCLE, checked by the compile's dry run */
	is_int(compile("s(\"bd*10000\")", &p), TT_OK, "10000 events in a cycle compile");
	program_free(p);
	is_int(compile("s(\"bd*10001\")", &p), TT_ELIMIT, "10001 events are refused");
	ok(strstr(diag.message, "10000 events") != NULL, "naming the limit: %s",
	   diag.message);

	/* TT_MAX_EVAL_DEPTH and TT_MAX_EVAL_STEPS */
	is_int(compile("const f = x => f(x)\nf(1)", &p), TT_ELIMIT,
	       "a self-recursive function is stopped");
	ok(strstr(diag.message, "deeper than 1000") != NULL, "by the depth limit: %s",
	   diag.message);
	is_int(compile("const f = (k) => k > 0 ? f(k - 1) + f(k - 1) : 0\nn(f(40))", &p),
	       TT_ELIMIT, "an exponential recursion is stopped");
	ok(strstr(diag.message, "1000000 steps") != NULL, "by the step limit: %s",
	   diag.message);
	is_int(compile("const f = (k) => k > 0 ? f(k - 1) + f(k - 1) : 0\nn(f(15))", &p),
	       TT_OK, "a recursion within the limits runs");
	program_free(p);

	/* TT_MAX_EVAL_BYTES */
	is_int(compile("const d = (a, k) => k > 0 ? d([...a, ...a], k - 1) : a\n"
		       "n(d([1], 40).length)", &p), TT_ELIMIT,
	       "a doubling array is stopped");
	ok(strstr(diag.message, "bytes") != NULL, "by the memory limit: %s", diag.message);
}

static void test_hostile(void)
{
	tt_program *p;
	char *a, *b;

	is_int(compile("s(\"bd*100000000\")", &p), TT_ELIMIT, "bd*100000000 is refused");
	is_int(diag.line, 1, "at line 1");
	is_int(compile("s(\"bd\").fast(1e12)", &p), TT_ELIMIT, "fast(1e12) is refused");
	a = repeat("s(\"", "[", 10000, "bd");
	b = repeat(a, "]", 10000, "\")");
	is_int(compile(b, &p), TT_ELIMIT, "10,000 nested brackets are refused");
	ok(strstr(diag.message, "nested deeper") != NULL, "with a clear message: %s",
	   diag.message);
	free(a);
	free(b);
	a = repeat("", "(", 10000, "1");
	b = repeat(a, ")", 10000, "");
	is_int(compile(b, &p), TT_ELIMIT, "10,000 nested parentheses are refused");
	free(a);
	free(b);
	is_int(compile("const f = () => f()\nf()", &p), TT_ELIMIT,
	       "a self-recursive arrow function is refused");
	is_int(compile("\x01\x02", &p), TT_ESYNTAX, "control characters are refused");
	is_int(compile("s(\"\xff\xfe\")", &p) <= 0, 1, "malformed UTF-8 does not crash");
	program_free(p);
}

int main(void)
{
	test_tracks();
	test_tempo_hush();
	test_language();
	test_errors();
	test_limits();
	test_hostile();
	return tap_done();
}
