/*
 * tests/fuzz/fuzz_mini.c: the mini-notation parser and builder on arbitrary
 * bytes. A string that parses is built into a pattern and queried for two
 * cycles, so the builder and the query see whatever the parser accepts.
 * Any crash, hang, leak or sanitizer report is a finding.
 */
#include <stdint.h>
#include <stdlib.h>

#include "engine/mini.h"

#define ARENA (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char *mem;
	mini_ast *ast = NULL;
	mini_err err;
	pat_pool *pool = NULL;
	pat *p;
	tt_arena arena;
	tt_event *ev;
	size_t n;
	tt_span span = { TT_RAT(0, 1), TT_RAT(2, 1) };

	if (size > 4096)
		return 0;
	if (!mem && !(mem = malloc(ARENA)))
		return 0;
	if (mini_parse((const char *)data, size, &ast, &err) != 0)
		return 0;
	if (pat_pool_new(&pool) == 0 && mini_build(ast, pool, 0, &p, &err) == 0) {
		arena_init(&arena, mem, ARENA);
		(void)pat_query(p, span, &arena, &ev, &n);
	}
	pat_pool_free(pool);
	mini_free(ast);
	return 0;
}
