"""Soak: 8 performers edit and evaluate on a schedule while N listeners
stream the session, for a fixed time (issue 11, item 1).

Short mode (the test suite): about 2 minutes, 200 listeners. The full
mode (bench/reliability.sh) sets TT_SOAK_SECONDS=1800 and
TT_SOAK_LISTENERS=1000 (capped at TT_MAX_LISTENERS).

Asserted (correctness, never timing): every acknowledged operation is
stored at its acknowledged revision and nothing unacknowledged from a
performer is; revisions run 1..N; the database passes integrity_check;
every listener got a stream whose every page has a good CRC, with no gap
in page sequence or in stream time, and stayed connected; each listener's
last seconds decode (libopusfile); the evaluations succeed; tuttid's RSS
after warm-up grows less than SOAK_RSS_GROWTH_MB, and its heap outside the
documents and SQLite (which /metrics shows apart) less than
SOAK_HEAP_REST_GROWTH_MB.

Measured and printed (as '# soak: ...' and, when TT_LOAD_RESULT names a
file, as JSON there): missed render deadlines (tutti_render_late_blocks_total
over the run), RSS samples, ack p50/p99, eval p99, listener underruns
(tests/load/listeners.c defines them: a 200 ms player buffer running dry)."""
import json
import os
import resource
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, SRCDIR, limit  # noqa: E402
import loadlib  # noqa: E402

SECONDS = float(os.environ.get("TT_SOAK_SECONDS", "120"))
N_LISTENERS = int(os.environ.get("TT_SOAK_LISTENERS", "200"))
N_PERFORMERS = int(os.environ.get("TT_SOAK_PERFORMERS", "8"))
# Warm-up: the first sound touches the synth's and encoder's memory and the
# stream rings (2 MiB each, TT_STREAM_RING_BYTES) fill for about two
# minutes at 128 kbit/s; growth is measured from here on.
WARMUP_S = min(30.0, SECONDS / 4)
# RSS growth allowed after warm-up. What may still grow legitimately: the
# two stream rings filling (at most 4 MiB), SQLite's page cache (its
# default cap is 2 MiB per handle, two handles), malloc's arenas settling.
# Anything that grows per op, per eval or per listener-second would pass
# this in a long run; 32 MB is generous for 2 minutes and for 30.
SOAK_RSS_GROWTH_MB = 32
# Heap growth after warm-up outside the documents and SQLite (tutti_heap_bytes
# less tutti_docs_memory_bytes and tutti_sqlite_memory_bytes). Nothing else
# should grow with time: what does is a leak. Allowed: malloc's own overhead
# on the documents' buffers (up to 32 bytes for each of 2 buffers an op, until
# every slot of a window has been reused) and what a first use of a path
# allocates once.
SOAK_HEAP_REST_GROWTH_MB = 4

t = Tap()
resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
max_listeners = limit("TT_MAX_LISTENERS")
n_listeners = min(N_LISTENERS, max_listeners)
if n_listeners < N_LISTENERS:
    t.diag("asked for %d listeners; tuttid allows %d (TT_MAX_LISTENERS): measuring %d"
           % (N_LISTENERS, max_listeners, n_listeners))
# Listeners whose last 60 pages (6 s of 100 ms pages) are decoded at the
# end; every listener's every page is checked (CRC, sequence, stream time).
n_saved = min(n_listeners, 200)
tmp = tempfile.mkdtemp(prefix="tutti-soak-")
save = os.path.join(tmp, "streams")
os.makedirs(save)
srv = Server(tmpdir=tmp, args=["--log-level", "info"]).start()
sid, tok, docs, shared = loadlib.setup_session(srv.json, srv.ws, N_PERFORMERS, "soak")
performers = [loadlib.Performer(i, lambda: srv.port, sid, tok, docs[i], shared, seed=11)
              for i in range(N_PERFORMERS)]
for p in performers:
    p.open_first()
m0 = loadlib.metrics(srv)
sampler = loadlib.Sampler(srv, every=2.0)
sampler.start()
for p in performers:
    p.start()
t.diag("%d performers, %d listeners, %.0f s (warm-up %.0f s)" % (N_PERFORMERS, n_listeners, SECONDS,
                                                                 WARMUP_S))
probe = loadlib.run_listeners(srv.port, "/s/%s/live.ogg?t=%s" % (sid, tok), n_listeners, SECONDS,
                              rate=500, buffer_ms=200, save=save, save_count=n_saved,
                              save_pages=60)
out, err = probe.communicate(timeout=SECONDS + 120)
lst = loadlib.parse_kv(out.strip())
for p in performers:
    p.stop()
drained = all([p.drain() for p in performers]) and loadlib.settle(performers)
sampler.stop()
m1 = loadlib.metrics(srv)
rss_peak = max((s.rss_kb for s in sampler.samples if s.rss_kb), default=0)
warm = [s for s in sampler.samples if s.t >= WARMUP_S and s.rss_kb]
growth_mb = (warm[-1].rss_kb - warm[0].rss_kb) / 1024 if len(warm) >= 2 else None
# The heap after warm-up, by where it went: the documents (texts and OT
# windows, bounded per document), SQLite (its caches, bounded), and the
# rest, which is what a leak would grow. Each is the median of the first
# and of the last quarter of the samples, so that a passing burst (an
# evaluation's parse) is not read as growth. None under AddressSanitizer
# (no glibc heap figures).
heap = [s for s in warm if None not in (s.heap, s.docs, s.sqlite)]
heap_growth = None
if len(heap) >= 8:
    q = len(heap) // 4

    def median_of(rows, f):
        v = sorted(f(r) for r in rows)
        return v[len(v) // 2]
    parts = {"heap": lambda r: r.heap, "docs": lambda r: r.docs, "sqlite": lambda r: r.sqlite,
             "rest": lambda r: r.heap - r.docs - r.sqlite}
    heap_growth = {k: (median_of(heap[-q:], f) - median_of(heap[:q], f)) / 2**20
                   for k, f in parts.items()}
alive = srv.alive()
# AddressSanitizer's allocator leaves glibc's heap figures out of /metrics.
srv_asan = alive and srv.under_asan()
srv.stop()

t.ok(alive, "tuttid ran the whole soak")
t.ok(drained, "every performer's ops were acknowledged in the end")
res = loadlib.check_acked(srv.db, performers)
t.eq(res["integrity"], "ok", "the database passes integrity_check")
t.ok(not res["missing"], "every acknowledged op is stored at its acknowledged revision (%d ops)"
     % res["acked"], res["missing"][:5])
t.ok(not res["strays"], "nothing unacknowledged from a performer is stored", res["strays"][:5])
t.eq(res["dup"], 0, "no (doc, client, seq) is stored twice")
t.eq(res["gaps"], [], "every document's revisions run 1..N")
texts_equal = True
for doc in [shared] + docs:
    held = {p.docs[doc].text for p in performers if doc in p.docs}
    texts_equal &= len(held) == 1
t.ok(texts_equal, "performers sharing a document hold the same text")
unexpected = [e for p in performers for e in p.errors]
t.ok(not unexpected, "no performer got an unexpected error", unexpected[:3])
evals = {k: sum(p.evals[k] for p in performers) for k in ("sent", "ok", "failed")}
t.ok(evals["ok"] > 0 and evals["failed"] == 0,
     "evaluations succeed (%(ok)d of %(sent)d answered ok, %(failed)d failed)" % evals)
t.ok(lst.get("listeners") == n_listeners and lst.get("ok") == n_listeners,
     "all %d listeners got a stream with good headers and stayed connected" % n_listeners, out + err)
t.ok(lst.get("crc_bad") == 0 and lst.get("bad_head") == 0, "every page of every listener has a good CRC",
     out)
t.ok(lst.get("seq_gaps") == 0 and lst.get("granule_gaps") == 0,
     "no listener saw a gap in page sequence or stream time", out)
t.eq(lst.get("refused"), 0, "no listener was refused")
bad = [f for f in sorted(os.listdir(save)) if not loadlib.decodes(os.path.join(save, f), 100)]
t.ok(len(os.listdir(save)) == n_saved and not bad,
     "the last seconds of %d listeners decode with libopusfile" % len(os.listdir(save)), bad[:5])
if heap_growth is not None:
    t.ok(heap_growth["rest"] < SOAK_HEAP_REST_GROWTH_MB,
         "the heap outside the documents and SQLite grows less than SOAK_HEAP_REST_GROWTH_MB "
         "after warm-up (%.2f MB; the documents %.2f MB, SQLite %.2f MB)"
         % (heap_growth["rest"], heap_growth["docs"], heap_growth["sqlite"]))
else:
    t.ok(srv_asan, "glibc's heap figures were sampled (%d samples after warm-up)" % len(heap))
t.ok(growth_mb is not None and growth_mb < SOAK_RSS_GROWTH_MB,
     "tuttid's RSS after warm-up grows less than SOAK_RSS_GROWTH_MB (%s MB)"
     % ("%.1f" % growth_mb if growth_mb is not None else "?"))

late = (m1.get("tutti_render_late_blocks_total", 0) - m0.get("tutti_render_late_blocks_total", 0))
blocks = (m1.get("tutti_render_blocks_total", 0) - m0.get("tutti_render_blocks_total", 0))
lat = [x for p in performers for x in p.latencies()]
evl = [x for p in performers for x in p.eval_latencies]
result = {
    "seconds": SECONDS, "performers": N_PERFORMERS, "listeners": n_listeners,
    "missed_deadlines": int(late), "blocks": int(blocks),
    "late_at": sampler.late_intervals(),
    "machine_steal_ms": (sampler.samples[-1].steal_ms - sampler.samples[0].steal_ms
                         if len(sampler.samples) >= 2 and sampler.samples[0].steal_ms is not None
                         else None),
    "lost_ops": len(res["missing"]), "acked_ops": res["acked"],
    "max_rss_mb": round(rss_peak / 1024, 1),
    "rss_growth_after_warmup_mb": round(growth_mb, 1) if growth_mb is not None else None,
    "heap_growth_after_warmup_mb": ({k: round(v, 2) for k, v in heap_growth.items()}
                                    if heap_growth else None),
    "ack_p50_ms": round(loadlib.percentile(lat, 0.5) * 1000, 1),
    "ack_p99_ms": round(loadlib.percentile(lat, 0.99) * 1000, 1),
    "eval_p99_ms": round(loadlib.percentile(evl, 0.99) * 1000, 1),
    "underruns": lst.get("underruns"), "underrun_listeners": lst.get("underrun_listeners"),
    "client_stall_ms": lst.get("client_stall_ms"),
    "rate_limited": sum(p.rate_limited for p in performers),
    "rss_samples_mb": [(round(s.t), round(s.rss_kb / 1024, 1))
                       for s in sampler.samples if s.rss_kb][::5],
    "heap_samples_mb": [(round(s.t),) + tuple(round(x / 2**20, 2) for x in (s.heap, s.docs, s.sqlite))
                        for s in sampler.samples if None not in (s.heap, s.docs, s.sqlite)][::5],
    "loadavg": os.getloadavg(),
}
t.diag("soak: " + " ".join("%s=%s" % (k, v) for k, v in result.items() if not k.endswith("_samples_mb")))
t.diag("soak: RSS MB over time: %s" % result["rss_samples_mb"])
t.diag("soak: heap, docs, sqlite MB over time: %s" % result["heap_samples_mb"])
t.diag("soak: listeners: " + out.strip())
if os.environ.get("TT_LOAD_RESULT"):
    with open(os.environ["TT_LOAD_RESULT"], "w") as f:
        json.dump(result, f)
shutil.rmtree(tmp, ignore_errors=True)
t.done()
