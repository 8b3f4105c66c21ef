"""Overload (issue 11, item 3).

1. Listeners past capacity: TT_MAX_LISTENERS listeners are accepted (N);
   the next ones (N+1 ...) get 503 with Retry-After and a JSON body that
   names the limit, while the N already connected keep streaming: none is
   dropped, none sees a gap in page sequence or stream time. When they
   leave, a new listener is accepted again.
2. Floods from one performer: evaluations and edit operations far past
   TT_MAX_EVALS_PER_SECOND and TT_MAX_OPS_PER_SECOND on one connection are
   answered rate_limited (with retry_after_ms) to that performer only;
   another performer's edits and evaluations, sent meanwhile, are all
   accepted. The same with the flooding performer on 8 connections at
   once: the limits hold per performer too (token and name), so 8
   connections get no more through than one. The other performer's
   latencies are printed, not asserted."""
import os
import resource
import shutil
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, SRCDIR, WsClosed, limit  # noqa: E402
import loadlib  # noqa: E402

MAX_LISTENERS = limit("TT_MAX_LISTENERS")
MAX_EVALS = limit("TT_MAX_EVALS_PER_SECOND")
MAX_OPS = limit("TT_MAX_OPS_PER_SECOND")
t = Tap()
resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
tmp = tempfile.mkdtemp(prefix="tutti-overload-")
srv = Server(tmpdir=tmp, args=["--log-level", "info"]).start()
sid, tok, docs, shared = loadlib.setup_session(srv.json, srv.ws, 2, "overload")
path = "/s/%s/live.ogg?t=%s" % (sid, tok)

# ---- 1. listeners past capacity ----
HOLD_S = 40
crowd = loadlib.run_listeners(srv.port, path, MAX_LISTENERS, HOLD_S, rate=400, buffer_ms=300)


def listeners_now():
    st, h = srv.json("GET", "/api/health")
    return h.get("listeners", 0) if st == 200 else 0


end = time.monotonic() + 30
while time.monotonic() < end and listeners_now() < MAX_LISTENERS:
    time.sleep(0.2)
n_now = listeners_now()
t.eq(n_now, MAX_LISTENERS, "TT_MAX_LISTENERS (%d) listeners are connected" % MAX_LISTENERS)
st, hdrs, body = srv.request("GET", path)
t.eq(st, 503, "listener N+1 gets 503")
t.ok(hdrs.get("retry-after", "").isdigit(), "with a Retry-After header (%r)" % hdrs.get("retry-after"))
t.ok(b"TT_MAX_LISTENERS" in body and b'"error"' in body, "and a JSON body naming the limit", body)
more = loadlib.run_listeners(srv.port, path, 50, 3, rate=0)
m_out, _ = more.communicate(timeout=60)
more_kv = loadlib.parse_kv(m_out.strip())
t.ok(more_kv.get("status503") == 50 and more_kv.get("retry_after") == 50,
     "50 more listeners at once: each gets 503 with Retry-After", m_out)
out, err = crowd.communicate(timeout=HOLD_S + 60)
kv = loadlib.parse_kv(out.strip())
t.ok(kv.get("ok") == MAX_LISTENERS and kv.get("closed_early") == 0 and kv.get("refused") == 0,
     "the %d connected listeners were not dropped" % MAX_LISTENERS, out + err[-300:])
t.ok(kv.get("crc_bad") == 0 and kv.get("seq_gaps") == 0 and kv.get("granule_gaps") == 0,
     "and their streams have no bad page and no gap", out)
t.diag("overload: listeners at the cap: " + out.strip())
end = time.monotonic() + 20
while time.monotonic() < end and listeners_now() > 0:
    time.sleep(0.2)
c = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
c.sendall(("GET %s HTTP/1.0\r\n\r\n" % path).encode())
head = c.recv(200)
c.close()
t.ok(head.startswith(b"HTTP/1.1 200") or head.startswith(b"HTTP/1.0 200"),
     "once they left, a new listener is accepted", head[:40])


# ---- 2. floods ----
def join(cid, name):
    ws = srv.ws(timeout=30)
    ws.call({"type": "hello", "id": 0, "client_id": cid, "name": name})
    ws.call({"type": "join", "id": 1, "session": sid, "token": tok})
    return ws


class Bystander(threading.Thread):
    """Edits its own document and evaluates it, one request at a time,
    while the flood runs; keeps every reply and its latency."""

    def __init__(self, doc, seconds, cid):
        super().__init__(daemon=True)
        self.ws, self.doc, self.seconds = join(cid, "bystander"), doc, seconds
        snap = self.ws.call({"type": "doc.open", "id": "o", "doc": doc})
        self.rev, self.len = snap["rev"], len(snap["text"])
        self.replies, self.lat = [], []

    def run(self):
        end = time.monotonic() + self.seconds
        n = 0
        while time.monotonic() < end:
            n += 1
            t0 = time.monotonic()
            r = self.ws.call({"type": "op", "id": "b%d" % n, "doc": self.doc, "rev": self.rev,
                              "op": [self.len, "\n//"], "seq": n})
            self.lat.append(time.monotonic() - t0)
            if r.get("type") == "ack":
                self.rev, self.len = r["rev"], self.len + 3
            self.replies.append(r)
            if n % 5 == 0:
                t0 = time.monotonic()
                r = self.ws.call({"type": "eval", "id": "e%d" % n, "doc": self.doc, "quantum": "now"})
                self.lat.append(time.monotonic() - t0)
                self.replies.append(r)
            time.sleep(0.05)


def flood(ws, doc, n_evals, n_ops, first_seq):
    """Sends the requests without waiting, then reads every reply."""
    for i in range(n_evals):
        ws.send_json({"type": "eval", "id": "fe%d" % i, "doc": doc, "quantum": "now"})
    for i in range(n_ops):
        ws.send_json({"type": "op", "id": "fo%d" % i, "doc": doc, "rev": 0, "op": ["\n"],
                      "seq": first_seq + i})
    counts = {"rate_limited": 0, "ok": 0, "other": 0, "retry_after": 0, "per_performer": 0}
    want = n_evals + n_ops
    got = 0
    ws.sock.settimeout(60)
    try:
        while got < want:
            m = ws.recv_json()
            if not str(m.get("id", "")).startswith(("fe", "fo")):
                continue
            got += 1
            e = m.get("error", {})
            if e.get("code") == "rate_limited":
                counts["rate_limited"] += 1
                counts["retry_after"] += isinstance(e.get("retry_after_ms"), int)
                counts["per_performer"] += "from this performer" in e.get("message", "")
            elif m.get("type") in ("ack", "eval.result"):
                counts["ok"] += 1
            else:
                counts["other"] += 1
    except (OSError, WsClosed):
        pass
    return counts


for conns in (1, 8):
    flooders = [join("flood-%d-%d" % (conns, k), "flooder") for k in range(conns)]
    for k, ws in enumerate(flooders):
        ws.call({"type": "doc.open", "id": "o", "doc": docs[0]})
    by = Bystander(docs[1], 6, "bystander-%d" % conns)
    by.start()
    results = [None] * conns

    def run_flood(k):
        results[k] = flood(flooders[k], docs[0], 300, 1000, 1 + 100000 * k)
    ths = [threading.Thread(target=run_flood, args=(k,)) for k in range(conns)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(120)
    by.join(60)
    limited = sum(r["rate_limited"] for r in results if r)
    with_retry = sum(r["retry_after"] for r in results if r)
    accepted = sum(r["ok"] for r in results if r)
    t.ok(all(results) and limited > 0 and with_retry == limited,
         "a flood of 300 evaluations and 1000 ops on %d connection(s) is answered rate_limited "
         "with retry_after_ms (%d limited, %d accepted)" % (conns, limited, accepted), results)
    t.ok(accepted <= (MAX_EVALS + MAX_OPS) * 3,
         "the performer gets at most about TT_MAX_EVALS_PER_SECOND + TT_MAX_OPS_PER_SECOND a "
         "second through, however many connections (%d accepted on %d connection(s))"
         % (accepted, conns))
    if conns > 1:
        t.ok(sum(r["per_performer"] for r in results if r) > 0,
             "and the refusals past the first connection's share say it is the performer's limit")
    bad = [r for r in by.replies if r.get("type") not in ("ack", "eval.result")
           or (r.get("type") == "eval.result" and not r.get("ok"))]
    t.ok(by.replies and not bad, "meanwhile another performer's %d edits and evaluations all went "
         "through" % len(by.replies), bad[:3])
    t.diag("overload: flood on %d connection(s): bystander p50 %.1f ms, p99 %.1f ms, max %.1f ms "
           "over %d requests" % (conns, loadlib.percentile(by.lat, 0.5) * 1000,
                                 loadlib.percentile(by.lat, 0.99) * 1000,
                                 max(by.lat or [0]) * 1000, len(by.lat)))
    for ws in flooders:
        ws.close()
    by.ws.close()

t.ok(srv.alive(), "tuttid is still running")
srv.stop()
shutil.rmtree(tmp, ignore_errors=True)
t.done()
