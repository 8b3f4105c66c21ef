"""GET /metrics against issue #10.5's list: sessions, performers,
listeners, evaluations, render load, missed deadlines, operations (a
counter, whose rate is operations per second) and bytes out. Each name
appears in the Prometheus text format, and each moves when the thing it
counts happens (missed deadlines only appear: nothing here may make the
render thread late)."""
import http.client
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server  # noqa: E402

t = Tap()
tmp = tempfile.mkdtemp(prefix="tutti-metrics-")


def scrape(srv):
    st, h, body = srv.request("GET", "/metrics")
    text = body.decode()
    vals, types = {}, {}
    for line in text.splitlines():
        m = re.match(r"# TYPE (\S+) (\S+)$", line)
        if m:
            types[m.group(1)] = m.group(2)
        elif line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            vals[k] = float(v)
    return st, h, vals, types


def wait_for(srv, cond, timeout=15):
    end = time.time() + timeout
    while True:
        _, _, v, _ = scrape(srv)
        if cond(v) or time.time() > end:
            return v
        time.sleep(0.1)


NAMES = {  # the #10.5 list -> our names, with their types
    "sessions": [("tutti_sessions", "gauge"), ("tutti_sessions_live", "gauge")],
    "performers": [("tutti_performers", "gauge"), ('tutti_session_members{role="performer"}', "gauge")],
    "listeners": [("tutti_listeners", "gauge"), ('tutti_session_members{role="listener"}', "gauge")],
    "evaluations": [('tutti_evaluations_total{result="ok"}', "counter"),
                    ('tutti_evaluations_total{result="error"}', "counter")],
    "render load": [("tutti_render_busy_seconds_total", "counter"), ("tutti_render_blocks_total", "counter")],
    "missed deadlines": [("tutti_render_late_blocks_total", "counter")],
    "operations per second": [("tutti_edit_ops_total", "counter")],
    "bytes out": [("tutti_bytes_out_total", "counter")],
}

with Server(["--pbkdf2-iterations", "1000"], tmpdir=tmp) as srv:
    st, h, v0, types = scrape(srv)
    t.ok(st == 200 and h.get("content-type", "").startswith("text/plain; version=0.0.4"),
         "GET /metrics answers the Prometheus text format")
    for what, names in NAMES.items():
        for name, typ in names:
            base = name.split("{")[0]
            t.ok(name in v0 and types.get(base) == typ, "%s: %s is there, a %s" % (what, name, typ), sorted(v0))

    st, sess = srv.json("POST", "/api/sessions", {"name": "measured"})
    sid, owner = sess["id"], sess["owner_token"]
    v1 = scrape(srv)[2]
    t.eq(v1["tutti_sessions"], v0["tutti_sessions"] + 1, "tutti_sessions counts the new session")

    ws = srv.ws()
    ws.call({"type": "hello", "id": 0, "name": "p"})
    ws.call({"type": "join", "id": 1, "session": sid, "token": owner})
    lis = srv.ws()
    lis.call({"type": "hello", "id": 0, "name": "l"})
    lis.call({"type": "join", "id": 1, "session": sid})
    v2 = scrape(srv)[2]
    t.ok(v2["tutti_performers"] == v0["tutti_performers"] + 1
         and v2['tutti_session_members{role="owner"}'] == v0['tutti_session_members{role="owner"}'] + 1,
         "an owner joins: tutti_performers and members{owner} move")
    t.eq(v2['tutti_session_members{role="listener"}'], v0['tutti_session_members{role="listener"}'] + 1,
         "a listener joins over WebSocket: members{listener} moves")
    v2 = wait_for(srv, lambda v: v["tutti_sessions_live"] >= 1)
    t.ok(v2["tutti_sessions_live"] >= 1, "the joined session is live: tutti_sessions_live")

    doc = ws.call({"type": "doc.create", "id": 2, "name": "main"})["doc"]["id"]
    ws.call({"type": "doc.open", "id": 3, "doc": doc})
    text = 's("bd sd")'
    ws.call({"type": "op", "id": 4, "doc": doc, "rev": 0, "op": [text]})
    for i in range(4):
        ws.call({"type": "op", "id": 5 + i, "doc": doc, "rev": 1 + i, "op": [len(text) + i, " "]})
    v3 = wait_for(srv, lambda v: v["tutti_edit_ops_total"] >= v0["tutti_edit_ops_total"] + 5)
    t.eq(v3["tutti_edit_ops_total"], v0["tutti_edit_ops_total"] + 5, "5 edits: tutti_edit_ops_total moves by 5")
    # Memory, by where it goes (what the soak reads to tell bounded growth
    # from a leak). The heap figure is glibc's; AddressSanitizer's
    # allocator has none, and then the line is left out.
    t.ok(v3["tutti_docs_memory_bytes"] >= v0["tutti_docs_memory_bytes"] + len(text) + 5,
         "an open document's text and window: tutti_docs_memory_bytes moves",
         (v0["tutti_docs_memory_bytes"], v3["tutti_docs_memory_bytes"]))
    t.ok(v3["tutti_sqlite_memory_bytes"] > 0 and types.get("tutti_sqlite_memory_bytes") == "gauge",
         "tutti_sqlite_memory_bytes: SQLite's share, a gauge")
    if srv.under_asan():
        t.ok("tutti_heap_bytes" not in v3, "under AddressSanitizer tutti_heap_bytes is left out")
    else:
        t.ok(v3.get("tutti_heap_bytes", 0) > v3["tutti_docs_memory_bytes"] + v3["tutti_sqlite_memory_bytes"]
             and types.get("tutti_heap_bytes") == "gauge",
             "tutti_heap_bytes: the whole heap, more than the parts counted apart", v3.get("tutti_heap_bytes"))

    r = ws.call({"type": "eval", "id": 20, "doc": doc, "quantum": "now"})
    while r.get("type") != "eval.result":
        r = ws.recv_json()
    t.ok(r.get("ok") is True, "an evaluation lands", r)
    bad = ws.call({"type": "doc.create", "id": 21, "name": "bad"})["doc"]["id"]
    ws.call({"type": "doc.open", "id": 22, "doc": bad})
    ws.call({"type": "op", "id": 23, "doc": bad, "rev": 0, "op": ['s("bd"']})
    r = ws.call({"type": "eval", "id": 24, "doc": bad, "quantum": "now"})
    while r.get("type") != "eval.result":
        r = ws.recv_json()
    t.ok(r.get("ok") is False, "a broken one fails", r)
    ok_k, err_k = 'tutti_evaluations_total{result="ok"}', 'tutti_evaluations_total{result="error"}'
    v4 = wait_for(srv, lambda v: v[ok_k] >= v0[ok_k] + 1 and v[err_k] >= v0[err_k] + 1)
    t.ok(v4[ok_k] == v0[ok_k] + 1 and v4[err_k] == v0[err_k] + 1, "tutti_evaluations_total moves by result",
         (v4[ok_k], v4[err_k]))

    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    c.request("GET", "/s/%s/live.ogg" % sid)
    resp = c.getresponse()
    got = resp.read1(4096)
    v5 = wait_for(srv, lambda v: v["tutti_listeners"] >= v0["tutti_listeners"] + 1)
    t.ok(got.startswith(b"OggS") and v5["tutti_listeners"] == v0["tutti_listeners"] + 1,
         "an HTTP listener: tutti_listeners moves")
    v6 = wait_for(srv, lambda v: v["tutti_bytes_out_total"] > v4["tutti_bytes_out_total"] + 4096
                  and v["tutti_render_busy_seconds_total"] > v4["tutti_render_busy_seconds_total"]
                  and v["tutti_render_blocks_total"] > v4["tutti_render_blocks_total"])
    t.ok(v6["tutti_bytes_out_total"] > v4["tutti_bytes_out_total"] + 4096, "tutti_bytes_out_total grows with the stream")
    t.ok(v6["tutti_render_busy_seconds_total"] > v4["tutti_render_busy_seconds_total"] and
         v6["tutti_render_blocks_total"] > v4["tutti_render_blocks_total"],
         "render load: busy seconds and blocks grow while the session renders")
    t.ok(v6["tutti_render_busy_seconds_total"] < v6["tutti_uptime_seconds"] * max(1, v6["tutti_sessions_live"]) + 1,
         "busy time is a part of the time the render threads lived")
    c.close()

    ws.close()
    lis.close()
    # Each close is its own connection's event: wait until both are handled.
    back = lambda v: (v["tutti_performers"] == v0["tutti_performers"] and
                      v['tutti_session_members{role="listener"}'] ==
                      v0['tutti_session_members{role="listener"}'])
    v7 = wait_for(srv, back)
    t.ok(back(v7), "members leave: the gauges come back down",
         (v7["tutti_performers"], v7['tutti_session_members{role="listener"}']))
shutil.rmtree(tmp, ignore_errors=True)
t.done()
