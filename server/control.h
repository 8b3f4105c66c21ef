/*
 * server/control.h: hush, mute and solo, as they act on a render.
 *
 * The render thread (server/live.c) and replay (server/replay.h) apply
 * them through this one function, before the render block they were
 * applied at, so a replay hears exactly what the live session played.
 *
 * Threads: control_apply on whichever thread owns the render; it does not
 * allocate or lock.
 */
#ifndef TT_SERVER_CONTROL_H
#define TT_SERVER_CONTROL_H

#include <stdbool.h>

#include "engine/render.h"

typedef enum control_kind { CONTROL_HUSH, CONTROL_MUTE, CONTROL_SOLO } control_kind;

void control_apply(render *r, control_kind kind, const char *track, bool on);

/* "hush", "mute", "solo" (the store's names) and back; -1 when unknown. */
const char *control_name(control_kind kind);
int control_parse(const char *name);

#endif
