/*
 * engine/sampler.c: sample banks (see sampler.h for the contract).
 *
 * Design:
 *  1. Banks are kept sorted by name in one array, so a lookup on the render
 *     thread is a binary search with no allocation.
 *  2. Every buffer is mono float at 48 kHz with 4 zero guard samples after
 *     the last frame, so the voice's interpolation never reads out of bounds.
 *  3. Every file of a load is decoded into a staging list first and merged
 *     into the banks only when all decoded: a corrupt file changes nothing.
 *  4. Resampling is a windowed-sinc interpolator (Blackman window, 32 taps,
 *     cutoff below the lower Nyquist), done once at load.
 */
#include "engine/sampler.h"

#include <dirent.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "common/limits.h"

#define NAME_MAX_LEN 64
#define GUARD 4
#define SINC_HALF 16

typedef struct bank {
	char name[NAME_MAX_LEN];
	sampler_sound *sounds;
	size_t n;
} bank;

struct sampler {
	bank *banks;
	size_t n;
	size_t cap;
};

int sampler_new(sampler **out)
{
	sampler *s = calloc(1, sizeof *s);
	if (!s)
		return TT_ENOMEM;
	*out = s;
	return TT_OK;
}

static void bank_clear(bank *b)
{
	for (size_t i = 0; i < b->n; i++)
		free((void *)b->sounds[i].data);
	free(b->sounds);
	b->sounds = NULL;
	b->n = 0;
}

void sampler_free(sampler *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		bank_clear(&s->banks[i]);
	free(s->banks);
	free(s);
}

/* Index of name, or -(insertion point) - 1. */
static long bank_search(const sampler *s, const char *name)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(s->banks[mid].name, name);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

static int bank_get(sampler *s, const char *name, bank **out)
{
	size_t len = strlen(name);
	long at;
	if (len == 0 || len >= NAME_MAX_LEN)
		return TT_EINVAL;
	at = bank_search(s, name);
	if (at >= 0) {
		*out = &s->banks[at];
		return TT_OK;
	}
	if (s->n >= TT_MAX_SAMPLE_BANKS)
		return TT_ELIMIT;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		bank *nb = realloc(s->banks, cap * sizeof *nb);
		if (!nb)
			return TT_ENOMEM;
		s->banks = nb;
		s->cap = cap;
	}
	at = -at - 1;
	memmove(&s->banks[at + 1], &s->banks[at], (s->n - (size_t)at) * sizeof *s->banks);
	memset(&s->banks[at], 0, sizeof *s->banks);
	memcpy(s->banks[at].name, name, len + 1);
	s->n++;
	*out = &s->banks[at];
	return TT_OK;
}

int sampler_add(sampler *s, const char *name, float *data, int64_t frames)
{
	bank *b;
	sampler_sound *ns;
	int rc = bank_get(s, name, &b);
	if (rc < 0)
		return rc;
	ns = realloc(b->sounds, (b->n + 1) * sizeof *ns);
	if (!ns)
		return TT_ENOMEM;
	b->sounds = ns;
	b->sounds[b->n].data = data;
	b->sounds[b->n].frames = frames;
	b->n++;
	return TT_OK;
}

const sampler_sound *sampler_find(const sampler *s, const char *name, int64_t n)
{
	long at = bank_search(s, name);
	const bank *b;
	int64_t i;
	if (at < 0)
		return NULL;
	b = &s->banks[at];
	if (b->n == 0)
		return NULL;
	i = n % (int64_t)b->n;
	if (i < 0)
		i += (int64_t)b->n;
	return &b->sounds[i];
}

size_t sampler_sound_count(const sampler *s, const char *name)
{
	long at = bank_search(s, name);
	return at < 0 ? 0 : s->banks[at].n;
}

size_t sampler_bank_count(const sampler *s)
{
	return s->n;
}

const char *sampler_bank_name(const sampler *s, size_t i)
{
	return i < s->n ? s->banks[i].name : NULL;
}

/* ---- decoding and resampling ---- */

static double sinc_window(double x, double cutoff)
{
	double w, t;
	if (fabs(x) >= SINC_HALF)
		return 0.0;
	t = (x / SINC_HALF + 1.0) * 0.5; /* 0..1 across the window */
	w = 0.42 - 0.5 * cos(2 * M_PI * t) + 0.08 * cos(4 * M_PI * t);
	if (x == 0.0)
		return cutoff * w;
	return sin(M_PI * cutoff * x) / (M_PI * x) * w;
}

#define PHASES 256 /* kernel table resolution: steps per input sample */
#define KTAB (2 * SINC_HALF * PHASES + 2)

/* Resamples in (n frames at rate) to 48 kHz into a new guarded buffer. The
 * windowed-sinc kernel is tabulated once per call (PHASES points per input
 * sample, linearly interpolated), so the cost is 32 multiply-adds per
 * output frame. */
static int resample(const float *in, int64_t n, int rate, float **out, int64_t *out_n)
{
	double ratio = (double)rate / SAMPLER_RATE; /* input frames per output frame */
	double cutoff = ratio > 1.0 ? 0.95 / ratio : 0.95;
	int64_t m = (int64_t)ceil((double)n / ratio);
	float *o, *kt;
	if (m > TT_MAX_SAMPLE_FRAMES)
		return TT_ELIMIT;
	o = calloc((size_t)m + GUARD, sizeof *o);
	kt = malloc(KTAB * sizeof *kt);
	if (!o || !kt) {
		free(o);
		free(kt);
		return TT_ENOMEM;
	}
	for (int i = 0; i < KTAB; i++)
		kt[i] = (float)sinc_window((double)i / PHASES - SINC_HALF, cutoff);
	for (int64_t j = 0; j < m; j++) {
		double pos = (double)j * ratio, acc = 0.0;
		int64_t c = (int64_t)floor(pos);
		double fr = (pos - (double)c) * PHASES; /* kernel offset of tap k=c */
		int fi = (int)fr;
		float ff = (float)(fr - fi);
		for (int64_t k = c - SINC_HALF + 1; k <= c + SINC_HALF; k++) {
			/* x = pos - k = (c - k) + frac; table index (x + SINC_HALF) * PHASES */
			int idx = (int)((c - k + SINC_HALF) * PHASES) + fi;
			if (k < 0 || k >= n)
				continue;
			acc += in[k] * (kt[idx] + ff * (kt[idx + 1] - kt[idx]));
		}
		o[j] = (float)acc;
	}
	free(kt);
	*out = o;
	*out_n = m;
	return TT_OK;
}

/* Frames decoded per read: memory follows the data actually present, never
 * a frame count a (possibly hostile) header claims. */
#define READ_FRAMES 4096
/* A float file may hold any finite value; past 16 (24 dB over full scale)
 * it is broken, and clamping keeps the sums of mixing and resampling
 * finite. */
#define SAMPLE_PEAK 16.0

/* Appends n mono frames to *buf (guarded, *cap floats), doubling it. */
static int mono_append(float **buf, int64_t *cap, int64_t have, const float *in, int64_t n)
{
	if (have + n + GUARD > *cap) {
		int64_t c = *cap ? *cap : READ_FRAMES + GUARD;
		while (have + n + GUARD > c)
			c *= 2;
		float *b = realloc(*buf, (size_t)c * sizeof *b);
		if (!b)
			return TT_ENOMEM;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + have, in, (size_t)n * sizeof *in);
	return TT_OK;
}

/* Decodes an open file to mono 48 kHz (see sampler_load_file); closes f. */
static int decode(SNDFILE *f, const SF_INFO *info, float **data, int64_t *frames)
{
	/* The longest input that resamples to TT_MAX_SAMPLE_FRAMES. */
	int64_t max_in, n = 0, cap = 0;
	float *inter = NULL, *mono = NULL, *block = NULL;
	int rc = TT_OK;

	if (info->channels < 1 || info->channels > 1024 || info->samplerate < 1000 ||
	    info->samplerate > 768000) {
		rc = TT_EFORMAT;
		goto out;
	}
	max_in = (int64_t)TT_MAX_SAMPLE_FRAMES * info->samplerate / SAMPLER_RATE;
	inter = malloc((size_t)READ_FRAMES * (size_t)info->channels * sizeof *inter);
	block = malloc(READ_FRAMES * sizeof *block);
	if (!inter || !block) {
		rc = TT_ENOMEM;
		goto out;
	}
	for (;;) {
		sf_count_t got = sf_readf_float(f, inter, READ_FRAMES);
		if (got < 0 || sf_error(f) != SF_ERR_NO_ERROR) {
			rc = TT_EFORMAT;
			goto out;
		}
		if (got == 0)
			break;
		if (n + got > max_in) {
			rc = TT_ELIMIT;
			goto out;
		}
		for (sf_count_t i = 0; i < got; i++) {
			double acc = 0.0;
			for (int c = 0; c < info->channels; c++) {
				float v = inter[i * info->channels + c];
				acc += isfinite(v) ? v : 0.0f;
			}
			acc /= info->channels;
			block[i] = (float)(acc > SAMPLE_PEAK ? SAMPLE_PEAK :
					   acc < -SAMPLE_PEAK ? -SAMPLE_PEAK : acc);
		}
		if ((rc = mono_append(&mono, &cap, n, block, got)) != TT_OK)
			goto out;
		n += got;
	}
	if (!mono && !(mono = malloc(GUARD * sizeof *mono))) {
		rc = TT_ENOMEM;
		goto out;
	}
	memset(mono + n, 0, GUARD * sizeof *mono);
	if (info->samplerate == SAMPLER_RATE) {
		*data = mono;
		*frames = n;
		mono = NULL;
	} else {
		rc = resample(mono, n, info->samplerate, data, frames);
	}
out:
	free(block);
	free(inter);
	free(mono);
	sf_close(f);
	return rc;
}

int sampler_load_file(const char *path, float **data, int64_t *frames)
{
	SF_INFO info;
	SNDFILE *f;

	memset(&info, 0, sizeof info);
	f = sf_open(path, SFM_READ, &info);
	if (!f)
		return TT_EFORMAT;
	return decode(f, &info, data, frames);
}

/* ---- memory files (libsndfile's virtual I/O) ---- */

typedef struct memfile {
	const unsigned char *data;
	sf_count_t len, pos;
} memfile;

static sf_count_t mem_get_filelen(void *user)
{
	return ((memfile *)user)->len;
}

static sf_count_t mem_seek(sf_count_t offset, int whence, void *user)
{
	memfile *m = user;
	sf_count_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? m->len : 0;

	if (offset < -base || offset > m->len - base)
		return -1;
	m->pos = base + offset;
	return m->pos;
}

static sf_count_t mem_read(void *ptr, sf_count_t count, void *user)
{
	memfile *m = user;
	sf_count_t n = count < m->len - m->pos ? count : m->len - m->pos;

	if (n <= 0)
		return 0;
	memcpy(ptr, m->data + m->pos, (size_t)n);
	m->pos += n;
	return n;
}

static sf_count_t mem_write(const void *ptr, sf_count_t count, void *user)
{
	(void)ptr;
	(void)count;
	(void)user;
	return 0;
}

static sf_count_t mem_tell(void *user)
{
	return ((memfile *)user)->pos;
}

int sampler_load_memory(const void *buf, size_t len, float **data, int64_t *frames)
{
	SF_VIRTUAL_IO io = { mem_get_filelen, mem_seek, mem_read, mem_write, mem_tell };
	memfile m = { buf, (sf_count_t)len, 0 };
	SF_INFO info;
	SNDFILE *f;

	memset(&info, 0, sizeof info);
	f = sf_open_virtual(&io, SFM_READ, &info, &m);
	if (!f)
		return TT_EFORMAT;
	return decode(f, &info, data, frames);
}

/* ---- folders ---- */

typedef struct staged {
	char name[NAME_MAX_LEN];
	float *data;
	int64_t frames;
} staged;

typedef struct stage {
	staged *v;
	size_t n, cap;
} stage;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_audio_name(const char *n)
{
	static const char *const ext[] = { ".wav", ".aif", ".aiff", ".flac", ".ogg", ".WAV" };
	size_t len = strlen(n);
	if (n[0] == '.')
		return 0;
	for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
		size_t el = strlen(ext[i]);
		if (len > el && strcasecmp(n + len - el, ext[i]) == 0)
			return 1;
	}
	return 0;
}

/* Sorted names in dir accepted by keep(path, name); caller frees. */
static int list_dir(const char *dir, int want_dirs, char ***out, size_t *n_out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	if (!d)
		return TT_ENOTFOUND;
	while ((e = readdir(d)) != NULL) {
		char path[4096];
		DIR *sub;
		int isdir;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		sub = opendir(path);
		isdir = sub != NULL;
		if (sub)
			closedir(sub);
		if (want_dirs ? !isdir : (isdir || !is_audio_name(e->d_name)))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap ? cap * 2 : 16) * sizeof *nn);
			if (!nn)
				break;
			names = nn;
			cap = cap ? cap * 2 : 16;
		}
		names[n] = strdup(e->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, cmp_str);
	*out = names;
	*n_out = n;
	return TT_OK;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int stage_push(stage *st, const char *name, float *data, int64_t frames)
{
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		staged *nv = realloc(st->v, cap * sizeof *nv);
		if (!nv)
			return TT_ENOMEM;
		st->v = nv;
		st->cap = cap;
	}
	snprintf(st->v[st->n].name, NAME_MAX_LEN, "%s", name);
	st->v[st->n].data = data;
	st->v[st->n].frames = frames;
	st->n++;
	return TT_OK;
}

static int load_folder(stage *st, const char *dir, const char *name, char *err, size_t errcap)
{
	char path[2048], **files = NULL;
	size_t nf = 0;
	int rc;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	rc = list_dir(path, 0, &files, &nf);
	for (size_t i = 0; rc == TT_OK && i < nf; i++) {
		char fp[4096];
		float *data = NULL;
		int64_t frames = 0;
		snprintf(fp, sizeof fp, "%s/%s", path, files[i]);
		rc = sampler_load_file(fp, &data, &frames);
		if (rc == TT_OK)
			rc = stage_push(st, name, data, frames);
		if (rc < 0) {
			free(data);
			snprintf(err, errcap, "%s: %s", fp,
				 rc == TT_EFORMAT ? "not a readable audio file" : tt_strerror(rc));
		}
	}
	free_names(files, nf);
	return rc;
}

int sampler_load_dir(sampler *s, const char *dir, char *err, size_t errcap)
{
	char **dirs = NULL;
	size_t nd = 0, i;
	stage st = { 0 };
	int rc;

	rc = list_dir(dir, 1, &dirs, &nd);
	if (rc < 0) {
		snprintf(err, errcap, "%s: no such folder", dir);
		return rc;
	}
	for (i = 0; rc == TT_OK && i < nd; i++) {
		if (strlen(dirs[i]) >= NAME_MAX_LEN)
			continue;
		rc = load_folder(&st, dir, dirs[i], err, errcap);
	}
	/* Merge: a loaded folder replaces a bank of the same name. */
	for (i = 0; rc == TT_OK && i < st.n; i++) {
		bank *b;
		if (i == 0 || strcmp(st.v[i].name, st.v[i - 1].name) != 0) {
			rc = bank_get(s, st.v[i].name, &b);
			if (rc == TT_OK)
				bank_clear(b);
		}
		if (rc == TT_OK)
			rc = sampler_add(s, st.v[i].name, st.v[i].data, st.v[i].frames);
		if (rc == TT_OK)
			st.v[i].data = NULL;
		else
			snprintf(err, errcap, "%s/%s: %s", dir, st.v[i].name, tt_strerror(rc));
	}
	for (i = 0; i < st.n; i++)
		free(st.v[i].data);
	free(st.v);
	free_names(dirs, nd);
	return rc;
}
