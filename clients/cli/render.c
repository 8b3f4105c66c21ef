/*
 * clients/cli/render.c: `tutti render`, a program to an audio file.
 *
 *   tutti render [--seconds S] [--cps X] [--samples DIR] [--float] -o OUT FILE|-
 *   tutti render --db FILE --session ID [--from T] [--to T]
 *                [--stem DOC | --stem-author NAME] [--float] -o OUT
 *
 * The second form renders a stored session again, exactly as it played
 * (server/replay.h): T is seconds of session time ("90", "1:30",
 * "1:02:03.5"); --to defaults to the session's end. --stem keeps only the
 * tracks of one document, --stem-author those one performer evaluated.
 *
 * Compiles FILE (or standard input) with program_compile, renders S seconds
 * (default 8) through the same engine the server uses (built-in drum kit,
 * plus the sample folders of DIR in the Dirt-Samples layout), and writes
 * OUT by its extension: .wav as 16-bit PCM (--float: 32-bit float) through
 * libsndfile, .ogg/.opus as Ogg Opus (128 kbit/s, complexity 10) through
 * codec/. The tempo is --cps, else what the code set (setcps/setcpm), else
 * 0.5. A progress bar goes to standard error when it is a terminal.
 *
 * Exit status: 0 on success, 1 on a usage, compile or I/O error (with a
 * message naming the file and, for code, the line and column).
 */
#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "clients/cli/commands.h"
#include "codec/ogg_file.h"
#include "common/error.h"
#include "common/limits.h"
#include "engine/drums.h"
#include "engine/program.h"
#include "engine/render.h"
#include "engine/sched_program.h"
#include "server/replay.h"
#include "storage/store.h"

typedef struct opts {
	double seconds;
	double cps;       /* <= 0: from the program */
	const char *samples;
	const char *out;
	const char *in;
	bool as_float;
	/* --db: a stored session */
	const char *db;
	const char *session;
	double from, to;          /* seconds; to < 0: the end */
	const char *stem_doc, *stem_author;
} opts;

enum { OUT_WAV, OUT_OGG };

static void usage(FILE *f)
{
	fputs("usage: tutti render [--seconds S] [--cps X] [--samples DIR] [--float] -o OUT FILE|-\n"
	      "       tutti render --db FILE --session ID [--from T] [--to T]\n"
	      "                    [--stem DOC | --stem-author NAME] [--float] -o OUT\n"
	      "  OUT ending in .wav: 16-bit PCM (--float: 32-bit float); .ogg or .opus: Ogg Opus\n"
	      "  T: seconds of session time, or M:SS / H:MM:SS(.fff)\n",
	      f);
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		return TT_EINVAL;
	*out = v;
	return TT_OK;
}

/* "90", "1:30", "1:02:03.5" -> seconds. */
static int parse_time(const char *s, double *out)
{
	double parts[3], v;
	int n = 0;
	const char *p = s;
	char *end;

	for (;;) {
		errno = 0;
		v = strtod(p, &end);
		if (errno || end == p || !(v >= 0) || n == 3)
			return TT_EINVAL;
		parts[n++] = v;
		if (*end == '\0')
			break;
		if (*end != ':')
			return TT_EINVAL;
		p = end + 1;
	}
	v = 0;
	for (int i = 0; i < n; i++) {
		if (i < n - 1 && (parts[i] != floor(parts[i]) || (i > 0 && parts[i] >= 60)))
			return TT_EINVAL;
		v = v * 60 + parts[i];
	}
	if (n > 1 && parts[n - 1] >= 60)
		return TT_EINVAL;
	if (!(v <= 1e7))
		return TT_EINVAL;
	*out = v;
	return TT_OK;
}

static int parse_args(int argc, char **argv, opts *o)
{
	memset(o, 0, sizeof *o);
	o->seconds = 8.0;
	o->to = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--float") == 0) {
			o->as_float = true;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			return 1;
		} else if (strcmp(a, "--seconds") == 0 && v) {
			if (parse_num(v, 0.001, 24 * 3600, &o->seconds) < 0)
				return fprintf(stderr, "tutti render: --seconds: not a duration: %s\n", v), -1;
			i++;
		} else if (strcmp(a, "--cps") == 0 && v) {
			if (parse_num(v, 0.01, 100, &o->cps) < 0)
				return fprintf(stderr, "tutti render: --cps: expected 0.01..100: %s\n", v), -1;
			i++;
		} else if (strcmp(a, "--db") == 0 && v) {
			o->db = argv[++i];
		} else if (strcmp(a, "--session") == 0 && v) {
			o->session = argv[++i];
		} else if ((strcmp(a, "--from") == 0 || strcmp(a, "--to") == 0) && v) {
			if (parse_time(v, a[2] == 'f' ? &o->from : &o->to) < 0)
				return fprintf(stderr, "tutti render: %s: not a time (seconds, M:SS or "
					       "H:MM:SS): %s\n", a, v), -1;
			i++;
		} else if (strcmp(a, "--stem") == 0 && v) {
			o->stem_doc = argv[++i];
		} else if (strcmp(a, "--stem-author") == 0 && v) {
			o->stem_author = argv[++i];
		} else if (strcmp(a, "--samples") == 0 && v) {
			o->samples = argv[++i];
		} else if (strcmp(a, "-o") == 0 && v) {
			o->out = argv[++i];
		} else if ((a[0] != '-' || strcmp(a, "-") == 0) && !o->in) {
			o->in = a;
		} else {
			return fprintf(stderr, "tutti render: unexpected argument: %s\n", a), -1;
		}
	}
	if (o->db || o->session) {
		if (!o->db || !o->session || !o->out || o->in)
			return fprintf(stderr, "tutti render: a stored session needs --db FILE, "
				       "--session ID and -o OUT (and no program FILE)\n"), -1;
		if (o->stem_doc && o->stem_author)
			return fprintf(stderr, "tutti render: --stem and --stem-author: choose one\n"),
			       -1;
		if (o->to >= 0 && o->to <= o->from)
			return fprintf(stderr, "tutti render: --to must be after --from\n"), -1;
		return 0;
	}
	if (o->stem_doc || o->stem_author || o->from > 0 || o->to >= 0)
		return fprintf(stderr, "tutti render: --from, --to and stems need --db\n"), -1;
	if (!o->out || !o->in)
		return fprintf(stderr, "tutti render: need -o OUT and a FILE (or - for stdin)\n"), -1;
	return 0;
}

static int out_kind(const char *path)
{
	const char *dot = strrchr(path, '.');
	if (dot && strcasecmp(dot, ".wav") == 0)
		return OUT_WAV;
	if (dot && (strcasecmp(dot, ".ogg") == 0 || strcasecmp(dot, ".opus") == 0))
		return OUT_OGG;
	return -1;
}

/* Reads all of path ("-": stdin) into a new NUL-terminated buffer. */
static int read_code(const char *path, char **code, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf;
	size_t n;
	if (!f)
		return TT_ENOTFOUND;
	buf = malloc(TT_MAX_CODE_BYTES + 2);
	if (!buf) {
		if (f != stdin)
			fclose(f);
		return TT_ENOMEM;
	}
	n = fread(buf, 1, TT_MAX_CODE_BYTES + 1, f);
	if (f != stdin)
		fclose(f);
	if (n > TT_MAX_CODE_BYTES) {
		free(buf);
		return TT_ELIMIT;
	}
	buf[n] = '\0';
	*code = buf;
	*len = n;
	return TT_OK;
}

typedef struct sink {
	int kind;
	SNDFILE *wav;
	FILE *fp;
	oggfile *ogg;
} sink;

static int sink_open(sink *s, const opts *o)
{
	memset(s, 0, sizeof *s);
	s->kind = out_kind(o->out);
	if (s->kind == OUT_WAV) {
		SF_INFO info = { 0 };
		info.samplerate = RENDER_RATE;
		info.channels = 2;
		info.format = SF_FORMAT_WAV | (o->as_float ? SF_FORMAT_FLOAT : SF_FORMAT_PCM_16);
		s->wav = sf_open(o->out, SFM_WRITE, &info);
		return s->wav ? TT_OK : TT_EIO;
	}
	if (s->kind == OUT_OGG) {
		opusenc_config ec;
		opusenc_config_default(&ec);
		ec.bitrate = 128000;
		ec.complexity = 10;
		s->fp = fopen(o->out, "wb");
		if (!s->fp)
			return TT_EIO;
		return oggfile_open(s->fp, &ec, NULL, &s->ogg);
	}
	return TT_EUNSUPPORTED;
}

static int sink_write(sink *s, const float *pcm, int frames)
{
	if (s->wav)
		return sf_writef_float(s->wav, pcm, frames) == frames ? TT_OK : TT_EIO;
	return oggfile_write(s->ogg, pcm, (size_t)frames);
}

static int sink_close(sink *s)
{
	int rc = TT_OK;
	if (s->wav && sf_close(s->wav) != 0)
		rc = TT_EIO;
	if (s->ogg)
		rc = oggfile_close(s->ogg);
	if (s->fp && fclose(s->fp) != 0 && rc == TT_OK)
		rc = TT_EIO;
	return rc;
}

static void progress(int64_t done, int64_t total, int *last)
{
	int pct = total ? (int)(done * 100 / total) : 100;
	char bar[41];
	if (pct == *last)
		return;
	*last = pct;
	for (int i = 0; i < 40; i++)
		bar[i] = i < pct * 40 / 100 ? '#' : ' ';
	bar[40] = '\0';
	fprintf(stderr, "\rrendering [%s] %3d%%", bar, pct);
	if (pct == 100)
		fputc('\n', stderr);
}

static int render_to(const opts *o, const tt_program *prog, const sampler *bank, sink *out)
{
	render_config cfg;
	render *r = NULL;
	sched_source src;
	float pcm[2 * 960];
	int64_t total = (int64_t)llround(o->seconds * RENDER_RATE), done = 0;
	int rc, last = -1, tty = isatty(2);
	double cps = 0.5;
	render_config_default(&cfg);
	if (o->cps > 0)
		cps = o->cps;
	else if (!program_cps(prog, &cps) || !(cps > 0))
		cps = 0.5;
	cfg.cps = cps;
	cfg.bank = bank;
	rc = render_new(&cfg, &r);
	if (rc < 0)
		return rc;
	sched_source_program(prog, &src);
	render_set_source(r, &src);
	if (program_hushed(prog))
		render_hush(r, true);
	while (rc == TT_OK && done < total) {
		int n = total - done < 960 ? (int)(total - done) : 960;
		render_block(r, pcm, n);
		rc = sink_write(out, pcm, n);
		done += n;
		if (tty)
			progress(done, total, &last);
	}
	render_free(r);
	return rc;
}

static int load_bank(const opts *o, sampler **out)
{
	char err[600];
	int rc = sampler_new(out);
	if (rc == TT_OK)
		rc = drums_build(*out);
	if (rc == TT_OK && o->samples) {
		rc = sampler_load_dir(*out, o->samples, err, sizeof err);
		if (rc < 0)
			fprintf(stderr, "tutti render: samples: %s\n", err);
	}
	return rc;
}

/* tutti render --db: a stored session again, through server/replay.h. */
static int render_session(const opts *o)
{
	store_config sc;
	store *st = NULL;
	sampler *bank = NULL;
	replay *rp = NULL;
	replay_config rc = { 0 };
	sink out = { 0 };
	char err[512];
	float *pcm = NULL;
	int rc2, last = -1, tty = isatty(2), status = 1;

	store_config_default(&sc);
	sc.read_only = true;
	rc2 = store_open(o->db, &sc, &st);
	if (rc2 != TT_OK) {
		fprintf(stderr, "tutti render: %s: %s\n", o->db,
			st ? store_errmsg(st) : tt_strerror(rc2));
		goto out;
	}
	if (load_bank(o, &bank) < 0)
		goto out;
	rc.st = st;
	rc.session_id = o->session;
	rc.bank = bank;
	rc.from = llround(o->from * RENDER_RATE);
	rc.to = o->to < 0 ? -1 : llround(o->to * RENDER_RATE);
	rc.stem = o->stem_doc ? REPLAY_STEM_DOC : o->stem_author ? REPLAY_STEM_AUTHOR : REPLAY_MIX;
	rc.stem_name = o->stem_doc ? o->stem_doc : o->stem_author;
	if (replay_open(&rc, &rp, err, sizeof err) != TT_OK) {
		fprintf(stderr, "tutti render: %s: %s\n", o->db, err);
		goto out;
	}
	store_close(st);
	st = NULL;
	if (!(pcm = malloc(2 * RENDER_BLOCK * sizeof *pcm)) || sink_open(&out, o) != TT_OK) {
		fprintf(stderr, "tutti render: %s: cannot write: %s\n", o->out, strerror(errno));
		goto out;
	}
	for (;;) {
		size_t n;
		int64_t done, total;
		if (replay_read(rp, pcm, RENDER_BLOCK, &n, NULL, 0, NULL) != TT_OK) {
			fprintf(stderr, "tutti render: out of memory while replaying\n");
			goto out;
		}
		if (n == 0)
			break;
		if (sink_write(&out, pcm, (int)n) != TT_OK) {
			fprintf(stderr, "tutti render: %s: write error\n", o->out);
			goto out;
		}
		replay_progress(rp, &done, &total);
		if (tty)
			progress(done, total, &last);
	}
	if (sink_close(&out) != TT_OK) {
		memset(&out, 0, sizeof out);
		fprintf(stderr, "tutti render: %s: write error\n", o->out);
		goto out;
	}
	memset(&out, 0, sizeof out);
	status = 0;
out:
	sink_close(&out);
	free(pcm);
	replay_free(rp);
	sampler_free(bank);
	store_close(st);
	return status;
}

int cli_render(int argc, char **argv)
{
	opts o;
	char *code = NULL;
	size_t len = 0;
	tt_program *prog = NULL;
	tt_diag diag;
	sampler *bank = NULL;
	sink out = { 0 };
	int rc = parse_args(argc, argv, &o), status = 1;
	if (rc != 0) {
		usage(rc > 0 ? stdout : stderr);
		return rc > 0 ? 0 : 2;
	}
	if (out_kind(o.out) < 0) {
		fprintf(stderr, "tutti render: %s: unknown output type (use .wav, .ogg or .opus)\n", o.out);
		return 2;
	}
	if (o.db)
		return render_session(&o);
	rc = read_code(o.in, &code, &len);
	if (rc < 0) {
		fprintf(stderr, "tutti render: %s: %s\n", o.in, rc == TT_ELIMIT ?
			"program longer than TT_MAX_CODE_BYTES" : tt_strerror(rc));
		goto out;
	}
	memset(&diag, 0, sizeof diag);
	rc = program_compile(code, len, &prog, &diag);
	if (rc < 0) {
		fprintf(stderr, "%s:%d:%d: %s\n", o.in, diag.line, diag.col,
			diag.message[0] ? diag.message : tt_strerror(rc));
		goto out;
	}
	if (load_bank(&o, &bank) < 0)
		goto out;
	rc = sink_open(&out, &o);
	if (rc == TT_OK)
		rc = render_to(&o, prog, bank, &out);
	if (sink_close(&out) < 0 && rc == TT_OK)
		rc = TT_EIO;
	if (rc < 0)
		fprintf(stderr, "tutti render: %s: %s\n", o.out, tt_strerror(rc));
	else
		status = 0;
out:
	program_free(prog);
	sampler_free(bank);
	free(code);
	return status;
}
