/*
 * tests/fuzz/replay.c: runs a libFuzzer target over its seed corpus without
 * libFuzzer, so that every normal test run replays the corpus (and whatever
 * crashes fuzzing once found and we added to it) under the ordinary build,
 * and under ASan/UBSan with --enable-sanitizers.
 *
 * Usage: fuzz_X_replay [DIR...]   One TAP point per file. With no DIR it
 * replays $TT_SRCDIR/FUZZ_CORPUS, the seed folder named at build time.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/tap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!f) {
		ok(0, "open %s", path);
		return;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		LLVMFuzzerTestOneInput(buf, (size_t)n);
		ok(1, "replayed %s (%ld bytes)", path, n);
	} else {
		ok(0, "read %s", path);
	}
	free(buf);
	fclose(f);
}

static void replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (!d) {
		ok(0, "open corpus directory %s", dir);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof *names);
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		replay_file(path);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		replay_dir(argv[i]);
#ifdef FUZZ_CORPUS
	if (argc < 2) {
		const char *src = getenv("TT_SRCDIR");
		char dir[4096];
		snprintf(dir, sizeof dir, "%s/%s", src ? src : ".", FUZZ_CORPUS);
		replay_dir(dir);
	}
#else
	if (argc < 2)
		ok(0, "usage: %s CORPUS_DIR...", argv[0]);
#endif
	return tap_done();
}
