/*
 * tests/storage/test_store_crash.c: no committed write is ever lost, and the
 * database is never damaged, when the writing process is killed.
 *
 * The parent re-executes this program as a child ("child PATH FD SYNC") on
 * one database file. The child appends ops through the real store API in a
 * loop (plain batches and group commits) and, only after each commit has
 * returned, writes the committed revisions to a pipe: exactly what the
 * server will do before acknowledging an edit. The parent reads the pipe,
 * SIGKILLs the child after a random delay of 2 to 40 ms (seeded: TT_SEED,
 * printed), drains what the child reported before dying, and then:
 *  - PRAGMA integrity_check through plain SQLite must answer "ok";
 *  - every reported revision must be stored, with its exact text;
 *  - the document holds revisions 1..head, each once, and at most one
 *    unreported batch beyond the last report (killed between commit and
 *    report);
 * then starts the next child on the same file, alternating synchronous FULL
 * and NORMAL (both must survive a process crash; only FULL survives power
 * loss, which a test cannot pull).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "storage/store.h"
#include "tests/tap.h"

#include <sqlite3.h>

#define KILLS 25
#define MAX_BATCH 8 /* ops per store_ops_append call */
#define MAX_UNREPORTED (2 * MAX_BATCH) /* a group holds two batches */

/* The text of op revision r: its number and a length that varies. */
static size_t op_text(int64_t r, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "{\"r\":%lld,\"pad\":\"%.*s\"}", (long long)r,
			 (int)(r % 61), "0123456789012345678901234567890123456789"
			 "012345678901234567890");
	return (size_t)n;
}

/* ---- child ---- */

static int first_session(const store_session *s, void *ctx)
{
	*(store_session *)ctx = *s;
	return 1;
}

/* The one session and document of the test, created by the first child. */
static int child_setup(store *st, store_doc *d)
{
	store_session s;
	int rc;

	memset(&s, 0, sizeof s);
	rc = store_session_list(st, 1, first_session, &s);
	if (rc == TT_OK)
		rc = store_session_create(st, "crash", &s);
	else if (rc == 1)
		rc = TT_OK;
	if (rc != TT_OK)
		return rc;
	rc = store_doc_find(st, s.id, "d", d);
	if (rc == TT_ENOTFOUND)
		rc = store_doc_create(st, s.id, "d", d);
	return rc;
}

static int append_batch(store *st, int64_t doc, int64_t first, int k,
			char texts[][128])
{
	store_op ops[MAX_BATCH];
	int i;

	memset(ops, 0, sizeof ops); /* fields not set here mean "none" */
	for (i = 0; i < k; i++) {
		ops[i].doc_id = doc;
		ops[i].revision = first + i;
		ops[i].time_ms = first + i;
		ops[i].author = "child";
		ops[i].op = texts[i];
		ops[i].op_len = op_text(first + i, texts[i], 128);
	}
	return store_ops_append(st, ops, (size_t)k, NULL);
}

/* One commit of k ops (a plain batch) or of two batches in a group. */
static int commit_some(store *st, int64_t doc, int64_t head, int group,
		       int k)
{
	char texts[MAX_BATCH][128];
	int rc;

	if (!group)
		return append_batch(st, doc, head + 1, k, texts);
	if ((rc = store_tx_begin(st)) != TT_OK)
		return rc;
	rc = append_batch(st, doc, head + 1, k, texts);
	if (rc == TT_OK)
		rc = append_batch(st, doc, head + 1 + k, k, texts);
	if (rc != TT_OK) {
		store_tx_rollback(st);
		return rc;
	}
	return store_tx_commit(st);
}

static int child_main(const char *path, int fd, int sync, unsigned seed)
{
	store_config cfg;
	store *st = NULL;
	store_doc d;
	int64_t revs[MAX_UNREPORTED], head;
	int i, k, n, group;

	store_config_default(&cfg);
	cfg.synchronous = sync ? STORE_SYNC_FULL : STORE_SYNC_NORMAL;
	if (store_open(path, &cfg, &st) != TT_OK || child_setup(st, &d) != TT_OK) {
		fprintf(stderr, "child: %s\n", store_errmsg(st));
		return 2;
	}
	srand(seed);
	for (head = d.revision;;) {
		k = 1 + rand() % MAX_BATCH;
		group = rand() % 3 == 0;
		if (commit_some(st, d.id, head, group, k) != TT_OK) {
			fprintf(stderr, "child: %s\n", store_errmsg(st));
			return 3;
		}
		/* Committed: only now may it be reported (acknowledged). */
		n = group ? 2 * k : k;
		for (i = 0; i < n; i++)
			revs[i] = head + 1 + i;
		if (write(fd, revs, (size_t)n * sizeof revs[0]) !=
		    (ssize_t)(n * sizeof revs[0]))
			return 4;
		head += n;
	}
}

/* ---- parent ---- */

typedef struct reported {
	int64_t max;   /* the highest revision reported */
	int64_t count; /* how many reports */
	int64_t bad;   /* reports out of sequence */
	unsigned char rem[sizeof(int64_t)];
	size_t remlen;
} reported;

static void take(reported *r, const unsigned char *p, size_t n)
{
	int64_t v;

	while (n > 0) {
		size_t c = sizeof r->rem - r->remlen < n ? sizeof r->rem - r->remlen : n;

		memcpy(r->rem + r->remlen, p, c);
		r->remlen += c;
		p += c;
		n -= c;
		if (r->remlen == sizeof r->rem) {
			memcpy(&v, r->rem, sizeof v);
			/* Revisions are committed in order, so each report
			 * extends the last one (or repeats nothing). */
			if (v <= r->max)
				r->bad++;
			r->max = v > r->max ? v : r->max;
			r->count++;
			r->remlen = 0;
		}
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads reports until deadline (ms, monotonic) or, with deadline < 0, EOF. */
static void read_reports(int fd, reported *r, int64_t deadline)
{
	unsigned char buf[4096];
	struct pollfd p = { fd, POLLIN, 0 };
	ssize_t got;
	int wait;

	for (;;) {
		wait = deadline < 0 ? 1000 : (int)(deadline - now_ms());
		if (deadline >= 0 && wait <= 0)
			return;
		if (poll(&p, 1, wait) <= 0)
			continue;
		got = read(fd, buf, sizeof buf);
		if (got == 0 || (got < 0 && errno != EINTR))
			return;
		if (got > 0)
			take(r, buf, (size_t)got);
	}
}

/* Reads reports until there are more than before, or the deadline. */
static void read_until_report(int fd, reported *r, int64_t before, int64_t deadline)
{
	while (r->count <= before && now_ms() < deadline)
		read_reports(fd, r, now_ms() + 5 < deadline ? now_ms() + 5 : deadline);
}

/* PRAGMA integrity_check through plain SQLite, not the store. */
static int integrity_ok(const char *path, char *msg, size_t cap)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int good = 0;

	snprintf(msg, cap, "cannot open");
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW) {
		snprintf(msg, cap, "%s", (const char *)sqlite3_column_text(s, 0));
		good = strcmp(msg, "ok") == 0;
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return good;
}

typedef struct walk {
	int64_t next;   /* the revision expected next */
	int64_t wrong;  /* ops whose revision or text is not as written */
} walk;

static int check_op(const store_op *op, void *ctx)
{
	walk *w = ctx;
	char want[128];
	size_t n = op_text(op->revision, want, sizeof want);

	if (op->revision != w->next || op->op_len != n ||
	    memcmp(op->op, want, n) != 0)
		w->wrong++;
	w->next = op->revision + 1;
	return 0;
}

static int first_doc(const store_session *s, void *ctx)
{
	store *st = ((void **)ctx)[0];

	return store_doc_find(st, s->id, "d", ((void **)ctx)[1]) == TT_OK ? 1 : 2;
}

/* After a kill: the stored ops are 1..head, hold every report, and go at
 * most one unreported commit beyond what this child was known to start
 * from: the last report, or the head the previous check found (a child
 * killed before its first report leaves the previous child's unreported
 * commit below its own). *start is updated to this check's head. */
static void check_store(const char *path, const reported *r, int run, int64_t *start)
{
	store *st = NULL;
	store_doc d;
	void *ctx[2] = { NULL, &d };
	walk w = { 1, 0 };
	int rc;

	memset(&d, 0, sizeof d);
	rc = store_open(path, NULL, &st);
	ctx[0] = st;
	if (rc == TT_OK && store_session_list(st, 1, first_doc, ctx) != 1)
		d.id = 0; /* killed before the document was created */
	if (rc == TT_OK && d.id)
		rc = store_ops_since(st, d.id, 0, check_op, &w);
	ok(rc == TT_OK && d.revision >= r->max, "run %d: every reported write "
	   "is there (head %lld, reported %lld)", run, (long long)d.revision,
	   (long long)r->max);
	int64_t known = r->max > *start ? r->max : *start;
	ok(w.wrong == 0 && w.next == d.revision + 1 &&
	   d.revision - known <= MAX_UNREPORTED, "run %d: ops are exactly "
	   "1..head with their text, at most one unreported commit beyond", run);
	if (rc != TT_OK)
		printf("# %s\n", store_errmsg(st));
	*start = d.revision;
	store_close(st);
}

static pid_t start_child(const char *self, const char *path, int fd, int run,
			 unsigned seed)
{
	char fdstr[16], sync[4], seedstr[16];
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	snprintf(fdstr, sizeof fdstr, "%d", fd);
	snprintf(sync, sizeof sync, "%d", run % 2 == 0);
	snprintf(seedstr, sizeof seedstr, "%u", seed + (unsigned)run);
	execl(self, self, "child", path, fdstr, sync, seedstr, (char *)NULL);
	_exit(127);
}

/* One child's life: start, read reports, kill at a random moment, drain. */
static int one_run(const char *self, const char *path, int run, unsigned seed,
		   reported *r)
{
	int fds[2], status = 0;
	int delay = 2 + rand() % 39;
	pid_t pid;

	if (pipe(fds) != 0)
		return -1;
	pid = start_child(self, path, fds[1], run, seed);
	close(fds[1]);
	/* The random delay starts at the child's first commit, so every run
	 * kills a child that is committing, however slowly it started (ASan,
	 * a loaded machine). */
	int64_t before = r->count;
	read_until_report(fds[0], r, before, now_ms() + 10000);
	read_reports(fds[0], r, now_ms() + delay);
	kill(pid, SIGKILL);
	read_reports(fds[0], r, -1);
	close(fds[0]);
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	   "run %d: child killed after %d ms while committing", run, delay);
	return 0;
}

int main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR"), *s = getenv("TT_SEED");
	char dir[256], path[300], msg[256], cmd[320];
	unsigned seed = s ? (unsigned)strtoul(s, NULL, 10) : (unsigned)time(NULL);
	reported r;
	int run;

	if (argc == 6 && strcmp(argv[1], "child") == 0)
		return child_main(argv[2], (int)strtol(argv[3], NULL, 10),
				  argv[4][0] == '1',
				  (unsigned)strtoul(argv[5], NULL, 10));
	printf("# seed %u (set TT_SEED to repeat)\n", seed);
	srand(seed);
	snprintf(dir, sizeof dir, "%s/tt-crash-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	snprintf(path, sizeof path, "%s/crash.db", dir);
	memset(&r, 0, sizeof r);
	int64_t start = 0;
	for (run = 0; run < KILLS; run++) {
		if (one_run("/proc/self/exe", path, run, seed, &r) != 0)
			break;
		ok(integrity_ok(path, msg, sizeof msg),
		   "run %d: integrity_check says %s", run, msg);
		check_store(path, &r, run, &start);
	}
	is_int(r.bad, 0, "reports came in commit order");
	ok(r.count > 100, "the children committed and reported %lld ops",
	   (long long)r.count);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (!getenv("TT_KEEP_TMP") && system(cmd) != 0)
		tap_diag("could not remove the temporary directory");
	return tap_done();
}
