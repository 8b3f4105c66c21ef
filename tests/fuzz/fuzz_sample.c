/*
 * tests/fuzz/fuzz_sample.c: libFuzzer target for sample files: the
 * sampler's decoding of WAV, AIFF, FLAC, Ogg (anything libsndfile reads)
 * from memory (sampler_load_memory, the path sampler_load_file shares),
 * downmix and resampling to 48 kHz.
 *
 * Contract checked: TT_OK with a buffer of at most TT_MAX_SAMPLE_FRAMES
 * finite frames followed by 4 zero guard samples, or TT_EFORMAT, TT_ELIMIT
 * or TT_ENOMEM with nothing returned. libFuzzer's malloc limit catches a
 * header that makes the decoder allocate what the file does not contain.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/error.h"
#include "common/limits.h"
#include "engine/sampler.h"

static void fail_if(int cond, const char *what)
{
	if (cond) {
		fprintf(stderr, "fuzz_sample: %s\n", what);
		abort();
	}
}

/*
 * LeakSanitizer's built-in suppressions for this program (fuzzer and
 * replay): libsndfile 1.2.0 (Debian 12) leaks libvorbis's codec set-up
 * when an Ogg Vorbis header is corrupt (found by this target; the input is
 * corpus/sample/leak-40733eea...). It is inside the libraries, a few
 * kilobytes per refused file, and sample files come from the operator's
 * disk, not from the network.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:vorbis_info_init\nleak:libvorbis.so\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	float *pcm = NULL;
	int64_t frames = -1;
	int rc;

	if (size > (1u << 20))
		return 0;
	rc = sampler_load_memory(data, size, &pcm, &frames);
	if (rc != TT_OK) {
		fail_if(rc != TT_EFORMAT && rc != TT_ELIMIT && rc != TT_ENOMEM,
			"unexpected error code");
		fail_if(pcm != NULL || frames != -1, "output written on failure");
		return 0;
	}
	fail_if(!pcm || frames < 0 || frames > TT_MAX_SAMPLE_FRAMES, "bad frame count");
	for (int64_t i = 0; i < frames; i++)
		fail_if(!isfinite(pcm[i]), "a sample is not finite");
	for (int g = 0; g < 4; g++)
		fail_if(pcm[frames + g] != 0.0f, "guard sample not zero");
	free(pcm);
	return 0;
}
