/* engine/direct.c: see direct.h. */
#include "engine/direct.h"

#include <string.h>

#include "common/error.h"

void direct_event_init(direct_event *e, double dur_sec)
{
	e->dur_sec = dur_sec;
	e->clipped = false;
	e->n_fields = 0;
	e->text_len = 0;
}

static direct_field *find(direct_event *e, const char *key)
{
	for (uint16_t i = 0; i < e->n_fields; i++)
		if (strcmp(e->fields[i].key, key) == 0)
			return &e->fields[i];
	return NULL;
}

/* The slot for key: its own (invariant 2) or a new one; NULL when full. */
static direct_field *slot(direct_event *e, const char *key)
{
	direct_field *f = find(e, key);

	if (f)
		return f;
	if (e->n_fields >= TT_MAX_DIRECT_FIELDS)
		return NULL;
	f = &e->fields[e->n_fields++];
	f->key = key;
	return f;
}

static int set(direct_event *e, const char *key, tt_vkind kind, double v)
{
	direct_field *f;

	if (!key)
		return TT_EINVAL;
	if (!(f = slot(e, key)))
		return TT_ELIMIT;
	f->kind = kind;
	f->num = v;
	f->str = 0;
	return TT_OK;
}

int direct_event_set_num(direct_event *e, const char *key, double v)
{
	return set(e, key, TT_V_NUM, v);
}

int direct_event_set_bool(direct_event *e, const char *key, bool v)
{
	return set(e, key, TT_V_BOOL, v ? 1.0 : 0.0);
}

int direct_event_set_str(direct_event *e, const char *key, const char *s)
{
	size_t n = s ? strnlen(s, TT_MAX_OSC_STRING + 1) : 0;
	direct_field *f;

	if (!key || !s || n > TT_MAX_OSC_STRING)
		return TT_EINVAL;
	/* The old string of a replaced key stays in text (unused): text is
	 * never compacted, so offsets stay valid; it only bounds the total. */
	if ((size_t)e->text_len + n + 1 > TT_MAX_DIRECT_TEXT)
		return TT_ELIMIT;
	if (!(f = slot(e, key)))
		return TT_ELIMIT;
	memcpy(e->text + e->text_len, s, n + 1);
	f->kind = TT_V_STR;
	f->num = 0;
	f->str = e->text_len;
	e->text_len = (uint16_t)(e->text_len + n + 1);
	return TT_OK;
}

const direct_field *direct_event_get(const direct_event *e, const char *key)
{
	return find((direct_event *)e, key);
}

const char *direct_field_str(const direct_event *e, const direct_field *f)
{
	return f && f->kind == TT_V_STR ? e->text + f->str : NULL;
}

void direct_event_view(const direct_event *e, tt_event *ev, tt_field *fields)
{
	for (uint16_t i = 0; i < e->n_fields; i++) {
		const direct_field *d = &e->fields[i];
		fields[i].key = d->key;
		fields[i].kind = d->kind;
		fields[i].num = d->num;
		fields[i].str = d->kind == TT_V_STR ? e->text + d->str : NULL;
	}
	memset(ev, 0, sizeof *ev);
	ev->has_whole = true;
	ev->whole.begin = ev->part.begin = TT_RAT(0, 1);
	ev->whole.end = ev->part.end = TT_RAT(1, 1);
	ev->fields = fields;
	ev->n_fields = e->n_fields;
}

static uint32_t mix(uint32_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 16777619u;
	}
	return h;
}

uint32_t direct_event_seed(const direct_event *e, int64_t frame)
{
	uint32_t h = mix(2166136261u, &frame, sizeof frame);

	for (uint16_t i = 0; i < e->n_fields; i++) {
		const direct_field *f = &e->fields[i];
		h = mix(h, f->key, strlen(f->key));
		if (f->kind == TT_V_STR)
			h = mix(h, e->text + f->str, strlen(e->text + f->str));
		else
			h = mix(h, &f->num, sizeof f->num);
	}
	return h;
}
