/* server/metrics.c: see metrics.h. */
#include "server/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "collab/doc.h"
#include "common/heap.h"
#include "server/app.h"
#include "server/live.h"

static atomic_uint_fast64_t bytes_out, evals_ok, evals_failed, render_busy_ns, tls_refused,
	tls_resumed;
static atomic_int_fast64_t members[4], tls_conns;

void metrics_bytes_out(uint64_t n)
{
	atomic_fetch_add_explicit(&bytes_out, n, memory_order_relaxed);
}

void metrics_evaluation(int ok)
{
	atomic_fetch_add_explicit(ok ? &evals_ok : &evals_failed, 1, memory_order_relaxed);
}

void metrics_member(store_role r, int delta)
{
	if ((unsigned)r < 4 && r != STORE_ROLE_NONE)
		atomic_fetch_add_explicit(&members[r], delta, memory_order_relaxed);
}

void metrics_render_busy(uint64_t ns)
{
	atomic_fetch_add_explicit(&render_busy_ns, ns, memory_order_relaxed);
}

void metrics_tls_conn(int delta)
{
	atomic_fetch_add_explicit(&tls_conns, delta, memory_order_relaxed);
}

void metrics_tls_refused(void)
{
	atomic_fetch_add_explicit(&tls_refused, 1, memory_order_relaxed);
}

void metrics_tls_resumed(void)
{
	atomic_fetch_add_explicit(&tls_resumed, 1, memory_order_relaxed);
}

void metrics_get(metrics_totals *out)
{
	out->bytes_out = atomic_load_explicit(&bytes_out, memory_order_relaxed);
	out->evals_ok = atomic_load_explicit(&evals_ok, memory_order_relaxed);
	out->evals_failed = atomic_load_explicit(&evals_failed, memory_order_relaxed);
	out->render_busy_ns = atomic_load_explicit(&render_busy_ns, memory_order_relaxed);
	for (int i = 0; i < 4; i++)
		out->members[i] = atomic_load_explicit(&members[i], memory_order_relaxed);
	out->tls_conns = atomic_load_explicit(&tls_conns, memory_order_relaxed);
	out->tls_refused = atomic_load_explicit(&tls_refused, memory_order_relaxed);
	out->tls_resumed = atomic_load_explicit(&tls_resumed, memory_order_relaxed);
}

static int count_session(const store_session *s, void *ctx)
{
	(void)s;
	(*(uint64_t *)ctx)++;
	return 0;
}

/* snprintf into buf at *n, keeping *n within cap. */
__attribute__((format(printf, 4, 5)))
static void put(char *buf, size_t cap, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(buf + *n, cap - *n, fmt, ap);
	va_end(ap);
	if (k > 0 && (size_t)k < cap - *n)
		*n += (size_t)k;
}

/* Where the heap goes: what a soak reads to tell bounded growth (the
 * documents' windows filling, SQLite's caches) from a leak. */
static void put_memory(char *buf, size_t cap, size_t *n)
{
#ifdef TT_HEAP_STATS   /* left out under AddressSanitizer (common/heap.h) */
	put(buf, cap, n, "# HELP tutti_heap_bytes Bytes allocated with malloc and not "
	    "freed (glibc's mallinfo2: uordblks + hblkhd).\n"
	    "# TYPE tutti_heap_bytes gauge\ntutti_heap_bytes %zu\n", tt_heap_in_use());
#endif
	put(buf, cap, n, "# HELP tutti_docs_memory_bytes Bytes the loaded documents hold: texts "
	    "and windows of recent operations (bounded per document by TT_MAX_DOC_BYTES, "
	    "TT_MAX_OT_HISTORY and TT_MAX_OT_HISTORY_BYTES).\n"
	    "# TYPE tutti_docs_memory_bytes gauge\ntutti_docs_memory_bytes %zu\n",
	    doc_memory_total());
	put(buf, cap, n, "# HELP tutti_sqlite_memory_bytes Bytes SQLite holds: page caches, "
	    "statements, schemas.\n# TYPE tutti_sqlite_memory_bytes gauge\n"
	    "tutti_sqlite_memory_bytes %llu\n", (unsigned long long)store_memory_used());
}

size_t metrics_format(tt_app *app, char *buf, size_t cap)
{
	static const char *const roles[4] = { "", "listener", "performer", "owner" };
	metrics_totals m;
	live_totals lt;
	uint64_t stored = 0;
	size_t n = 0;

	metrics_get(&m);
	live_totals_get(&lt);
	pthread_mutex_lock(&app->store_lock);
	store_session_list(app->st, 0, count_session, &stored);
	pthread_mutex_unlock(&app->store_lock);
	put(buf, cap, &n, "# HELP tutti_sessions Sessions in the database.\n"
	    "# TYPE tutti_sessions gauge\ntutti_sessions %llu\n", (unsigned long long)stored);
	put(buf, cap, &n, "# HELP tutti_sessions_live Sessions live now (rendering).\n"
	    "# TYPE tutti_sessions_live gauge\ntutti_sessions_live %llu\n",
	    (unsigned long long)lt.running);
	put(buf, cap, &n, "# HELP tutti_session_members WebSocket clients joined to a session, "
	    "by role.\n# TYPE tutti_session_members gauge\n");
	for (int r = 1; r < 4; r++)
		put(buf, cap, &n, "tutti_session_members{role=\"%s\"} %lld\n", roles[r],
		    (long long)m.members[r]);
	put(buf, cap, &n, "# HELP tutti_performers Joined clients that may perform "
	    "(performer or owner role).\n# TYPE tutti_performers gauge\ntutti_performers %lld\n",
	    (long long)(m.members[2] + m.members[3]));
	put(buf, cap, &n, "# HELP tutti_evaluations_total Evaluations stored, by result.\n"
	    "# TYPE tutti_evaluations_total counter\n"
	    "tutti_evaluations_total{result=\"ok\"} %llu\n"
	    "tutti_evaluations_total{result=\"error\"} %llu\n",
	    (unsigned long long)m.evals_ok, (unsigned long long)m.evals_failed);
	put(buf, cap, &n, "# HELP tutti_render_busy_seconds_total Time the render threads spent "
	    "rendering; its rate is the render load in cores (1.0 = one core busy).\n"
	    "# TYPE tutti_render_busy_seconds_total counter\n"
	    "tutti_render_busy_seconds_total %.6f\n", (double)m.render_busy_ns / 1e9);
	put(buf, cap, &n, "# HELP tutti_bytes_out_total Bytes sent to WebSocket clients and HTTP "
	    "stream listeners.\n# TYPE tutti_bytes_out_total counter\n"
	    "tutti_bytes_out_total %llu\n", (unsigned long long)m.bytes_out);
	put(buf, cap, &n, "# HELP tutti_tls_connections Connections the TLS front holds "
	    "(handshaking or open; 0 without --tls-cert).\n# TYPE tutti_tls_connections gauge\n"
	    "tutti_tls_connections %lld\n", (long long)m.tls_conns);
	put(buf, cap, &n, "# HELP tutti_tls_refused_total TLS connections closed at once because "
	    "TT_MAX_TLS_CONNECTIONS were open.\n# TYPE tutti_tls_refused_total counter\n"
	    "tutti_tls_refused_total %llu\n", (unsigned long long)m.tls_refused);
	put(buf, cap, &n, "# HELP tutti_tls_resumed_total TLS sessions resumed with a session "
	    "ticket (no key exchange).\n# TYPE tutti_tls_resumed_total counter\n"
	    "tutti_tls_resumed_total %llu\n", (unsigned long long)m.tls_resumed);
	put_memory(buf, cap, &n);
	return n;
}
