/*
 * tests/fuzz/fuzz_lang.c: a whole program (lexer, parser, evaluator,
 * mini-notation, pattern core) on arbitrary bytes, then a short query of
 * every track. Any crash, hang, leak or sanitizer report is a finding.
 */
#include <stdint.h>
#include <stdlib.h>

#include "engine/program.h"

#define ARENA (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char *mem;
	tt_program *p = NULL;
	tt_diag diag;
	tt_arena arena;
	tt_event *ev;
	size_t n;
	tt_span span = { TT_RAT(0, 1), TT_RAT(2, 1) };

	if (size > 16384)
		return 0;
	if (!mem && !(mem = malloc(ARENA)))
		return 0;
	if (program_compile((const char *)data, size, &p, &diag) != 0)
		return 0;
	for (size_t i = 0; i < program_track_count(p); i++) {
		arena_init(&arena, mem, ARENA);
		(void)program_query(p, i, span, &arena, &ev, &n);
	}
	program_free(p);
	return 0;
}
