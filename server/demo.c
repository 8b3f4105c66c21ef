/* server/demo.c: see demo.h. */
#include "server/demo.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/error.h"
#include "server/app.h"
#include "server/auth.h"
#include "server/log.h"

static const char demo_code[] =
	"// tutti demo: change anything, then evaluate it\n"
	"// (tutti eval, or over /ws: see docs/protocol.md)\n"
	"$: s(\"bd*2 [~ bd] sd ~, hh*8\").gain(0.8)\n"
	"$: note(\"<c2 c2 eb2 g1>*2\").s(\"sawtooth\").lpf(700).release(0.2).gain(0.7)\n"
	"$: note(\"<[c4,eb4,g4] [bb3,d4,f4]>\").s(\"triangle\").room(0.4).gain(0.4)\n";

static int any_session(const store_session *s, void *ctx)
{
	(void)s;
	*(int *)ctx = 1;
	return 1;
}

/* Length of UTF-8 text in UTF-16 units (the demo is ASCII, but say so). */
static int64_t units(const char *s)
{
	int64_t u = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			u += (unsigned char)*s >= 0xF0 ? 2 : 1;
	return u;
}

int demo_seed(tt_app *app)
{
	store_session s;
	store_doc d;
	store_op op;
	store_eval ev;
	json_t *j = json_pack("[s]", demo_code);
	char *op_text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	int found = 0, rc;

	json_decref(j);
	rc = store_session_list(app->st, 1, any_session, &found);
	if (rc == 1)
		rc = TT_OK;
	if (rc != TT_OK || found || !op_text)
		goto out;
	rc = store_session_create(app->st, "demo", &s);
	if (rc == TT_OK)
		rc = store_doc_create(app->st, s.id, "main", &d);
	if (rc == TT_OK) {
		op = (store_op){ .doc_id = d.id, .revision = 1, .time_ms = (int64_t)time(NULL) * 1000,
				 .author = "tutti", .op = op_text, .op_len = strlen(op_text) };
		rc = store_ops_append(app->st, &op, 1, NULL);
	}
	if (rc == TT_OK) {
		ev = (store_eval){ .session_id = s.id, .doc_id = d.id, .revision = 1,
				   .time_ms = op.time_ms, .author = "tutti", .range_from = 0,
				   .range_to = units(demo_code), .code = demo_code,
				   .code_len = strlen(demo_code), .ok = true, .cycle_d = 1, .cps_n = 1,
				   .cps_d = 2, .result = "whole" };
		rc = store_eval_append(app->st, &ev);
	}
	char token[AUTH_TOKEN_MAX];
	int64_t tid, expires;
	if (rc == TT_OK)
		rc = auth_issue(app, s.id, STORE_ROLE_OWNER, "demo", 0, token, &tid, &expires);
	if (rc == TT_OK)
		log_info("demo", "first start: created the demo session %s; listen at "
			 "http://%s:%d/s/%s/live.ogg ; its owner token (shown once): %s",
			 s.id, app->cfg.listen_host, app->cfg.listen_port, s.id, token);
	else
		log_warn("demo", "cannot create the demo session: %s", store_errmsg(app->st));
out:
	free(op_text);
	return rc;
}
