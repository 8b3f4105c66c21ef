/*
 * engine/event.c: helpers on query results (see event.h).
 */
#include "engine/event.h"

#include <string.h>

const tt_field *event_field(const tt_event *e, const char *key)
{
	for (uint32_t i = 0; i < e->n_fields; i++) {
		const char *k = e->fields[i].key;
		if (k && key && strcmp(k, key) == 0)
			return &e->fields[i];
	}
	return NULL;
}
