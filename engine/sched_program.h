/*
 * engine/sched_program.h: a compiled program as the scheduler's event
 * source (program_query and program_track_name behind a sched_source).
 *
 * Safe on the render thread: sched_source_program() only fills a struct.
 */
#ifndef TT_ENGINE_SCHED_PROGRAM_H
#define TT_ENGINE_SCHED_PROGRAM_H

#include "engine/program.h"
#include "engine/sched.h"

/* Fills *out to query p (borrowed: keep p alive while it is installed). */
void sched_source_program(const tt_program *p, sched_source *out);

#endif
