/* server/static.c: see static.h. */
#include "server/static.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/app.h"

typedef struct mime {
	const char *ext;
	const char *type;
} mime;

static const mime mimes[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".map", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".wasm", "application/wasm" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".ogg", "audio/ogg" },
	{ ".wav", "audio/wav" },
};

static const char *mime_for(const char *path)
{
	const char *dot = strrchr(path, '.');
	if (dot)
		for (size_t i = 0; i < sizeof mimes / sizeof mimes[0]; i++)
			if (strcmp(dot, mimes[i].ext) == 0)
				return mimes[i].type;
	return "application/octet-stream";
}

int static_path_ok(const char *path)
{
	const char *seg = path;

	if (path[0] != '/' || strchr(path, '\\'))
		return 0;
	while (*seg) {
		const char *next;
		size_t len;
		seg++; /* past '/' */
		next = strchr(seg, '/');
		len = next ? (size_t)(next - seg) : strlen(seg);
		/* Refuses "..", "." and hidden names such as ".git". */
		if (len > 0 && seg[0] == '.')
			return 0;
		if (!next)
			break;
		seg = next;
	}
	return 1;
}

enum MHD_Result static_serve(tt_app *app, const http_request *req)
{
	char file[PATH_MAX + 64];
	struct stat st;
	struct MHD_Response *r;
	enum MHD_Result ret;
	const char *path = req->path;
	int fd, n;

	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
		return http_reply_json_hdr(req->conn, MHD_HTTP_METHOD_NOT_ALLOWED,
					   http_error_body(MHD_HTTP_METHOD_NOT_ALLOWED,
							   "method_not_allowed",
							   "%s is not allowed on %s (allowed: GET, HEAD)",
							   req->method, path),
					   MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	if (!static_path_ok(path))
		return http_reply_error(req->conn, MHD_HTTP_NOT_FOUND, "not_found",
					"no file %s", path);
	n = snprintf(file, sizeof file, "%s%s%s", app->cfg.web_dir, path,
		     path[strlen(path) - 1] == '/' ? "index.html" : "");
	if (n < 0 || (size_t)n >= sizeof file)
		return http_reply_error(req->conn, MHD_HTTP_NOT_FOUND, "not_found",
					"no file %s", path);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return http_reply_error(req->conn, MHD_HTTP_NOT_FOUND, "not_found",
					"no file %s", path);
	}
	r = MHD_create_response_from_fd((size_t)st.st_size, fd);
	if (!r) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, mime_for(file));
	MHD_add_response_header(r, MHD_HTTP_HEADER_X_CONTENT_TYPE_OPTIONS, "nosniff");
	ret = MHD_queue_response(req->conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}
