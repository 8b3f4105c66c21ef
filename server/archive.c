/* server/archive.c: see archive.h for the design and its invariants. */
#include "server/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/limits.h"
#include "server/app.h"
#include "server/auth.h"
#include "server/log.h"
#include "storage/store.h"

#define RATE 48000
/* Audio per Ogg page of a file: one second keeps the page overhead near
 * 1% and loses at most a second to a crash (the page being filled). */
#define FILE_PAGE_SAMPLES RATE
/* Names tried for a file when RUN-SEQ.ogg exists already (a run id of 0,
 * when the run could not be recorded, repeats across restarts). */
#define NAME_TRIES 1000
/* Rows handled per pass of crash recovery and of retention. */
#define ROWS_PER_PASS 256
/* Retention runs at start and then this often. */
#define RETENTION_EVERY_MS (3600 * 1000)

typedef enum item_kind { ITEM_PACKET, ITEM_CLOSE } item_kind;

typedef struct item {
	struct item *next;
	archive_sess *sess;
	item_kind kind;
	int64_t frame, granule;
	size_t len;
	uint8_t data[];
} item;

typedef struct packet {
	int64_t frame, granule;
	size_t len;
	uint8_t data[TT_MAX_OPUS_PACKET];
} packet;

struct archive_sess {
	/* Set by archive_open; read-only afterwards. */
	char sid[STORE_ID_LEN + 1];
	int64_t run_id;
	int channels, pre_skip;
	item *close_item;         /* made at open, so a close never fails */
	atomic_int failed;        /* the writer gave up: the loop stops queueing */
	/* The writer thread's alone. */
	int seq;                  /* of the file last opened */
	uint32_t serial;          /* of the file last opened */
	int fd;                   /* -1: no file open */
	char path[PATH_MAX + STORE_ARCHIVE_PATH];
	oggmux *mux;
	store_archive_file row;   /* the open file's row; last_frame as written */
	bool have_held;
	packet held;              /* the newest packet, not yet muxed */
};

static struct {
	char dir[PATH_MAX];
	int on;                   /* the writer thread runs */
	int rotate_s, keep_days;
	store *st;                /* the writer's own handle */
	pthread_t thread;
	pthread_mutex_t lock;     /* guards head, tail, bytes, stopping */
	pthread_cond_t cond;
	item *head, *tail;
	size_t bytes;
	int stopping;
	uint8_t *out;             /* OGGMUX_MAX_PUSH_OUT bytes, the writer's */
} A = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static atomic_uint_fast64_t n_files, n_bytes, n_failures, n_dropped;

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void archive_totals_get(archive_totals *out)
{
	out->files = atomic_load(&n_files);
	out->bytes = atomic_load(&n_bytes);
	out->failures = atomic_load(&n_failures);
	out->dropped = atomic_load(&n_dropped);
}

/* ---- the loop's side ---- */

archive_sess *archive_open(const char *sid, int64_t run_id, const oggmux_config *mc)
{
	archive_sess *s;

	if (!A.on)
		return NULL;
	s = calloc(1, sizeof *s);
	if (!s || !(s->close_item = calloc(1, sizeof *s->close_item))) {
		free(s);
		log_error("archive", "%s: out of memory: this run is not archived", sid);
		return NULL;
	}
	snprintf(s->sid, sizeof s->sid, "%s", sid);
	s->run_id = run_id;
	s->channels = mc->channels;
	s->pre_skip = mc->pre_skip;
	s->fd = -1;
	s->close_item->sess = s;
	s->close_item->kind = ITEM_CLOSE;
	return s;
}

/* Appends it to the queue. Lock held. */
static void enqueue(item *it)
{
	it->next = NULL;
	if (A.tail)
		A.tail->next = it;
	else
		A.head = it;
	A.tail = it;
	pthread_cond_signal(&A.cond);
}

void archive_push(archive_sess *a, const live_packet *p)
{
	size_t need;
	item *it;

	if (!a || atomic_load(&a->failed))
		return;
	need = sizeof *it + p->len;
	it = malloc(need);
	if (!it) {
		atomic_fetch_add(&n_dropped, 1);
		return;
	}
	*it = (item){ .sess = a, .kind = ITEM_PACKET, .frame = p->frame, .granule = p->granule,
		      .len = p->len };
	memcpy(it->data, p->data, p->len);
	pthread_mutex_lock(&A.lock);
	if (A.bytes + need > TT_ARCHIVE_QUEUE_BYTES) {
		pthread_mutex_unlock(&A.lock);
		free(it);
		atomic_fetch_add(&n_dropped, 1);
		return;
	}
	A.bytes += need;
	enqueue(it);
	pthread_mutex_unlock(&A.lock);
}

void archive_close(archive_sess *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&A.lock);
	enqueue(a->close_item);
	pthread_mutex_unlock(&A.lock);
}

/* ---- the writer thread: files ---- */

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Ends archiving of s for this run (invariant 4): logs once, keeps what
 * was written and completes its row. */
static void give_up(archive_sess *s, const char *what, const char *path, const char *why)
{
	log_error("archive", "%s: cannot %s %s: %s; this session is not archived until its "
		  "sound restarts (the stream goes on)", s->sid, what, path, why);
	atomic_store(&s->failed, 1);
	atomic_fetch_add(&n_failures, 1);
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
		if (s->row.id && s->row.last_frame > s->row.first_frame) {
			if (store_archive_finish(A.st, s->row.id, s->row.last_frame, wall_ms(),
						 s->row.bytes) != TT_OK)
				log_warn("archive", "%s: index of %s: %s", s->sid, s->path,
					 store_errmsg(A.st));
		} else {
			/* No audio in it, or not indexed: nothing worth keeping. */
			unlink(s->path);
			if (s->row.id)
				store_archive_delete(A.st, s->row.id);
		}
	}
	oggmux_free(s->mux);
	s->mux = NULL;
	s->have_held = false;
}

/* A serial number for a new file, never the one before (invariant 2). */
static uint32_t new_serial(uint32_t prev)
{
	uint32_t v = 0;

	if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
		v = (uint32_t)wall_ms() * 2654435761u;
	return v == prev ? v + 1 : v;
}

/* Creates the file DIR/SESSION/RUN-SEQ.ogg whose audio starts at run
 * frame first, its row, and writes its header pages. -1 when s gave up. */
static int open_file(archive_sess *s, int64_t first)
{
	char dir[PATH_MAX + 32], c_sess[64], c_run[64], c_first[64];
	const char *comments[3] = { c_sess, c_run, c_first };
	const uint8_t *head;
	size_t head_len;
	oggmux_config mc;
	int fd = -1;

	snprintf(dir, sizeof dir, "%s/%s", A.dir, s->sid);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		give_up(s, "create the directory", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < NAME_TRIES && fd < 0; i++) {
		s->seq++;
		snprintf(s->row.path, sizeof s->row.path, "%s/%lld-%d.ogg", s->sid,
			 (long long)s->run_id, s->seq);
		snprintf(s->path, sizeof s->path, "%s/%s", A.dir, s->row.path);
		fd = open(s->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		give_up(s, "create", s->path, strerror(errno));
		return -1;
	}
	s->fd = fd;
	oggmux_config_default(&mc);
	mc.channels = s->channels;
	mc.pre_skip = s->pre_skip;
	mc.page_samples = FILE_PAGE_SAMPLES;
	mc.serial = s->serial = new_serial(s->serial);
	snprintf(c_sess, sizeof c_sess, "TUTTI_SESSION=%s", s->sid);
	snprintf(c_run, sizeof c_run, "TUTTI_RUN=%lld", (long long)s->run_id);
	snprintf(c_first, sizeof c_first, "TUTTI_FIRST_FRAME=%lld", (long long)first);
	mc.comments = comments;
	mc.ncomments = 3;
	snprintf(s->row.session_id, sizeof s->row.session_id, "%s", s->sid);
	s->row.id = 0;
	s->row.run_id = s->run_id;
	s->row.first_frame = first;
	s->row.started_ms = wall_ms();
	if (oggmux_new(&mc, &s->mux) != TT_OK) {
		give_up(s, "start", s->path, "out of memory");
		return -1;
	}
	/* The row before any audio: a crash from here on leaves a row that
	 * the next start completes (invariant 5). */
	if (store_archive_begin(A.st, &s->row) != TT_OK) {
		give_up(s, "index", s->path, store_errmsg(A.st));
		return -1;
	}
	oggmux_headers(s->mux, &head, &head_len);
	if (write_all(fd, head, head_len) != 0) {
		give_up(s, "write", s->path, strerror(errno));
		return -1;
	}
	s->row.bytes = (int64_t)head_len;
	atomic_fetch_add(&n_bytes, head_len);
	log_debug("archive", "%s: writing %s from run frame %lld", s->sid, s->path,
		  (long long)first);
	return 0;
}

/* The granule of the last page in the n bytes of whole pages at p. */
static int64_t last_granule(const uint8_t *p, size_t n)
{
	int64_t g = -1;
	size_t len;

	while (n > 0 && oggmux_page_info(p, n, &len, NULL, &g) == TT_OK) {
		p += len;
		n -= len;
	}
	return g;
}

/* Muxes p into the open file ending at granule (eos: the file's last). */
static void mux(archive_sess *s, const packet *p, bool eos, int64_t granule)
{
	size_t n = 0;
	int rc = oggmux_push(s->mux, p->data, p->len, granule, eos, A.out, OGGMUX_MAX_PUSH_OUT, &n);

	if (rc != TT_OK) {
		give_up(s, "mux a packet into", s->path, tt_strerror(rc));
		return;
	}
	if (n == 0)
		return;
	if (write_all(s->fd, A.out, n) != 0) {
		give_up(s, "write", s->path, strerror(errno));
		return;
	}
	s->row.bytes += (int64_t)n;
	s->row.last_frame = last_granule(A.out, n) - s->pre_skip;
	atomic_fetch_add(&n_bytes, n);
}

/* Closes the open file after its EOS page and completes its row. */
static void close_file(archive_sess *s)
{
	int rc = close(s->fd);

	s->fd = -1;
	oggmux_free(s->mux);
	s->mux = NULL;
	if (rc != 0) {
		give_up(s, "close", s->path, strerror(errno));
		return;
	}
	if (store_archive_finish(A.st, s->row.id, s->row.last_frame, wall_ms(), s->row.bytes) !=
	    TT_OK) {
		give_up(s, "index", s->path, store_errmsg(A.st));
		return;
	}
	atomic_fetch_add(&n_files, 1);
	log_info("archive", "%s: %s: run frames %lld..%lld (%.1f s), %lld bytes", s->sid,
		 s->row.path, (long long)s->row.first_frame, (long long)s->row.last_frame,
		 (double)(s->row.last_frame - s->row.first_frame) / RATE,
		 (long long)s->row.bytes);
}

/* Ends the file with the held packet, whole (the run ended, or a gap). */
static void finish(archive_sess *s)
{
	if (!s->have_held || atomic_load(&s->failed))
		return;
	if (s->fd < 0 && open_file(s, s->held.frame + s->pre_skip) != 0)
		return;
	mux(s, &s->held, true, s->held.granule);
	if (!atomic_load(&s->failed))
		close_file(s);
	s->have_held = false;
}

/* The writer holds back one packet so that a file can end on it with a
 * trimmed EOS granule and the next file start with it (invariant 3). */
static void on_packet(archive_sess *s, const item *it)
{
	packet *h = &s->held;

	if (atomic_load(&s->failed))
		return;
	if (s->have_held) {
		int64_t samples = h->granule - h->frame - s->pre_skip;
		int64_t cut = h->frame + s->pre_skip; /* audible from here in a new file */

		if (it->frame != h->frame + samples) {
			finish(s); /* a gap: this file ends where the sound stopped */
		} else {
			if (s->fd < 0 && open_file(s, cut) != 0)
				return;
			if (cut - s->row.first_frame >= (int64_t)A.rotate_s * RATE) {
				mux(s, h, true, cut + s->pre_skip);
				if (atomic_load(&s->failed))
					return;
				close_file(s);
				if (atomic_load(&s->failed) || open_file(s, cut) != 0)
					return;
			}
			mux(s, h, false, h->granule);
			if (atomic_load(&s->failed))
				return;
		}
	}
	h->frame = it->frame;
	h->granule = it->granule;
	h->len = it->len;
	memcpy(h->data, it->data, it->len);
	s->have_held = true;
}

static void on_close(archive_sess *s)
{
	finish(s);
	if (s->fd >= 0) /* not expected: an open file always has a held packet */
		close(s->fd);
	oggmux_free(s->mux);
	free(s->close_item);
	free(s);
}

/* ---- the writer thread: crash recovery and retention ---- */

typedef struct rows {
	store_archive_file f[ROWS_PER_PASS];
	int n;
} rows;

static int collect(const store_archive_file *f, void *ctx)
{
	rows *r = ctx;
	r->f[r->n++] = *f;
	return r->n == ROWS_PER_PASS;
}

/* Whether a stored path stays inside the archive directory. */
static int rel_path_ok(const char *p)
{
	return p[0] && p[0] != '/' && !strstr(p, "..");
}

/* Whether the whole page p (len bytes) carries its own CRC (Ogg's CRC-32:
 * polynomial 0x04c11db7, MSB first, computed with the CRC field zero).
 * Bit by bit: it only runs on files a crash left behind. */
static int page_crc_ok(uint8_t *p, size_t len)
{
	uint32_t want = (uint32_t)p[22] | (uint32_t)p[23] << 8 | (uint32_t)p[24] << 16 |
			(uint32_t)p[25] << 24, crc = 0;

	memset(p + 22, 0, 4);
	for (size_t i = 0; i < len; i++) {
		crc ^= (uint32_t)p[i] << 24;
		for (int b = 0; b < 8; b++)
			crc = crc & 0x80000000u ? crc << 1 ^ 0x04c11db7u : crc << 1;
	}
	return crc == want;
}

/* The end of the last whole, intact page of the file (what a decoder can
 * use), its granule, and the pre-skip of its OpusHead. buf holds
 * OGGMUX_MAX_PAGE bytes. */
static int64_t scan_pages(int fd, int64_t size, uint8_t *buf, int64_t *granule, int *pre_skip)
{
	int64_t off = 0;

	*granule = -1;
	for (int page = 0; off + 27 <= size; page++) {
		ssize_t k = pread(fd, buf, 27 + 255, off);
		size_t len, body = 0;

		if (k < 27 || memcmp(buf, "OggS", 4) != 0 || k < 27 + buf[26])
			break;
		for (int i = 0; i < buf[26]; i++)
			body += buf[27 + i];
		len = 27 + buf[26] + body;
		if (off + (int64_t)len > size || pread(fd, buf, len, off) != (ssize_t)len ||
		    !page_crc_ok(buf, len))
			break;
		if (page == 0 && body >= 12)
			*pre_skip = buf[27 + buf[26] + 10] | buf[27 + buf[26] + 11] << 8;
		if (page >= 2) {
			uint64_t g = 0;
			for (int i = 7; i >= 0; i--)
				g = g << 8 | buf[6 + i];
			*granule = (int64_t)g;
		}
		off += (int64_t)len;
	}
	return off;
}

/* Completes a row a crash left open, from its file (invariant 5). */
static void recover_row(const store_archive_file *f)
{
	char path[PATH_MAX + STORE_ARCHIVE_PATH];
	int64_t end, granule, ended;
	int pre_skip = 312, fd = -1;
	struct stat st;

	snprintf(path, sizeof path, "%s/%s", A.dir, f->path);
	if (!rel_path_ok(f->path) || (fd = open(path, O_RDWR | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) != 0) {
		log_warn("archive", "%s left open by a crash is gone (%s): its row is removed",
			 path, strerror(errno));
		if (fd >= 0)
			close(fd);
		store_archive_delete(A.st, f->id);
		return;
	}
	end = scan_pages(fd, (int64_t)st.st_size, A.out, &granule, &pre_skip);
	/* A torn last page would stop a decoder: the file keeps whole pages. */
	if (end < (int64_t)st.st_size && ftruncate(fd, (off_t)end) != 0)
		log_warn("archive", "%s: cannot cut its torn last page: %s", path, strerror(errno));
	close(fd);
	ended = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
	if (ended < f->started_ms)
		ended = f->started_ms;
	if (store_archive_finish(A.st, f->id, granule >= 0 ? granule - pre_skip : f->first_frame,
				 ended > 0 ? ended : 1, end) != TT_OK)
		log_warn("archive", "%s: cannot complete its row: %s", path, store_errmsg(A.st));
	else
		log_info("archive", "completed %s, left open by a crash: %lld bytes", path,
			 (long long)end);
}

static void recover(void)
{
	static rows r;

	do {
		r.n = 0;
		if (store_archive_list_open(A.st, collect, &r) < 0) {
			log_warn("archive", "cannot list unfinished files: %s", store_errmsg(A.st));
			return;
		}
		for (int i = 0; i < r.n; i++)
			recover_row(&r.f[i]);
	} while (r.n == ROWS_PER_PASS);
}

/* --archive-keep-days: deletes files (and rows) that ended before then. */
static void expire(void)
{
	static rows r;
	int64_t before = wall_ms() - (int64_t)A.keep_days * 86400 * 1000;

	do {
		r.n = 0;
		if (store_archive_list_before(A.st, before, collect, &r) < 0) {
			log_warn("archive", "cannot list old files: %s", store_errmsg(A.st));
			return;
		}
		for (int i = 0; i < r.n; i++) {
			char path[PATH_MAX + STORE_ARCHIVE_PATH];
			snprintf(path, sizeof path, "%s/%s", A.dir, r.f[i].path);
			if (rel_path_ok(r.f[i].path) && unlink(path) != 0 && errno != ENOENT) {
				log_warn("archive", "cannot delete %s: %s", path, strerror(errno));
				return; /* kept with its row; tried again later */
			}
			if (store_archive_delete(A.st, r.f[i].id) != TT_OK)
				return;
			log_info("archive", "deleted %s (older than %d days)", path, A.keep_days);
		}
	} while (r.n == ROWS_PER_PASS);
}

static void *writer_main(void *arg)
{
	int64_t last_expiry = wall_ms();

	(void)arg;
	recover();
	if (A.keep_days)
		expire();
	for (;;) {
		struct timespec until;
		item *batch;
		size_t bytes = 0;
		int stopping, had;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 60;
		pthread_mutex_lock(&A.lock);
		while (!A.head && !A.stopping &&
		       pthread_cond_timedwait(&A.cond, &A.lock, &until) != ETIMEDOUT)
			;
		batch = A.head;
		had = batch != NULL;
		A.head = A.tail = NULL;
		stopping = A.stopping;
		pthread_mutex_unlock(&A.lock);
		while (batch) {
			item *it = batch;
			batch = it->next;
			if (it->kind == ITEM_CLOSE) {
				on_close(it->sess); /* frees it, the session's close item */
				continue;
			}
			on_packet(it->sess, it);
			bytes += sizeof *it + it->len;
			free(it);
		}
		pthread_mutex_lock(&A.lock);
		A.bytes -= bytes;
		pthread_mutex_unlock(&A.lock);
		if (A.keep_days && wall_ms() - last_expiry >= RETENTION_EVERY_MS) {
			expire();
			last_expiry = wall_ms();
		}
		if (stopping && !had)
			break;
	}
	return NULL;
}

/* ---- start and stop ---- */

/* mkdir -p. */
static int make_dirs(const char *path)
{
	char p[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof p)
		return -1;
	memcpy(p, path, n + 1);
	for (char *c = p + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			return -1;
		*c = '/';
	}
	return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

int archive_init(tt_app *app)
{
	const tt_config *cfg = &app->cfg;
	store_config sc;
	int rc;

	if (cfg->archive_dir[0]) {
		snprintf(A.dir, sizeof A.dir, "%s", cfg->archive_dir);
	} else {
		const char *slash = strrchr(cfg->db_path, '/');
		int k = slash ? (int)(slash - cfg->db_path) : 0;
		snprintf(A.dir, sizeof A.dir, "%.*s%sarchive", k, cfg->db_path, slash ? "/" : "");
	}
	A.rotate_s = cfg->archive_rotate_s;
	A.keep_days = cfg->archive_keep_days;
	if (!cfg->archive) {
		log_info("archive", "off (--no-archive); past files in %s are still served", A.dir);
		return TT_OK;
	}
	if (make_dirs(A.dir) != 0)
		log_error("archive", "cannot create the archive directory %s: %s; sessions will "
			  "not be archived (their streams go on)", A.dir, strerror(errno));
	else
		log_info("archive", "writing live streams to %s, a file per %d s of audio", A.dir,
			 A.rotate_s);
	store_config_default(&sc);
	sc.synchronous = STORE_SYNC_NORMAL; /* an index row may lag a power cut */
	rc = store_open(cfg->db_path, &sc, &A.st);
	if (rc != TT_OK) {
		log_error("archive", "cannot open %s for the archive's index: %s; no archive",
			  cfg->db_path, store_errmsg(A.st));
		store_close(A.st);
		A.st = NULL;
		return TT_OK;
	}
	A.out = malloc(OGGMUX_MAX_PUSH_OUT);
	if (!A.out) {
		store_close(A.st);
		A.st = NULL;
		return TT_ENOMEM;
	}
	A.stopping = 0;
	if (pthread_create(&A.thread, NULL, writer_main, NULL) != 0) {
		free(A.out);
		A.out = NULL;
		store_close(A.st);
		A.st = NULL;
		return TT_EIO;
	}
	A.on = 1;
	return TT_OK;
}

void archive_fini(void)
{
	if (!A.on)
		return;
	pthread_mutex_lock(&A.lock);
	A.stopping = 1;
	pthread_cond_signal(&A.cond);
	pthread_mutex_unlock(&A.lock);
	pthread_join(A.thread, NULL);
	A.on = 0;
	free(A.out);
	A.out = NULL;
	store_close(A.st);
	A.st = NULL;
}

/* ---- HTTP routes ---- */

static int add_file(const store_archive_file *f, void *ctx)
{
	char url[128], path[PATH_MAX + STORE_ARCHIVE_PATH];
	int64_t bytes = f->bytes;
	struct stat st;
	json_t *o;

	snprintf(url, sizeof url, "/api/sessions/%s/archive/%lld.ogg", f->session_id,
		 (long long)f->id);
	if (!f->ended_ms) { /* still being written: as far as it is */
		snprintf(path, sizeof path, "%s/%s", A.dir, f->path);
		if (rel_path_ok(f->path) && stat(path, &st) == 0)
			bytes = (int64_t)st.st_size;
	}
	o = json_pack("{s:I,s:o,s:I,s:I,s:f,s:I,s:o,s:I,s:b,s:s}", "id", (json_int_t)f->id, "run",
		      f->run_id ? json_integer(f->run_id) : json_null(), "first_frame",
		      (json_int_t)f->first_frame, "last_frame", (json_int_t)f->last_frame,
		      "seconds", (double)(f->last_frame - f->first_frame) / RATE, "started_ms",
		      (json_int_t)f->started_ms, "ended_ms",
		      f->ended_ms ? json_integer(f->ended_ms) : json_null(), "bytes",
		      (json_int_t)bytes, "open", f->ended_ms == 0, "url", url);
	return o && json_array_append_new(ctx, o) == 0 ? 0 : TT_ENOMEM;
}

enum MHD_Result archive_route_list(tt_app *app, const http_request *req)
{
	const char *why = "";
	store_session ss;
	json_t *arr;
	int rc;

	if (!auth_may_read(app, req->conn, req->param, &why))
		return http_reply_error(req->conn, MHD_HTTP_FORBIDDEN, "forbidden", "%s", why);
	arr = json_array();
	pthread_mutex_lock(&app->store_lock);
	rc = store_session_get(app->st, req->param, &ss);
	if (rc == TT_OK)
		rc = store_archive_list(app->st, ss.id, add_file, arr);
	pthread_mutex_unlock(&app->store_lock);
	if (rc == TT_ENOTFOUND) {
		json_decref(arr);
		return http_reply_error(req->conn, MHD_HTTP_NOT_FOUND, "not_found",
					"no session with id '%s'", req->param);
	}
	if (rc != TT_OK) {
		json_decref(arr);
		log_error("archive", "%s: database: %s", req->path, store_errmsg(app->st));
		return http_reply_error(req->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "database",
					"the database failed: %s", tt_strerror(rc));
	}
	return http_reply_json(req->conn, MHD_HTTP_OK, json_pack("{s:o}", "files", arr));
}

/* "12.ogg" -> 12; 0 when it is not a positive id followed by ".ogg". */
static int64_t parse_file_id(const char *seg)
{
	char *end;
	long long v;

	if (seg[0] < '0' || seg[0] > '9')
		return 0;
	errno = 0;
	v = strtoll(seg, &end, 10);
	return errno || v <= 0 || strcmp(end, ".ogg") != 0 ? 0 : (int64_t)v;
}

/* A single "Range: bytes=A-B", "A-" or "-N" against size: 1 with the span,
 * 0 when there is none (or several, answered whole as RFC 9110 allows),
 * -1 when it cannot be satisfied. */
static int parse_range(const char *h, int64_t size, int64_t *from, int64_t *len)
{
	long long a = -1, b = -1;
	char *end;

	if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
		return 0;
	h += 6;
	if (*h != '-') {
		a = strtoll(h, &end, 10);
		if (end == h || *end != '-' || a < 0)
			return -1;
		h = end;
	}
	h++;
	if (*h) {
		b = strtoll(h, &end, 10);
		if (*end || b < 0)
			return -1;
	}
	if (a < 0) { /* the last b bytes */
		if (b <= 0 || size == 0)
			return -1;
		a = b > size ? 0 : size - b;
		b = size - 1;
	} else if (b < 0 || b >= size) {
		b = size - 1;
	}
	if (a >= size || b < a)
		return -1;
	*from = a;
	*len = b - a + 1;
	return 1;
}

/* Answers the open file fd (size bytes; taken) whole or the request's
 * range of it, so that players can seek. */
static enum MHD_Result send_file(struct MHD_Connection *c, int fd, int64_t size,
				 const store_archive_file *f)
{
	char disp[STORE_ARCHIVE_PATH + 64], range[96];
	const char *base = strrchr(f->path, '/');
	int64_t from = 0, len = size;
	int k = parse_range(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE),
			    size, &from, &len);
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (k < 0) {
		close(fd);
		snprintf(range, sizeof range, "bytes */%lld", (long long)size);
		return http_reply_json_hdr(c, MHD_HTTP_RANGE_NOT_SATISFIABLE,
					   http_error_body(MHD_HTTP_RANGE_NOT_SATISFIABLE, "bad_range",
							   "the file has %lld bytes; the Range "
							   "asks for others", (long long)size),
					   MHD_HTTP_HEADER_CONTENT_RANGE, range);
	}
	r = MHD_create_response_from_fd_at_offset64((uint64_t)len, fd, (uint64_t)from);
	if (!r) {
		close(fd);
		return MHD_NO;
	}
	snprintf(disp, sizeof disp, "inline; filename=\"%s-%s\"", f->session_id,
		 base ? base + 1 : f->path);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "audio/ogg");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disp);
	MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	MHD_add_response_header(r, MHD_HTTP_HEADER_X_CONTENT_TYPE_OPTIONS, "nosniff");
	MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
	if (k > 0) {
		snprintf(range, sizeof range, "bytes %lld-%lld/%lld", (long long)from,
			 (long long)(from + len - 1), (long long)size);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, range);
	}
	ret = MHD_queue_response(c, k > 0 ? MHD_HTTP_PARTIAL_CONTENT : MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result archive_route_file(tt_app *app, const http_request *req)
{
	char path[PATH_MAX + STORE_ARCHIVE_PATH];
	const char *why = "";
	int64_t id = parse_file_id(req->param2);
	store_archive_file f;
	struct stat st;
	int rc = TT_ENOTFOUND, fd;

	if (!auth_may_read(app, req->conn, req->param, &why))
		return http_reply_error(req->conn, MHD_HTTP_FORBIDDEN, "forbidden", "%s", why);
	if (id) {
		pthread_mutex_lock(&app->store_lock);
		rc = store_archive_get(app->st, id, &f);
		pthread_mutex_unlock(&app->store_lock);
	}
	if (rc == TT_OK &&
	    (strcmp(f.session_id, req->param) != 0 || !rel_path_ok(f.path) || !A.dir[0]))
		rc = TT_ENOTFOUND;
	if (rc != TT_OK)
		return http_reply_error(req->conn, MHD_HTTP_NOT_FOUND, "not_found",
					"no archive file '%s' in session '%s' (see "
					"/api/sessions/%s/archive)", req->param2, req->param,
					req->param);
	snprintf(path, sizeof path, "%s/%s", A.dir, f.path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return http_reply_error(req->conn, MHD_HTTP_NOT_FOUND, "not_found",
					"archive file %lld is indexed but its file %s is gone",
					(long long)id, f.path);
	}
	/* A file still being written is served as far as it is written. */
	return send_file(req->conn, fd, (int64_t)st.st_size, &f);
}
