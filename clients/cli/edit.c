/*
 * clients/cli/edit.c: tutti edit FILE --server URL --session ID [--doc NAME]
 * [--token T] [--seconds S]
 *
 * Keeps a local file and a shared document the same, both ways, so that
 * any editor is a tutti client: saving the file sends the change as an
 * operation; others' operations rewrite the file (written to a temporary
 * file and renamed over it, so an editor never reads half a file).
 *
 * At the start the shared document wins, unless it is empty: then it takes
 * the file's text. The OT client is collab/'s, with the protocol's rules
 * (docs/protocol.md): one op in flight, later edits composed into a
 * buffer, others' ops transformed over both (the server's op first at a
 * tie). A file change is found by polling its size and time every 100 ms.
 *
 * A lost connection (a restarted server, a broken network) is recovered
 * as docs/protocol.md says, with the same client_id: connect again after a
 * back-off (0.5 s doubling to 5 s), hello and join; resend the op in
 * flight with its seq (an ack means the server had stored it, "not_open"
 * that it had not); reopen the document from the last revision and apply
 * the ops missed, the one at our own acknowledged revision being our ack;
 * then send again what was not stored. The server's dedupe by
 * (client_id, seq) makes this exactly once. Saves made while disconnected
 * are picked up by the first poll after the reconnect. When the server
 * answers a snapshot instead (our revision is older than it keeps), local
 * edits not yet stored are sent as the difference from that text, so they
 * are not lost, though others' edits made at the same places meanwhile may
 * be overwritten.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "clients/cli/commands.h"
#include "clients/cli/creds.h"
#include "clients/cli/wsclient.h"
#include "collab/ot.h"
#include "collab/ot_json.h"
#include "collab/utf.h"
#include "common/error.h"
#include "common/limits.h"

static const char usage[] =
	"usage: tutti edit FILE --server URL --session ID [--doc NAME] [--token T] [--seconds S]\n";

typedef struct editor {
	wsc *c;
	long long doc;
	long long rev;
	char *text;          /* the document as this client has it */
	size_t len;
	ot_op sent, buffer;  /* in flight; composed edits waiting */
	int has_sent, has_buffer;
	long long seq, sent_seq;
	const char *path;
	const char *server, *session, *token;
	char cid[32];             /* client_id, the same across reconnects */
	struct timespec mtime;
	off_t size;
} editor;

static int fail(const char *what, const char *why)
{
	fprintf(stderr, "tutti edit: %s: %s\n", what, why);
	return 2;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b;
	long n;

	*len = 0;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	if (n < 0 || n > TT_MAX_DOC_BYTES || !(b = malloc((size_t)n + 1))) {
		fclose(f);
		return NULL;
	}
	*len = fread(b, 1, (size_t)n, f);
	b[*len] = '\0';
	fclose(f);
	return b;
}

static void note_file(editor *e)
{
	struct stat st;
	if (stat(e->path, &st) == 0) {
		e->mtime = st.st_mtim;
		e->size = st.st_size;
	}
}

static int write_file(editor *e)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tutti-tmp", e->path);
	f = fopen(tmp, "wb");
	if (!f || fwrite(e->text, 1, e->len, f) != e->len || fclose(f) != 0 || rename(tmp, e->path) != 0)
		return TT_EIO;
	note_file(e);
	return TT_OK;
}

/* The op turning a (la bytes) into b: retain the common prefix, delete and
 * insert the middle, retain the common suffix (cut at character starts). */
static int diff_op(const char *a, size_t la, const char *b, size_t lb, ot_op *op)
{
	size_t p = 0, s = 0;

	while (p < la && p < lb && a[p] == b[p])
		p++;
	while (p > 0 && ((unsigned char)a[p] & 0xC0) == 0x80)
		p--;
	while (s < la - p && s < lb - p && a[la - 1 - s] == b[lb - 1 - s])
		s++;
	while (s > 0 && ((unsigned char)a[la - s] & 0xC0) == 0x80)
		s--;
	ot_op_clear(op);
	int rc = ot_op_retain(op, utf_units(a, p));
	if (rc == TT_OK)
		rc = ot_op_insert(op, b + p, lb - p - s);
	if (rc == TT_OK)
		rc = ot_op_delete(op, utf_units(a + p, la - p - s));
	if (rc == TT_OK)
		rc = ot_op_retain(op, utf_units(a + la - s, s));
	return rc;
}

static int send_op(editor *e, const ot_op *op)
{
	json_t *j = NULL;
	int rc = ot_json_encode(op, &j);

	if (rc != TT_OK)
		return rc;
	e->sent_seq = ++e->seq;
	json_t *m = json_pack("{s:s,s:I,s:I,s:o,s:I,s:I}", "type", "op", "doc", (json_int_t)e->doc,
			      "rev", (json_int_t)e->rev, "op", j, "seq", (json_int_t)e->sent_seq, "id",
			      (json_int_t)(1000000 + e->sent_seq));
	rc = wsc_send(e->c, m);
	json_decref(m);
	return rc;
}

/* A local edit: in flight when nothing is, else composed into the buffer. */
static int local_edit(editor *e, const ot_op *op)
{
	if (!e->has_sent) {
		ot_op_copy(&e->sent, op);
		e->has_sent = 1;
		return send_op(e, &e->sent);
	}
	if (!e->has_buffer) {
		e->has_buffer = 1;
		return ot_op_copy(&e->buffer, op);
	}
	ot_op out;
	ot_op_init(&out);
	int rc = ot_compose(&e->buffer, op, &out, NULL, 0);
	if (rc == TT_OK)
		rc = ot_op_copy(&e->buffer, &out);
	ot_op_fini(&out);
	return rc;
}

static int on_ack(editor *e, long long rev)
{
	e->rev = rev;
	e->has_sent = 0;
	if (e->has_buffer) {
		ot_op_copy(&e->sent, &e->buffer);
		e->has_buffer = 0;
		e->has_sent = 1;
		return send_op(e, &e->sent);
	}
	return TT_OK;
}

/* Another's op: transformed over ours (the server's first at a tie), then
 * applied to the text and the file. */
static int on_remote(editor *e, json_t *jop, long long rev)
{
	ot_op s, s2, mine;
	char *out;
	size_t out_len;
	int rc;

	ot_op_init(&s);
	ot_op_init(&s2);
	ot_op_init(&mine);
	rc = ot_json_decode(jop, &s, NULL, 0);
	if (rc == TT_OK && e->has_sent) {
		rc = ot_transform(&s, &e->sent, &s2, &mine, NULL, 0);
		if (rc == TT_OK) {
			ot_op_copy(&e->sent, &mine);
			ot_op_copy(&s, &s2);
		}
	}
	if (rc == TT_OK && e->has_buffer) {
		rc = ot_transform(&s, &e->buffer, &s2, &mine, NULL, 0);
		if (rc == TT_OK) {
			ot_op_copy(&e->buffer, &mine);
			ot_op_copy(&s, &s2);
		}
	}
	if (rc == TT_OK)
		rc = ot_apply(e->text, e->len, &s, &out, &out_len, NULL, 0);
	if (rc == TT_OK) {
		free(e->text);
		e->text = out;
		e->len = out_len;
		e->rev = rev;
		rc = write_file(e);
	}
	ot_op_fini(&s);
	ot_op_fini(&s2);
	ot_op_fini(&mine);
	return rc;
}

static int poll_file(editor *e);

static int handle(editor *e, json_t *m)
{
	const char *type = json_string_value(json_object_get(m, "type"));
	json_t *ops, *o;
	size_t i;
	int rc = TT_OK;

	if (!type || json_integer_value(json_object_get(m, "doc")) != e->doc)
		return TT_OK;
	if (strcmp(type, "ack") == 0)
		return on_ack(e, json_integer_value(json_object_get(m, "rev")));
	if (strcmp(type, "ops") != 0)
		return TT_OK;
	/* A save the poll has not seen yet would be overwritten when the file
	 * is rewritten below: take it first, as a local edit made before these
	 * ops arrived (they are then transformed over it). */
	if ((rc = poll_file(e)) != TT_OK)
		return rc;
	ops = json_object_get(m, "ops");
	json_array_foreach(ops, i, o) {
		if (rc == TT_OK)
			rc = on_remote(e, json_object_get(o, "op"), json_integer_value(json_object_get(o, "rev")));
	}
	return rc;
}

/* The file changed on disk: send the difference. */
static int poll_file(editor *e)
{
	struct stat st;
	size_t len;
	char *now;
	ot_op op;
	int rc;

	if (stat(e->path, &st) != 0 || (st.st_size == e->size && st.st_mtim.tv_sec == e->mtime.tv_sec &&
					st.st_mtim.tv_nsec == e->mtime.tv_nsec))
		return TT_OK;
	now = read_file(e->path, &len);
	note_file(e);
	if (!now)
		return TT_OK; /* mid-save or gone: the next poll sees it */
	/* Unchanged, or not text we can share (invalid UTF-8, a NUL). */
	if ((len == e->len && memcmp(now, e->text, len) == 0) ||
	    utf_validate(now, len, 0, NULL, NULL) != TT_OK) {
		free(now);
		return TT_OK;
	}
	ot_op_init(&op);
	rc = diff_op(e->text, e->len, now, len, &op);
	if (rc == TT_OK)
		rc = local_edit(e, &op);
	ot_op_fini(&op);
	free(e->text);
	e->text = now;
	e->len = len;
	return rc;
}

static int request(editor *e, json_t *msg, json_t **r, const char *what)
{
	char err[256] = "the request could not be sent"; /* not every failure says why */
	if (wsc_request(e->c, msg, 10000, r, err, sizeof err) != TT_OK)
		return fail(what, err);
	if (strcmp(json_string_value(json_object_get(*r, "type")), "error") == 0) {
		int rc = fail(what, json_string_value(json_object_get(json_object_get(*r, "error"),
								      "message")));
		json_decref(*r);
		return rc;
	}
	return 0;
}

/* Joins, finds or creates the document, opens it, and settles who wins. */
static int start(editor *e, const char *session, const char *token, const char *name)
{
	json_t *r, *join, *d;
	uint8_t id[6];
	size_t i, flen;
	char *ftext;
	int rc;

	if (getrandom(id, sizeof id, 0) != sizeof id)
		return fail("random", strerror(errno));
	snprintf(e->cid, sizeof e->cid, "edit-%02x%02x%02x%02x%02x%02x", id[0], id[1], id[2], id[3],
		 id[4], id[5]);
	if ((rc = request(e, json_pack("{s:s,s:s,s:s}", "type", "hello", "client", "tutti-edit",
				       "client_id", e->cid), &r, "hello")))
		return rc;
	json_decref(r);
	join = json_pack("{s:s,s:s}", "type", "join", "session", session);
	if (token)
		json_object_set_new(join, "token", json_string(token));
	if ((rc = request(e, join, &r, "join")))
		return rc;
	json_decref(r);
	if ((rc = request(e, json_pack("{s:s}", "type", "doc.list"), &r, "doc.list")))
		return rc;
	e->doc = 0;
	json_array_foreach(json_object_get(r, "docs"), i, d)
		if (strcmp(json_string_value(json_object_get(d, "name")), name) == 0)
			e->doc = json_integer_value(json_object_get(d, "id"));
	json_decref(r);
	if (!e->doc) {
		if ((rc = request(e, json_pack("{s:s,s:s}", "type", "doc.create", "name", name), &r,
				  "doc.create")))
			return rc;
		e->doc = json_integer_value(json_object_get(json_object_get(r, "doc"), "id"));
		json_decref(r);
	}
	if ((rc = request(e, json_pack("{s:s,s:I}", "type", "doc.open", "doc", (json_int_t)e->doc), &r,
			  "doc.open")))
		return rc;
	e->rev = json_integer_value(json_object_get(r, "rev"));
	e->text = strdup(json_string_value(json_object_get(r, "text")));
	e->len = strlen(e->text);
	json_decref(r);
	ftext = read_file(e->path, &flen);
	if (e->len == 0 && ftext && flen > 0 && utf_validate(ftext, flen, 0, NULL, NULL) == TT_OK) {
		/* An empty document takes the file's text. */
		ot_op op;
		ot_op_init(&op);
		rc = diff_op(e->text, 0, ftext, flen, &op);
		if (rc == TT_OK)
			rc = local_edit(e, &op);
		ot_op_fini(&op);
		free(e->text);
		e->text = ftext;
		e->len = flen;
		note_file(e);
		printf("tutti edit: %s -> document %s (%zu bytes)\n", e->path, name, flen);
	} else {
		free(ftext);
		rc = write_file(e);
		printf("tutti edit: document %s -> %s (%zu bytes)\n", name, e->path, e->len);
	}
	fflush(stdout);
	return rc == TT_OK ? 0 : fail(e->path, "cannot write the file");
}

/* ---- recovering a lost connection (see the header) ---- */

/* Reconnect back-off: the first wait and its ceiling as it doubles. */
#define EDIT_BACKOFF_MIN_MS 500
#define EDIT_BACKOFF_MAX_MS 5000

/* A reply to r, or NULL with a message on stderr. */
static json_t *ask(editor *e, json_t *msg)
{
	char err[256] = "no reply";
	json_t *r;

	if (wsc_request(e->c, msg, 10000, &r, err, sizeof err) != TT_OK) {
		fprintf(stderr, "tutti edit: %s\n", err);
		return NULL;
	}
	return r;
}

static const char *error_code(json_t *r)
{
	const char *t = json_string_value(json_object_get(r, "type"));
	if (!t || strcmp(t, "error") != 0)
		return NULL;
	return json_string_value(json_object_get(json_object_get(r, "error"), "code"));
}

/* Step 2: the op in flight, again with its seq. *own_rev: the revision it
 * was stored at, or 0 when it was not stored. */
static int resend(editor *e, long long *own_rev)
{
	*own_rev = 0;
	for (int tries = 0; tries < 50; tries++) {
		json_t *j = NULL, *r;
		const char *code;
		int retry;

		if (ot_json_encode(&e->sent, &j) != TT_OK)
			return TT_ENOMEM;
		r = ask(e, json_pack("{s:s,s:I,s:I,s:o,s:I}", "type", "op", "doc", (json_int_t)e->doc,
				     "rev", (json_int_t)e->rev, "op", j, "seq", (json_int_t)e->sent_seq));
		if (!r)
			return TT_EIO;
		/* code lives in r: decided on before r is released. */
		code = error_code(r);
		retry = code && strcmp(code, "retry") == 0;
		if (!code)
			*own_rev = json_integer_value(json_object_get(r, "rev"));
		else if (!retry && strcmp(code, "not_open") != 0)
			/* Refused for another reason (rate_limited, ...): it was
			 * not stored, so it is sent again after the reopen. */
			fprintf(stderr, "tutti edit: resending: %s\n", code);
		json_decref(r);
		if (!retry)
			return TT_OK;
		usleep(200 * 1000);  /* the first copy is still being written */
	}
	return TT_EAGAIN;
}

/* Step 4 after a snapshot: our text (the file, with every local edit) as
 * one op on top of the server's. */
static int rebase_on_snapshot(editor *e, json_t *snap)
{
	const char *text = json_string_value(json_object_get(snap, "text"));
	size_t len = text ? strlen(text) : 0;
	int pending = e->has_sent || e->has_buffer;
	char *mine = e->text;
	size_t mine_len = e->len;
	ot_op op;
	int rc = TT_OK;

	if (!text)
		return TT_EPROTO;
	e->rev = json_integer_value(json_object_get(snap, "rev"));
	e->has_sent = e->has_buffer = 0;
	e->text = strdup(text);
	e->len = len;
	if (!e->text) {
		e->text = mine;
		return TT_ENOMEM;
	}
	if (pending && (mine_len != len || memcmp(mine, text, len) != 0)) {
		fprintf(stderr, "tutti edit: the server sent the whole document; sending our "
				"unsaved changes on top of it\n");
		ot_op_init(&op);
		rc = diff_op(e->text, e->len, mine, mine_len, &op);
		if (rc == TT_OK)
			rc = local_edit(e, &op);
		ot_op_fini(&op);
		free(e->text);
		e->text = mine;
		e->len = mine_len;
		return rc;
	}
	free(mine);
	return write_file(e);
}

/* Steps 1 to 4 on a new connection. */
static int recover(editor *e)
{
	char err[256] = "the connection failed"; /* not every failure says why */
	long long own_rev = 0;
	json_t *r, *join, *ops, *o;
	const char *type, *code;
	size_t i;
	int rc = TT_OK, had_sent = e->has_sent;

	if (wsc_connect(e->server, &e->c, err, sizeof err) != TT_OK) {
		e->c = NULL;
		fprintf(stderr, "tutti edit: %s: %s\n", e->server, err);
		return TT_EIO;
	}
	if (!(r = ask(e, json_pack("{s:s,s:s,s:s}", "type", "hello", "client", "tutti-edit",
				   "client_id", e->cid))))
		return TT_EIO;
	json_decref(r);
	join = json_pack("{s:s,s:s}", "type", "join", "session", e->session);
	if (e->token)
		json_object_set_new(join, "token", json_string(e->token));
	if (!(r = ask(e, join)))
		return TT_EIO;
	/* Only a refusal is final; anything else (a server still loading the
	 * session after its restart) is tried again. */
	code = error_code(r);
	rc = !code ? TT_OK : strcmp(code, "forbidden") == 0 || strcmp(code, "not_found") == 0 ?
	     TT_EPERM : TT_EAGAIN;
	json_decref(r);
	if (rc == TT_OK && had_sent)
		rc = resend(e, &own_rev);
	if (rc != TT_OK)
		return rc;
	if (!(r = ask(e, json_pack("{s:s,s:I,s:I}", "type", "doc.open", "doc", (json_int_t)e->doc,
				   "rev", (json_int_t)e->rev))))
		return TT_EIO;
	type = json_string_value(json_object_get(r, "type"));
	if (type && strcmp(type, "doc.snapshot") == 0) {
		rc = rebase_on_snapshot(e, r);
		json_decref(r);
		return rc;
	}
	if (!type || strcmp(type, "doc.ops") != 0) {
		json_decref(r);
		return TT_EPROTO;
	}
	ops = json_object_get(r, "ops");
	json_array_foreach(ops, i, o) {
		long long rev = json_integer_value(json_object_get(r, "from")) + 1 + (long long)i;
		if (rc == TT_OK)
			rc = own_rev && rev == own_rev ? on_ack(e, rev) : on_remote(e, o, rev);
	}
	json_decref(r);
	if (rc == TT_OK && had_sent && !own_rev && e->has_sent)
		rc = send_op(e, &e->sent);  /* step 4: it was not stored */
	return rc;
}

/* Reconnects until recovered or past end (0: no end). TT_OK when
 * recovered. */
static int reconnect(editor *e, time_t end, const char *why)
{
	int wait = EDIT_BACKOFF_MIN_MS;

	fprintf(stderr, "tutti edit: %s: %s; reconnecting\n", e->server, why);
	for (;;) {
		int rc;

		wsc_close(e->c);
		e->c = NULL;
		if (end && time(NULL) + wait / 1000 >= end)
			return TT_ECLOSED;
		usleep((useconds_t)wait * 1000);
		rc = recover(e);
		if (rc == TT_OK) {
			fprintf(stderr, "tutti edit: reconnected at revision %lld\n", e->rev);
			return TT_OK;
		}
		if (rc == TT_EPERM || rc == TT_ENOMEM)
			return rc;  /* waiting will not help */
		wait = wait * 2 > EDIT_BACKOFF_MAX_MS ? EDIT_BACKOFF_MAX_MS : wait * 2;
	}
}

int cli_edit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' }, { "session", required_argument, NULL, 'S' },
		{ "token", required_argument, NULL, 't' }, { "doc", required_argument, NULL, 'd' },
		{ "seconds", required_argument, NULL, 'n' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *server = NULL, *session = NULL, *token = getenv("TUTTI_TOKEN"), *name = NULL;
	char base[256], err[256];
	double seconds = 0;
	editor e;
	time_t end;
	int o, rc;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': server = optarg; break;
		case 'S': session = optarg; break;
		case 't': token = optarg; break;
		case 'd': name = optarg; break;
		case 'n': seconds = strtod(optarg, NULL); break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!server || !session || optind != argc - 1) {
		fputs(usage, stderr);
		return 2;
	}
	memset(&e, 0, sizeof e);
	e.path = argv[optind];
	e.server = server;
	e.session = session;
	e.token = token = creds_token(server, token); /* --token, $TUTTI_TOKEN, tutti login's */
	snprintf(base, sizeof base, "%s", e.path);
	if (!name)
		name = basename(base);
	ot_op_init(&e.sent);
	ot_op_init(&e.buffer);
	if (wsc_connect(server, &e.c, err, sizeof err) != TT_OK)
		return fail(server, err);
	rc = start(&e, session, token, name);
	end = seconds > 0 ? time(NULL) + (time_t)(seconds + 0.999) : 0;
	while (rc == 0 && (!end || time(NULL) < end)) {
		json_t *m;
		int r;

		snprintf(err, sizeof err, "the connection ended");
		r = wsc_next(e.c, 100, &m, err, sizeof err);
		if (r == TT_OK) {
			if (handle(&e, m) != TT_OK)
				rc = fail("sync", "an operation could not be applied; start again");
			json_decref(m);
		} else if (r != TT_EAGAIN) {
			int rr = reconnect(&e, end, err);
			if (rr == TT_ECLOSED)
				break;  /* the time is up */
			if (rr != TT_OK)
				rc = fail(server, tt_strerror(rr));
			continue;
		}
		/* A failed send needs nothing here: the next wsc_next sees the
		 * broken connection, and the reconnect resends. */
		if (rc == 0)
			(void)poll_file(&e);
	}
	ot_op_fini(&e.sent);
	ot_op_fini(&e.buffer);
	free(e.text);
	wsc_close(e.c);
	return rc;
}
