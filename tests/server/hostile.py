"""Hostile programs through the real server: each is answered with a clear
error (or, for absurd control values, plays clamped), the old sound keeps
playing, and the server keeps answering. The render threads' late blocks
are reported (not asserted: this machine is shared; bench/ measures)."""
import http.client
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server  # noqa: E402

t = Tap()
HOSTILE = [
    ('s("bd*100000000")', "events"),
    ('s("' + "[" * 10000 + "bd" + "]" * 10000 + '")', "nest"),
    ('s("bd").fast(1e12)', ""),
    ("const f = (x) => f(x)\nf(1)", "itself"),
    ('s("bd").fsat(2)', "fast"),
]

with Server() as srv:
    st, sess = srv.json("POST", "/api/sessions", {"name": "hostile"})
    sid, tok = sess["id"], sess["owner_token"]
    ws = srv.ws()
    ws.call({"type": "hello", "id": 0, "name": "mallory"})
    ws.call({"type": "join", "id": 1, "session": sid, "token": tok})
    doc = ws.call({"type": "doc.create", "id": 2, "name": "d"})["doc"]["id"]
    snap = ws.call({"type": "doc.open", "id": 3, "doc": doc})
    rev, text = snap["rev"], snap["text"]

    def put(code):
        global rev, text
        op = ([code] if code else []) + ([-len(text.encode("utf-16-le")) // 2] if text else [])
        r = ws.call({"type": "op", "id": 10, "doc": doc, "rev": rev, "op": op})
        rev, text = r["rev"], code

    put('note("a4").s("sine")')
    r = ws.call({"type": "eval", "id": 11, "doc": doc, "quantum": "now"})
    t.ok(r.get("ok") is True, "a good program plays first", r)
    for i, (code, word) in enumerate(HOSTILE):
        time.sleep(0.12)  # under TT_MAX_EVALS_PER_SECOND
        put(code)
        started = time.time()
        r = ws.call({"type": "eval", "id": 20 + i, "doc": doc})
        took = time.time() - started
        e = r.get("error") or {}
        t.ok(r.get("ok") is False and e.get("line", 0) >= 1 and e.get("col", 0) >= 1 and
             word in e.get("message", ""),
             "%s... is refused with a position (%.2f s)" % (code[:24].replace("\n", " "), took), r)
    put('note(1e9).gain(1e9).s("sawtooth").lpf(-5).resonance(1000).speed(0)')
    r = ws.call({"type": "eval", "id": 40, "doc": doc, "quantum": "now"})
    t.ok(r.get("ok") is True, "absurd control values are accepted (they are clamped)", r)
    time.sleep(0.5)
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    c.request("GET", "/s/%s/live.ogg" % sid)
    resp = c.getresponse()
    data, end = b"", time.time() + 1.0
    while time.time() < end:
        data += resp.read1(65536)
    c.close()
    t.ok(resp.status == 200 and len(data) > 4000, "the stream goes on")
    st, h = srv.json("GET", "/api/health")
    t.ok(st == 200 and h["render"]["sessions"] == 1 and h["render"]["blocks"] > 0,
         "the server still answers; its render thread runs", h)
    t.diag("render: %d blocks, %d late (a shared machine; bench/ measures deadlines)"
           % (h["render"]["blocks"], h["render"]["late_blocks"]))
    ws.close()
t.done()
