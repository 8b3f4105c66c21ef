/* server/replay_http.c: see replay_http.h. */
#include "server/replay_http.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/ogg_file.h"
#include "common/error.h"
#include "common/limits.h"
#include "server/app.h"
#include "server/auth.h"
#include "server/hub.h"
#include "server/log.h"
#include "server/replay.h"

typedef enum job_kind { JOB_OGG, JOB_WAV16, JOB_WAVF32, JOB_ANNOS } job_kind;

/* One replay streamed to one HTTP client. The worker renders into buf
 * through a FILE (fopencookie), waiting while it is full; libmicrohttpd's
 * thread takes from it, suspending the connection while it is empty.
 * refs: the worker and the response each hold one. */
typedef struct job {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint8_t buf[TT_REPLAY_BUFFER_BYTES];
	size_t head, len;          /* a ring: len bytes from head */
	bool done, failed, cancel, suspended;
	int refs;
	struct MHD_Connection *conn;
	job_kind kind;
	replay *rp;
	char sid[32];
} job;

static atomic_int running;

static void job_unref(job *j)
{
	int left;

	pthread_mutex_lock(&j->lock);
	left = --j->refs;
	pthread_mutex_unlock(&j->lock);
	if (left)
		return;
	replay_free(j->rp);
	pthread_mutex_destroy(&j->lock);
	pthread_cond_destroy(&j->cond);
	free(j);
	atomic_fetch_sub(&running, 1);
}

/* Resumes the connection if it waits (outside j->lock: see listen.h). */
static void wake_reader(job *j)
{
	bool resume;

	pthread_mutex_lock(&j->lock);
	resume = j->suspended;
	j->suspended = false;
	pthread_mutex_unlock(&j->lock);
	if (resume)
		MHD_resume_connection(j->conn);
}

/* The FILE's write: into the ring, waiting for room. */
static ssize_t cookie_write(void *cookie, const char *p, size_t n)
{
	job *j = cookie;
	size_t put = 0;

	while (put < n) {
		size_t room, at, k;
		pthread_mutex_lock(&j->lock);
		while (!j->cancel && j->len == sizeof j->buf)
			pthread_cond_wait(&j->cond, &j->lock);
		if (j->cancel) {
			pthread_mutex_unlock(&j->lock);
			errno = EPIPE;
			return put ? (ssize_t)put : -1;
		}
		room = sizeof j->buf - j->len;
		at = (j->head + j->len) % sizeof j->buf;
		k = n - put < room ? n - put : room;
		if (k > sizeof j->buf - at)
			k = sizeof j->buf - at;
		memcpy(j->buf + at, p + put, k);
		j->len += k;
		put += k;
		pthread_mutex_unlock(&j->lock);
		wake_reader(j);
	}
	return (ssize_t)n;
}

static void put_le(uint8_t *p, uint32_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t wav_bytes(job_kind kind, int64_t frames)
{
	return 44 + (uint64_t)frames * 2 * (kind == JOB_WAVF32 ? 4 : 2);
}

static void wav_header(uint8_t h[44], job_kind kind, int64_t frames)
{
	int bps = kind == JOB_WAVF32 ? 4 : 2;
	uint32_t data = (uint32_t)(frames * 2 * bps);

	memcpy(h, "RIFF", 4);
	put_le(h + 4, 36 + data, 4);
	memcpy(h + 8, "WAVEfmt ", 8);
	put_le(h + 16, 16, 4);
	put_le(h + 20, kind == JOB_WAVF32 ? 3 : 1, 2); /* IEEE float or PCM */
	put_le(h + 22, 2, 2);
	put_le(h + 24, RENDER_RATE, 4);
	put_le(h + 28, (uint32_t)(RENDER_RATE * 2 * bps), 4);
	put_le(h + 32, (uint32_t)(2 * bps), 2);
	put_le(h + 34, (uint32_t)(8 * bps), 2);
	memcpy(h + 36, "data", 4);
	put_le(h + 40, data, 4);
}

static int write_wav(job *j, FILE *f, const float *pcm, size_t n)
{
	if (j->kind == JOB_WAVF32)
		return fwrite(pcm, sizeof(float) * 2, n, f) == n ? TT_OK : TT_EIO;
	for (size_t i = 0; i < 2 * n; i++) {
		float x = pcm[i] * 32767.0f;
		int16_t s = (int16_t)(x >= 32767.0f ? 32767 : x <= -32768.0f ? -32768 : lrintf(x));
		uint8_t b[2] = { (uint8_t)s, (uint8_t)((uint16_t)s >> 8) };
		if (fwrite(b, 1, 2, f) != 2)
			return TT_EIO;
	}
	return TT_OK;
}

static int write_annos(FILE *f, const replay_anno *a, size_t n, bool *first)
{
	for (size_t i = 0; i < n; i++, *first = false)
		if (fprintf(f, "%s{\"t\":%.6f,\"frame\":%lld,\"doc\":%lld,\"rev\":%lld,\"eval\":%lld,"
			       "\"start\":%u,\"end\":%u,\"dur\":%.6f}", *first ? "" : ",",
			    (double)a[i].frame / RENDER_RATE, (long long)a[i].frame,
			    (long long)a[i].doc_id, (long long)a[i].rev, (long long)a[i].eval_id,
			    a[i].start, a[i].end, a[i].dur) < 0)
			return TT_EIO;
	return TT_OK;
}

static void *worker(void *arg)
{
	job *j = arg;
	cookie_io_functions_t io = { .write = cookie_write };
	FILE *f = fopencookie(j, "w", io);
	oggfile *ogg = NULL;
	float *pcm = malloc(2 * RENDER_BLOCK * sizeof *pcm);
	replay_anno *annos = j->kind == JOB_ANNOS ? malloc(TT_REPLAY_ANNOS_PER_BLOCK * sizeof *annos)
						  : NULL;
	bool first = true;
	int rc = f && pcm && (j->kind != JOB_ANNOS || annos) ? TT_OK : TT_ENOMEM;

	if (rc == TT_OK && f)
		setvbuf(f, NULL, _IOFBF, 16 * 1024);
	if (rc == TT_OK && j->kind == JOB_OGG) {
		opusenc_config ec;
		opusenc_config_default(&ec);
		ec.bitrate = 128000;
		rc = oggfile_open(f, &ec, NULL, &ogg);
	} else if (rc == TT_OK && (j->kind == JOB_WAV16 || j->kind == JOB_WAVF32)) {
		uint8_t h[44];
		wav_header(h, j->kind, replay_to(j->rp) - replay_from(j->rp));
		rc = fwrite(h, 1, sizeof h, f) == sizeof h ? TT_OK : TT_EIO;
	} else if (rc == TT_OK) {
		rc = fprintf(f, "{\"from\":%.6f,\"to\":%.6f,\"annotations\":[",
			     (double)replay_from(j->rp) / RENDER_RATE,
			     (double)replay_to(j->rp) / RENDER_RATE) < 0 ? TT_EIO : TT_OK;
	}
	while (rc == TT_OK) {
		size_t n, n_annos = 0;
		rc = replay_read(j->rp, pcm, RENDER_BLOCK, &n, annos, TT_REPLAY_ANNOS_PER_BLOCK,
				 &n_annos);
		if (rc != TT_OK || n == 0)
			break;
		if (j->kind == JOB_OGG)
			rc = oggfile_write(ogg, pcm, n);
		else if (j->kind == JOB_ANNOS)
			rc = write_annos(f, annos, n_annos, &first);
		else
			rc = write_wav(j, f, pcm, n);
	}
	if (ogg) {
		int c = oggfile_close(ogg);
		if (rc == TT_OK)
			rc = c;
	}
	if (rc == TT_OK && j->kind == JOB_ANNOS && fputs("]}\n", f) < 0)
		rc = TT_EIO;
	if (f && fclose(f) != 0 && rc == TT_OK)
		rc = TT_EIO;
	free(pcm);
	free(annos);
	if (rc != TT_OK && !j->cancel)
		log_warn("replay", "%s: a replay stopped: %s", j->sid, tt_strerror(rc));
	pthread_mutex_lock(&j->lock);
	j->done = true;
	j->failed = rc != TT_OK;
	pthread_mutex_unlock(&j->lock);
	wake_reader(j);
	job_unref(j);
	return NULL;
}

static ssize_t reader(void *cls, uint64_t pos, char *out, size_t max)
{
	job *j = cls;
	size_t n, first;

	(void)pos;
	pthread_mutex_lock(&j->lock);
	if (j->len == 0) {
		ssize_t end = j->failed ? MHD_CONTENT_READER_END_WITH_ERROR
					: MHD_CONTENT_READER_END_OF_STREAM;
		if (j->done) {
			pthread_mutex_unlock(&j->lock);
			return end;
		}
		/* Nothing yet: wait without polling until the worker writes. */
		j->suspended = true;
		MHD_suspend_connection(j->conn);
		pthread_mutex_unlock(&j->lock);
		return 0;
	}
	n = j->len < max ? j->len : max;
	first = sizeof j->buf - j->head;
	if (first > n)
		first = n;
	memcpy(out, j->buf + j->head, first);
	memcpy(out + first, j->buf, n - first);
	j->head = (j->head + n) % sizeof j->buf;
	j->len -= n;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
	return (ssize_t)n;
}

static void response_free(void *cls)
{
	job *j = cls;

	pthread_mutex_lock(&j->lock);
	j->cancel = true;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
	job_unref(j);
}

/* "12.5" seconds -> frames; TT_EINVAL otherwise. */
static int arg_time(struct MHD_Connection *c, const char *name, int64_t dflt, int64_t *out)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
	char *end;
	double s;

	if (!v) {
		*out = dflt;
		return TT_OK;
	}
	errno = 0;
	s = strtod(v, &end);
	if (errno || end == v || *end || !(s >= 0 && s <= 1e7))
		return TT_EINVAL;
	*out = llround(s * RENDER_RATE);
	return TT_OK;
}

/* The replay a request asks for, opened; NULL after answering why not
 * (into *ret). On success one of the TT_MAX_REPLAYS places is taken. */
static replay *open_replay(tt_app *app, const http_request *req, job_kind kind,
			   enum MHD_Result *ret)
{
	struct MHD_Connection *c = req->conn;
	const char *stem = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "stem");
	const char *why = NULL;
	replay_config rc = { 0 };
	store_config sc;
	store *st = NULL;
	replay *rp = NULL;
	char err[512];
	int e;

	if (!auth_may_read(app, c, req->param, &why)) {
		*ret = http_reply_error(c, MHD_HTTP_FORBIDDEN, "forbidden", "%s",
					why ? why : "this session's history is not public");
		return NULL;
	}
	if (arg_time(c, "from", 0, &rc.from) != TT_OK || arg_time(c, "to", -1, &rc.to) != TT_OK) {
		*ret = http_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_request",
					"from and to are seconds of session time (e.g. from=90.5)");
		return NULL;
	}
	if (stem && strncmp(stem, "doc:", 4) == 0 && stem[4]) {
		rc.stem = REPLAY_STEM_DOC;
		rc.stem_name = stem + 4;
	} else if (stem && strncmp(stem, "author:", 7) == 0 && stem[7]) {
		rc.stem = REPLAY_STEM_AUTHOR;
		rc.stem_name = stem + 7;
	} else if (stem) {
		*ret = http_reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_request",
					"stem is doc:NAME or author:NAME");
		return NULL;
	}
	if (atomic_fetch_add(&running, 1) >= TT_MAX_REPLAYS) {
		atomic_fetch_sub(&running, 1);
		*ret = http_reply_json_hdr(c, MHD_HTTP_SERVICE_UNAVAILABLE,
					   http_error_body(MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
							   "%d replays are rendering; try again "
							   "in a few seconds", TT_MAX_REPLAYS),
					   MHD_HTTP_HEADER_RETRY_AFTER, "5");
		return NULL;
	}
	/* A handle of our own: reading the log does not hold the loop's. */
	store_config_default(&sc);
	sc.read_only = true;
	e = store_open(app->cfg.db_path, &sc, &st);
	if (e == TT_OK) {
		rc.st = st;
		rc.session_id = req->param;
		rc.bank = hub_bank();
		e = replay_open(&rc, &rp, err, sizeof err);
	} else {
		snprintf(err, sizeof err, "the database cannot be read: %s",
			 st ? store_errmsg(st) : tt_strerror(e));
	}
	store_close(st);
	if (e == TT_OK && (kind == JOB_WAV16 || kind == JOB_WAVF32) &&
	    wav_bytes(kind, replay_to(rp) - replay_from(rp)) > UINT32_MAX) {
		replay_free(rp);
		e = TT_ELIMIT;
		snprintf(err, sizeof err, "a span this long does not fit a WAV file (4 GB): ask "
			 "for render.ogg or a shorter span");
	}
	if (e != TT_OK) {
		atomic_fetch_sub(&running, 1);
		*ret = http_reply_error(c, e == TT_ENOTFOUND ? MHD_HTTP_NOT_FOUND :
					   e == TT_EINVAL || e == TT_ELIMIT ? MHD_HTTP_BAD_REQUEST :
					   MHD_HTTP_INTERNAL_SERVER_ERROR,
					e == TT_ENOTFOUND ? "not_found" : e == TT_EINVAL ? "bad_request" :
					e == TT_ELIMIT ? "too_long" : "internal", "%s", err);
		return NULL;
	}
	return rp;
}

static void add_headers(struct MHD_Response *resp, const job *j)
{
	const replay *rp = j->rp;
	char v[160];

	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				j->kind == JOB_OGG ? "audio/ogg" : j->kind == JOB_ANNOS ?
				"application/json" : "audio/wav");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	snprintf(v, sizeof v, "%.6f", (double)(replay_to(rp) - replay_from(rp)) / RENDER_RATE);
	MHD_add_response_header(resp, "X-Tutti-Duration", v);
	snprintf(v, sizeof v, "%.6f", (double)replay_session_end(rp) / RENDER_RATE);
	MHD_add_response_header(resp, "X-Tutti-Session-End", v);
	if (j->kind != JOB_ANNOS) {
		/* inline, so that <audio> plays it; the name is for "save as" */
		snprintf(v, sizeof v, "inline; filename=\"tutti-%s-%lld-%lld.%s\"", j->sid,
			 (long long)(replay_from(rp) / RENDER_RATE),
			 (long long)(replay_to(rp) / RENDER_RATE), j->kind == JOB_OGG ? "ogg" : "wav");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, v);
	}
}

static enum MHD_Result serve(tt_app *app, const http_request *req, job_kind kind)
{
	struct MHD_Connection *c = req->conn;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	replay *rp = open_replay(app, req, kind, &ret);
	pthread_t th;
	job *j;

	if (!rp)
		return ret;
	if (!(j = calloc(1, sizeof *j))) {
		replay_free(rp);
		atomic_fetch_sub(&running, 1);
		return http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
					"out of memory");
	}
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->cond, NULL);
	j->refs = 2;
	j->conn = c;
	j->kind = kind;
	j->rp = rp;
	snprintf(j->sid, sizeof j->sid, "%s", req->param);
	resp = MHD_create_response_from_callback(
		kind == JOB_WAV16 || kind == JOB_WAVF32 ? wav_bytes(kind, replay_to(rp) -
								       replay_from(rp))
							 : MHD_SIZE_UNKNOWN,
		16 * 1024, reader, j, response_free);
	if (!resp) {
		j->refs = 1;
		job_unref(j);
		return MHD_NO;
	}
	add_headers(resp, j);
	if (pthread_create(&th, NULL, worker, j) != 0) {
		/* The response frees j (response_free); the stream fails at once. */
		pthread_mutex_lock(&j->lock);
		j->done = j->failed = true;
		j->refs--;
		pthread_mutex_unlock(&j->lock);
	} else {
		pthread_detach(th);
	}
	ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result replay_http_ogg(tt_app *app, const http_request *req)
{
	return serve(app, req, JOB_OGG);
}

enum MHD_Result replay_http_wav(tt_app *app, const http_request *req)
{
	const char *bits = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "bits");

	if (bits && strcmp(bits, "16") != 0 && strcmp(bits, "32f") != 0)
		return http_reply_error(req->conn, MHD_HTTP_BAD_REQUEST, "bad_request",
					"bits is 16 (PCM) or 32f (float)");
	return serve(app, req, bits && strcmp(bits, "32f") == 0 ? JOB_WAVF32 : JOB_WAV16);
}

enum MHD_Result replay_http_annotations(tt_app *app, const http_request *req)
{
	return serve(app, req, JOB_ANNOS);
}
