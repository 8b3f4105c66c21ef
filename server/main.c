/*
 * server/main.c: tuttid, the tutti server.
 *
 * Start-up order: settings, the database (created and migrated on first
 * start), the WebSocket loop, then the HTTP daemon; shutdown (SIGTERM or
 * SIGINT) runs the same steps in reverse so that every connection gets a
 * close frame and the database is closed cleanly. Signals are blocked in
 * every thread and taken by sigwait in the main thread.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/error.h"
#include "server/accounts.h"
#include "server/app.h"
#include "server/backup.h"
#include "server/http.h"
#include "server/log.h"
#include "server/demo.h"
#include "server/editing.h"
#include "server/hub.h"
#include "server/loop.h"
#include "server/osc.h"
#include "server/session.h"
#include "server/writer.h"
#include "server/ws_conn.h"

int64_t app_now_ms(void)
{
	return loop_now_ms();
}

/* Creates the directories above path ("./var" for "./var/tutti.db"). */
static int make_parent_dirs(const char *path)
{
	char dir[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof dir)
		return TT_EINVAL;
	memcpy(dir, path, n + 1);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			return TT_EIO;
		*p = '/';
	}
	return TT_OK;
}

static int open_store(tt_app *app)
{
	store_config sc;
	int rc;

	if (make_parent_dirs(app->cfg.db_path) != TT_OK) {
		log_error("main", "cannot create the directory of %s: %s", app->cfg.db_path,
			  strerror(errno));
		return TT_EIO;
	}
	store_config_default(&sc);
	app->store_cfg = sc; /* the writer's: acknowledged edits are fsynced */
	/* The loop and HTTP threads' own writes (sessions, evaluations, tempo,
	 * chat, tokens) commit without waiting for an fsync: the loop also
	 * feeds the audio to every client and must not stall on the disk.
	 * In WAL mode they still survive a crash of tuttid, not a power cut. */
	sc.synchronous = STORE_SYNC_NORMAL;
	rc = store_open(app->cfg.db_path, &sc, &app->st);
	if (rc != TT_OK) {
		log_error("main", "cannot open database %s: %s (%s)", app->cfg.db_path,
			  store_errmsg(app->st), tt_strerror(rc));
		store_close(app->st);
		app->st = NULL;
		return rc;
	}
	log_info("main", "database %s (schema version %d)", app->cfg.db_path,
		 store_schema_version());
	return TT_OK;
}

/* Loop thread, at shutdown: connections first (each gets 1001), then the
 * writer (it commits what is queued), then the memory of the sessions. */
static void shutdown_loop(void *arg)
{
	tt_app *app = arg;

	ws_conn_close_all(app);
	writer_stop(app->writer);
	app->writer = NULL;
	sessions_free_all();
}

static int wait_for_signal(void)
{
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigwait(&set, &sig);
	return sig;
}

int main(int argc, char **argv)
{
	tt_app app;
	char err[PATH_MAX + 256];
	int exit_now = 0, rc = 1;
	sigset_t set;

	if (argc > 1 && strcmp(argv[1], "backup") == 0)
		return backup_main(argc - 1, argv + 1); /* server/backup.h */
	memset(&app, 0, sizeof app);
	config_default(&app.cfg);
	if (config_from_args(&app.cfg, argc, argv, &exit_now, err, sizeof err) != TT_OK) {
		fprintf(stderr, "tuttid: %s\n", err);
		return 2;
	}
	if (exit_now)
		return 0;
	log_set_level(app.cfg.level);

	/* Every thread created from here on inherits the blocked signals. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	app.started_ms = app_now_ms();
	pthread_mutex_init(&app.store_lock, NULL);
	if (open_store(&app) != TT_OK)
		goto out;
	if (app.cfg.demo)
		demo_seed(&app); /* a failure is logged; the server runs without it */
	accounts_first_start(&app); /* a failure is logged; log in is then impossible */
	if (accounts_start(&app) != TT_OK)
		goto out;
	if (loop_start(&app.loop, ws_conn_tick, &app, 1000) != TT_OK) {
		log_error("main", "cannot start the event loop");
		goto out;
	}
	if (hub_init(&app) != TT_OK)
		goto out;
	if (writer_start(app.cfg.db_path, &app.store_cfg, app.loop, editing_on_commit, &app,
			 &app.writer, err, sizeof err) != TT_OK) {
		log_error("main", "%s", err);
		goto out;
	}
	if (app.cfg.osc_session[0] && osc_start(&app, &app.osc, err, sizeof err) != TT_OK) {
		log_error("main", "%s", err);
		goto out;
	}
	if (http_start(&app, &app.http, err, sizeof err) != TT_OK) {
		log_error("main", "%s", err);
		goto out;
	}
	log_info("main", "tuttid %s listening on %s://%s%s%s:%d/", PACKAGE_VERSION,
		 app.cfg.tls_cert[0] ? "https" : "http",
		 strchr(app.cfg.listen_host, ':') ? "[" : "", app.cfg.listen_host,
		 strchr(app.cfg.listen_host, ':') ? "]" : "", http_port(app.http));
	int sig = wait_for_signal();
	log_info("main", "%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	rc = 0;
out:
	/* Connections first: libmicrohttpd wants upgraded sockets closed
	 * before its daemon stops. */
	accounts_stop(); /* resumes the logins it holds suspended */
	osc_stop(app.osc); /* posts to the loop: stops before it */
	if (app.loop)
		loop_stop(app.loop, shutdown_loop, &app);
	osc_free(app.osc);
	http_stop(app.http);
	hub_fini();
	store_close(app.st);
	pthread_mutex_destroy(&app.store_lock);
	if (rc == 0)
		log_info("main", "stopped cleanly");
	return rc;
}
