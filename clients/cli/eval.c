/*
 * clients/cli/eval.c: tutti eval --server URL --session ID [--doc NAME]
 * [--quantum cycle|now|N] FILE|-
 *
 * Puts the file's text into document NAME of the session (default: the
 * file's base name; created when missing), evaluates the whole document,
 * and prints where it lands, or the error as FILE:LINE:COL: message (exit
 * status 1). The first client of the protocol in docs/protocol.md.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clients/cli/commands.h"
#include "clients/cli/creds.h"
#include "clients/cli/wsclient.h"
#include "common/error.h"
#include "common/limits.h"

#define TIMEOUT_MS 10000

static const char usage[] =
	"usage: tutti eval --server URL --session ID [--token T] [--doc NAME]\n"
	"                  [--quantum cycle|now|N] FILE|-\n"
	"  --token T   a performer's or owner's token (default: $TUTTI_TOKEN)\n";

static char *read_all(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0;

	*len = 0;
	if (!f)
		return NULL;
	for (;;) {
		if (*len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *b = realloc(buf, cap);
			if (!b || cap > TT_MAX_DOC_BYTES * 2) {
				free(b ? b : buf);
				buf = NULL;
				break;
			}
			buf = b;
		}
		size_t n = fread(buf + *len, 1, cap - *len - 1, f);
		*len += n;
		if (n == 0)
			break;
	}
	if (buf)
		buf[*len] = '\0';
	if (f != stdin)
		fclose(f);
	return buf;
}

/* Length in UTF-16 units of UTF-8 text. */
static size_t units(const char *s, size_t n)
{
	size_t u = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c & 0xC0) != 0x80)
			u += c >= 0xF0 ? 2 : 1;
	}
	return u;
}

static int fail(const char *what, const char *err)
{
	fprintf(stderr, "tutti eval: %s: %s\n", what, err);
	return 2;
}

static int reply_error(json_t *r, const char *what)
{
	const char *m = json_string_value(json_object_get(json_object_get(r, "error"), "message"));
	int rc = fail(what, m ? m : "unexpected reply");
	json_decref(r);
	return rc;
}

/* The id of document name, created when the session has none. */
static int find_doc(wsc *c, const char *name, long long *doc)
{
	char err[256];
	json_t *r, *d;
	size_t i;

	if (wsc_request(c, json_pack("{s:s}", "type", "doc.list"), TIMEOUT_MS, &r, err,
			sizeof err) != TT_OK)
		return fail("doc.list", err);
	json_array_foreach(json_object_get(r, "docs"), i, d) {
		if (strcmp(json_string_value(json_object_get(d, "name")), name) == 0) {
			*doc = json_integer_value(json_object_get(d, "id"));
			json_decref(r);
			return 0;
		}
	}
	json_decref(r);
	if (wsc_request(c, json_pack("{s:s,s:s}", "type", "doc.create", "name", name), TIMEOUT_MS,
			&r, err, sizeof err) != TT_OK)
		return fail("doc.create", err);
	if (!json_object_get(r, "doc"))
		return reply_error(r, "doc.create");
	*doc = json_integer_value(json_object_get(json_object_get(r, "doc"), "id"));
	json_decref(r);
	return 0;
}

/* Makes the document's text equal to text; sets *rev to the result. */
static int put_text(wsc *c, long long doc, const char *text, size_t len, long long *rev)
{
	char err[256];
	json_t *r, *op;
	const char *cur;

	if (wsc_request(c, json_pack("{s:s,s:I}", "type", "doc.open", "doc", (json_int_t)doc),
			TIMEOUT_MS, &r, err, sizeof err) != TT_OK)
		return fail("doc.open", err);
	cur = json_string_value(json_object_get(r, "text"));
	*rev = json_integer_value(json_object_get(r, "rev"));
	if (!cur) {
		json_decref(r);
		return fail("doc.open", "no snapshot");
	}
	if (strlen(cur) == len && memcmp(cur, text, len) == 0) {
		json_decref(r);
		return 0;
	}
	op = json_array();
	if (len)
		json_array_append_new(op, json_stringn(text, len));
	if (*cur)
		json_array_append_new(op, json_integer(-(json_int_t)units(cur, strlen(cur))));
	json_decref(r);
	if (wsc_request(c, json_pack("{s:s,s:I,s:I,s:o}", "type", "op", "doc", (json_int_t)doc, "rev",
				     (json_int_t)*rev, "op", op), TIMEOUT_MS, &r, err, sizeof err) != TT_OK)
		return fail("op", err);
	if (!json_is_integer(json_object_get(r, "rev")) ||
	    strcmp(json_string_value(json_object_get(r, "type")), "ack") != 0)
		return reply_error(r, "op");
	*rev = json_integer_value(json_object_get(r, "rev"));
	json_decref(r);
	return 0;
}

static json_t *quantum_json(const char *q)
{
	char *end;
	long n;

	if (!q || strcmp(q, "cycle") == 0 || strcmp(q, "now") == 0)
		return json_string(q ? q : "cycle");
	n = strtol(q, &end, 10);
	return *end || n < 1 ? NULL : json_pack("{s:i}", "every", (int)n);
}

static int evaluate(wsc *c, long long doc, long long rev, json_t *quantum, const char *file)
{
	char err[256];
	json_t *r, *land, *e;
	int rc = 0;

	if (wsc_request(c, json_pack("{s:s,s:I,s:I,s:o}", "type", "eval", "doc", (json_int_t)doc,
				     "rev", (json_int_t)rev, "quantum", quantum), TIMEOUT_MS, &r, err,
			sizeof err) != TT_OK)
		return fail("eval", err);
	land = json_object_get(r, "landing");
	e = json_object_get(r, "error");
	if (json_is_true(json_object_get(r, "ok")) && land) {
		printf("lands at cycle %s (stream frame %lld)\n",
		       json_string_value(json_object_get(land, "cycle")),
		       (long long)json_integer_value(json_object_get(land, "frame")));
	} else if (json_is_object(e) && json_object_get(e, "line")) {
		fprintf(stderr, "%s:%lld:%lld: %s\n", file,
			(long long)json_integer_value(json_object_get(e, "line")),
			(long long)json_integer_value(json_object_get(e, "col")),
			json_string_value(json_object_get(e, "message")));
		rc = 1;
	} else {
		return reply_error(r, "eval"); /* frees r */
	}
	json_decref(r);
	return rc;
}

int cli_eval(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' }, { "session", required_argument, NULL, 'S' },
		{ "doc", required_argument, NULL, 'd' }, { "quantum", required_argument, NULL, 'q' },
		{ "token", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *server = NULL, *session = NULL, *name = NULL, *quantum = NULL, *file;
	const char *token = getenv("TUTTI_TOKEN");
	char err[256], base[256];
	long long doc = 0, rev = 0;
	json_t *r, *q;
	size_t len;
	char *text;
	wsc *c;
	int o, rc;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': server = optarg; break;
		case 'S': session = optarg; break;
		case 'd': name = optarg; break;
		case 'q': quantum = optarg; break;
		case 't': token = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!server || !session || optind != argc - 1 || !(q = quantum_json(quantum))) {
		fputs(usage, stderr);
		return 2;
	}
	file = argv[optind];
	snprintf(base, sizeof base, "%s", file);
	if (!name)
		name = strcmp(file, "-") == 0 ? "main" : basename(base);
	text = read_all(file, &len);
	if (!text) {
		json_decref(q);
		return fail(file, errno ? strerror(errno) : "too large");
	}
	token = creds_token(server, token); /* --token, $TUTTI_TOKEN, or tutti login's */
	if (wsc_connect(server, &c, err, sizeof err) != TT_OK) {
		free(text);
		json_decref(q);
		return fail(server, err);
	}
	wsc_request(c, json_pack("{s:s,s:s}", "type", "hello", "client", "tutti-eval"), TIMEOUT_MS,
		    &r, err, sizeof err) == TT_OK ? json_decref(r) : (void)0;
	json_t *join = json_pack("{s:s,s:s}", "type", "join", "session", session);
	if (token)
		json_object_set_new(join, "token", json_string(token));
	rc = wsc_request(c, join, TIMEOUT_MS, &r, err, sizeof err);
	if (rc != TT_OK || strcmp(json_string_value(json_object_get(r, "type")), "joined") != 0) {
		rc = rc != TT_OK ? fail("join", err) : reply_error(r, "join");
	} else {
		json_decref(r);
		rc = find_doc(c, name, &doc);
		if (rc == 0)
			rc = put_text(c, doc, text, len, &rev);
		if (rc == 0)
			rc = evaluate(c, doc, rev, json_incref(q), file);
	}
	json_decref(q);
	wsc_close(c);
	free(text);
	return rc;
}
