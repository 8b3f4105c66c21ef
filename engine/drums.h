/*
 * engine/drums.h: the built-in drum kit, synthesized at start-up so that
 * tutti makes music with no sample download.
 *
 * Sounds (each with several n variants, see docs/sound.md):
 *   bd sd hh oh cp rim lt mt ht cb cr rd sh
 * Every variant is computed by a deterministic recipe (no randomness other
 * than a fixed-seed noise generator), so the kit is bit-identical on every
 * run.
 *
 * Worker thread only (allocates); takes about 0.1 s.
 */
#ifndef TT_ENGINE_DRUMS_H
#define TT_ENGINE_DRUMS_H

#include "engine/sampler.h"

/* Adds the kit's sounds to bank. Returns TT_OK or TT_ENOMEM. */
int drums_build(sampler *bank);

#endif
