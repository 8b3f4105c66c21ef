/*
 * server/session.h: live sessions on the event loop: who is in each
 * session, which of its documents are loaded, and broadcasts to members.
 *
 * A live_session exists while the server runs and is made on first use
 * from the store; a connection is a member of at most one session at a
 * time (joining another leaves the first). Members are rpc_states, linked
 * through rs->next_member.
 *
 * Threads: the loop thread only.
 */
#ifndef TT_SERVER_SESSION_H
#define TT_SERVER_SESSION_H

#include <jansson.h>

#include "storage/store.h"

typedef struct tt_app tt_app;
typedef struct rpc_state rpc_state;
typedef struct live_doc live_doc;
typedef struct live live;
typedef struct oggmux oggmux;
typedef struct stream_ring stream_ring;
typedef struct track_table track_table;
typedef struct pending_eval pending_eval;
typedef struct icecast_out icecast_out;
typedef struct archive_sess archive_sess;

typedef struct live_session {
	char id[STORE_ID_LEN + 1];
	char name[TT_MAX_SESSION_NAME + 1];
	rpc_state *members;
	int n_members;
	live_doc *docs;           /* loaded documents, see server/editing.c */

	/* The sound (server/hub.c, server/evaluate.c); audio NULL until the
	 * session is started. */
	live *audio;
	oggmux *mux;              /* packets -> Ogg pages for listeners */
	stream_ring *ogg;         /* GET /s/{id}/live.ogg */
	stream_ring *events;      /* GET /s/{id}/events */
	icecast_out *icecast;     /* --icecast: the same pages to Icecast */
	archive_sess *archive;    /* the same packets to disk (server/archive.h) */
	track_table *table;       /* the newest table sent to the render thread */
	track_table *installed;   /* the one it plays (read-only here) */
	int64_t in_flight;        /* token of the table not yet reported, or 0 */
	pending_eval *evals;      /* waiting for their turn or their landing */
	double cps;               /* tempo as last reported */
	int64_t run_id;           /* this life of the render thread (store runs
				   * table), 0 while audio is NULL */
	int64_t run_start_frame;  /* where its frame 0 sits on the session's clock */
	int64_t run_saved_frame;  /* the run progress last stored */
	int pcm_fd;               /* --capture-pcm: the run's file, or -1 */
	pending_eval *controls;   /* hush/mute/solo sent, not yet applied */
	struct perf_budget *budgets; /* flood windows per performer (rpc.c) */
	size_t n_budgets;
	int last_listeners;       /* the count performers were last told */
	struct live_session *next;
} live_session;

/* Every live session, for the hub's periodic drain. Loop thread. */
live_session *session_all(void);

/* The live session with this id, made from the store on first use; NULL
 * with *rc TT_ENOTFOUND (no such session) or a store error. */
live_session *session_get(tt_app *app, const char *id, int *rc);

/* Makes rs a member with role (leaving its previous session) and tells
 * the others. */
void session_join(live_session *s, rpc_state *rs, store_role role);
/* Leaves rs's session, if any, and tells the others; closes its docs. */
void session_leave(rpc_state *rs);

/* Sends msg (borrowed) to every member but except (may be NULL). */
void session_broadcast(live_session *s, json_t *msg, const rpc_state *except);

/* {"user", "name", "color"} of a member. */
json_t *session_member_json(const rpc_state *rs);

/* Frees every live session and its documents (at shutdown, after the
 * connections are gone and the writer has stopped). */
void sessions_free_all(void);

#endif
