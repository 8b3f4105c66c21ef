/* server/backup.c: see backup.h. */
#include "server/backup.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

static const char usage[] =
	"usage: tuttid backup --db FILE -o OUT\n"
	"  copies the database FILE to OUT with SQLite's online backup, safe while\n"
	"  tuttid is running; OUT must not exist\n";

/* How long the copy waits for a lock another connection holds (a
 * checkpoint, a migration), as the server's own handles do. */
#define BACKUP_BUSY_MS 5000

static int fail(const char *what, sqlite3 *db)
{
	fprintf(stderr, "tuttid backup: %s: %s\n", what, db ? sqlite3_errmsg(db) : "out of memory");
	return 1;
}

/* PRAGMA integrity_check on path: 0 when "ok". */
static int check(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int rc = 1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(s, 0);
		rc = r && strcmp(r, "ok") == 0 ? 0 : 1;
		if (rc)
			fprintf(stderr, "tuttid backup: the copy fails integrity_check: %s\n",
				r ? r : "?");
	} else {
		fail("checking the copy", db);
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return rc;
}

static int copy(const char *from, const char *to)
{
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *b;
	int rc = 1, step;

	/* Read-write without create: a missing FILE is an error, and SQLite
	 * may recover a WAL left by a crash; the copy itself only reads. */
	if (sqlite3_open_v2(from, &src, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		fail(from, src);
		goto out;
	}
	sqlite3_busy_timeout(src, BACKUP_BUSY_MS);
	if (sqlite3_open_v2(to, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		fail(to, dst);
		goto out;
	}
	if (!(b = sqlite3_backup_init(dst, "main", src, "main"))) {
		fail("starting the backup", dst);
		goto out;
	}
	/* All pages in one step: one read transaction, so one snapshot. */
	do {
		step = sqlite3_backup_step(b, -1);
		if (step == SQLITE_BUSY || step == SQLITE_LOCKED)
			sqlite3_sleep(50);
	} while (step == SQLITE_OK || step == SQLITE_BUSY || step == SQLITE_LOCKED);
	sqlite3_backup_finish(b);
	if (step != SQLITE_DONE) {
		fprintf(stderr, "tuttid backup: copying %s: %s\n", from, sqlite3_errstr(step));
		goto out;
	}
	rc = 0;
out:
	sqlite3_close(src);
	sqlite3_close(dst);
	return rc;
}

int backup_main(int argc, char **argv)
{
	const char *from = NULL, *to = NULL;
	char tmp[PATH_MAX];
	struct stat st;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return 0;
		}
		if (i + 1 < argc && strcmp(argv[i], "--db") == 0)
			from = argv[++i];
		else if (i + 1 < argc && (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--out") == 0))
			to = argv[++i];
		else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!from || !to) {
		fputs(usage, stderr);
		return 2;
	}
	if (stat(to, &st) == 0) {
		fprintf(stderr, "tuttid backup: %s exists; choose a new file\n", to);
		return 1;
	}
	if (snprintf(tmp, sizeof tmp, "%s.tmp", to) >= (int)sizeof tmp) {
		fprintf(stderr, "tuttid backup: %s: path too long\n", to);
		return 2;
	}
	unlink(tmp);
	if (copy(from, tmp) != 0 || check(tmp) != 0) {
		unlink(tmp);
		return 1;
	}
	if (rename(tmp, to) != 0) {
		fprintf(stderr, "tuttid backup: %s: %s\n", to, strerror(errno));
		unlink(tmp);
		return 1;
	}
	printf("backed up %s to %s (integrity_check: ok)\n", from, to);
	return 0;
}
