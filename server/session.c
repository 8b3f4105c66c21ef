/* server/session.c: see session.h. */
#include "server/session.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "server/app.h"
#include "server/editing.h"
#include "server/hub.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/rpc.h"
#include "server/ws_conn.h"

static live_session *all_sessions;

live_session *session_all(void)
{
	return all_sessions;
}

live_session *session_get(tt_app *app, const char *id, int *rc)
{
	store_session ss;
	live_session *s;

	for (s = all_sessions; s; s = s->next)
		if (strcmp(s->id, id) == 0) {
			*rc = TT_OK;
			return s;
		}
	pthread_mutex_lock(&app->store_lock);
	*rc = store_session_get(app->st, id, &ss);
	pthread_mutex_unlock(&app->store_lock);
	if (*rc != TT_OK)
		return NULL;
	s = calloc(1, sizeof *s);
	if (!s) {
		*rc = TT_ENOMEM;
		return NULL;
	}
	memcpy(s->id, ss.id, sizeof s->id);
	memcpy(s->name, ss.name, sizeof s->name);
	s->next = all_sessions;
	all_sessions = s;
	return s;
}

json_t *session_member_json(const rpc_state *rs)
{
	return json_pack("{s:I,s:s,s:s,s:s}", "user", (json_int_t)rs->user, "name", rs->name,
			 "color", rs->color, "role", store_role_name(rs->role));
}

void session_broadcast(live_session *s, json_t *msg, const rpc_state *except)
{
	char *text = json_dumps(msg, JSON_COMPACT);

	if (!text)
		return;
	for (rpc_state *m = s->members; m; ) {
		rpc_state *next = m->next_member; /* a send may drop m */
		if (m != except)
			ws_conn_send_text(m->wc, text, strlen(text));
		m = next;
	}
	free(text);
}

void session_join(live_session *s, rpc_state *rs, store_role role)
{
	json_t *msg;

	if (rs->session == s) {
		metrics_member(rs->role, -1);
		metrics_member(role, +1);
		rs->role = role;
		return;
	}
	session_leave(rs);
	metrics_member(role, +1);
	rs->role = role;
	rs->session = s;
	rs->next_member = s->members;
	s->members = rs;
	s->n_members++;
	msg = json_pack("{s:s,s:s,s:o}", "type", "member.joined", "session", s->id,
			"member", session_member_json(rs));
	session_broadcast(s, msg, rs);
	json_decref(msg);
	log_info("session", "%s: %s joined (%d here)", s->id, rs->name, s->n_members);
}

void session_leave(rpc_state *rs)
{
	live_session *s = rs->session;
	json_t *msg;

	if (!s)
		return;
	editing_close_all(rs);
	for (rpc_state **p = &s->members; *p; p = &(*p)->next_member) {
		if (*p == rs) {
			*p = rs->next_member;
			break;
		}
	}
	rs->session = NULL;
	rs->next_member = NULL;
	metrics_member(rs->role, -1);
	rs->role = STORE_ROLE_NONE;
	s->n_members--;
	msg = json_pack("{s:s,s:s,s:o}", "type", "member.left", "session", s->id,
			"member", session_member_json(rs));
	session_broadcast(s, msg, NULL);
	json_decref(msg);
	log_info("session", "%s: %s left (%d here)", s->id, rs->name, s->n_members);
}

void sessions_free_all(void)
{
	while (all_sessions) {
		live_session *s = all_sessions;
		all_sessions = s->next;
		hub_stop(s);
		editing_free_docs(s);
		free(s->budgets);
		free(s);
	}
}
