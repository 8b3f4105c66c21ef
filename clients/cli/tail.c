/*
 * clients/cli/tail.c: tutti tail --server URL --session ID [--token T]
 * [--annotations] [--seconds S]
 *
 * Joins a session and prints what happens in it, one line per event, for
 * people and for scripts (grep, awk):
 *
 *   eval ann doc=1 rev=7 what=whole cycle=4 frame=384000 tracks=drums,bass
 *   tempo ann cps=0.6 cycle=5 frame=460800
 *   hush ann on   |   mute ann drums on   |   solo ann bass off
 *   chat ann: text
 *   join bo (performer)   |   leave bo
 *   anno frame=384000 doc=1 rev=7 range=6-8 value={"note":"a4","s":"sine"}
 *
 * Annotations (one line per sounding token) only with --annotations.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clients/cli/commands.h"
#include "clients/cli/creds.h"
#include "clients/cli/wsclient.h"
#include "common/error.h"

static const char usage[] =
	"usage: tutti tail --server URL --session ID [--token T] [--annotations] [--seconds S]\n";

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static long long num(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static void print_tracks(json_t *arr)
{
	size_t i;
	json_t *t;
	json_array_foreach(arr, i, t)
		printf("%s%s", i ? "," : "", json_string_value(t));
}

static void print_anno(json_t *m)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(m, "events"), i, e) {
		json_t *r = json_object_get(e, "range");
		char *v = json_dumps(json_object_get(e, "value"), JSON_COMPACT);
		printf("anno frame=%lld doc=%lld rev=%lld range=%lld-%lld value=%s\n", num(m, "frame"),
		       num(e, "doc"), num(e, "rev"), (long long)json_integer_value(json_array_get(r, 0)),
		       (long long)json_integer_value(json_array_get(r, 1)), v ? v : "{}");
		free(v);
	}
}

/* One line for one message; nothing for messages tail does not show. */
static void print_message(json_t *m, int annotations)
{
	const char *type = str(m, "type");
	json_t *land = json_object_get(m, "landing");

	if (strcmp(type, "eval") == 0) {
		printf("eval %s doc=%lld rev=%lld what=%s cycle=%s frame=%lld tracks=", str(m, "name"),
		       num(m, "doc"), num(m, "rev"), str(m, "what"), str(land, "cycle"),
		       num(land, "frame"));
		print_tracks(json_object_get(m, "tracks"));
		printf("\n");
	} else if (strcmp(type, "tempo") == 0) {
		printf("tempo %s cps=%s cycle=%s frame=%lld\n", str(m, "name"), str(m, "cps_exact"),
		       str(land, "cycle"), num(land, "frame"));
	} else if (strcmp(type, "hush") == 0) {
		printf("hush %s %s\n", str(m, "name"), json_is_true(json_object_get(m, "on")) ? "on" : "off");
	} else if (strcmp(type, "mute") == 0 || strcmp(type, "solo") == 0) {
		printf("%s %s %s %s\n", type, str(m, "name"), str(m, "track"),
		       json_is_true(json_object_get(m, "on")) ? "on" : "off");
	} else if (strcmp(type, "chat") == 0) {
		printf("chat %s: %s\n", str(m, "name"), str(m, "text"));
	} else if (strcmp(type, "member.joined") == 0 || strcmp(type, "member.left") == 0) {
		json_t *who = json_object_get(m, "member");
		if (type[7] == 'j')
			printf("join %s (%s)\n", str(who, "name"), str(who, "role"));
		else
			printf("leave %s\n", str(who, "name"));
	} else if (strcmp(type, "anno") == 0 && annotations) {
		print_anno(m);
	} else if (strcmp(type, "error") == 0) {
		printf("error %s\n", str(json_object_get(m, "error"), "message"));
	}
	fflush(stdout);
}

int cli_tail(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' }, { "session", required_argument, NULL, 'S' },
		{ "token", required_argument, NULL, 't' }, { "seconds", required_argument, NULL, 'n' },
		{ "annotations", no_argument, NULL, 'a' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *server = NULL, *session = NULL, *token = getenv("TUTTI_TOKEN");
	double seconds = 0;
	int annotations = 0, o, rc;
	char err[256];
	json_t *r, *join;
	wsc *c;
	time_t end;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': server = optarg; break;
		case 'S': session = optarg; break;
		case 't': token = optarg; break;
		case 'n': seconds = strtod(optarg, NULL); break;
		case 'a': annotations = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!server || !session || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	token = creds_token(server, token); /* --token, $TUTTI_TOKEN, or tutti login's */
	if (wsc_connect(server, &c, err, sizeof err) != TT_OK) {
		fprintf(stderr, "tutti tail: %s: %s\n", server, err);
		return 2;
	}
	join = json_pack("{s:s,s:s}", "type", "join", "session", session);
	if (token)
		json_object_set_new(join, "token", json_string(token));
	rc = wsc_request(c, json_pack("{s:s,s:s}", "type", "hello", "client", "tutti-tail"), 10000,
			 &r, err, sizeof err);
	if (rc == TT_OK)
		json_decref(r);
	if (rc == TT_OK && (rc = wsc_request(c, join, 10000, &r, err, sizeof err)) == TT_OK &&
	    strcmp(str(r, "type"), "joined") != 0) {
		fprintf(stderr, "tutti tail: %s\n", str(json_object_get(r, "error"), "message"));
		json_decref(r);
		wsc_close(c);
		return 2;
	}
	if (rc != TT_OK) {
		fprintf(stderr, "tutti tail: %s\n", err);
		wsc_close(c);
		return 2;
	}
	printf("joined %s as %s\n", str(json_object_get(r, "session"), "name"), str(r, "role"));
	fflush(stdout);
	json_decref(r);
	end = seconds > 0 ? time(NULL) + (time_t)(seconds + 0.999) : 0;
	while (!end || time(NULL) < end) {
		json_t *m;
		rc = wsc_next(c, 200, &m, err, sizeof err);
		if (rc == TT_EAGAIN)
			continue;
		if (rc != TT_OK)
			break;
		print_message(m, annotations);
		json_decref(m);
	}
	wsc_close(c);
	if (rc != TT_OK && rc != TT_EAGAIN) {
		fprintf(stderr, "tutti tail: %s\n", err);
		return 1;
	}
	return 0;
}
