/*
 * server/backup.h: `tuttid backup --db FILE -o OUT`, a consistent copy of
 * a live database through SQLite's online backup API.
 *
 * Safe while tuttid runs: in WAL mode the copy reads one snapshot while
 * the server keeps writing (readers do not block the writer, nor it them),
 * so the copy holds every transaction committed before it started and
 * none after, never half of one. The copy is written to OUT.tmp, checked
 * with PRAGMA integrity_check, then renamed to OUT, so OUT is complete or
 * absent. OUT must not exist already.
 */
#ifndef TT_SERVER_BACKUP_H
#define TT_SERVER_BACKUP_H

/* argv[0] is "backup". Returns the process exit status (0, 1 failed,
 * 2 usage). */
int backup_main(int argc, char **argv);

#endif
