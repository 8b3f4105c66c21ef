/* server/control.c: see control.h. */
#include "server/control.h"

#include <string.h>

#include "engine/sched.h"

void control_apply(render *r, control_kind kind, const char *track, bool on)
{
	if (kind == CONTROL_HUSH)
		render_hush(r, on);
	else if (kind == CONTROL_MUTE)
		sched_mute(render_sched(r), track, on);
	else if (kind == CONTROL_SOLO)
		sched_solo(render_sched(r), track, on);
}

static const char *const names[] = { "hush", "mute", "solo" };

const char *control_name(control_kind kind)
{
	return (unsigned)kind < 3 ? names[kind] : "?";
}

int control_parse(const char *name)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}
