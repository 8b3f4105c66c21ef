"""Hostile inputs through the real server (issue 9, part 5): each is answered
with a clear error (absurd control values play clamped), the old sound keeps
playing, the server keeps answering, and the render thread misses no block:
its late-block count (GET /api/health) is read before and after each input
and must not move. Slowloris connections are in tests/server/slowloris.py."""
import http.client
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, ws_frame  # noqa: E402

MAX_WS_MESSAGE = 4 * 1024 * 1024   # TT_MAX_WS_MESSAGE
MAX_HTTP_BODY = 1024 * 1024        # TT_MAX_HTTP_BODY
MAX_EVALS_PER_SECOND = 10          # TT_MAX_EVALS_PER_SECOND
TEN_MB = 10 * 1024 * 1024

t = Tap()
PROGRAMS = [
    ('s("bd*100000000")', "events"),
    ('s("' + "[" * 10000 + "bd" + "]" * 10000 + '")', "nest"),
    ('s("bd").fast(1e12)', ""),
    ("const f = (x) => f(x)\nf(1)", "itself"),
    ("const g = () => g()\ng()", "itself"),
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
    state = {"rev": snap["rev"], "text": snap["text"], "id": 100}

    def next_id():
        state["id"] += 1
        return state["id"]

    def put(code):
        text = state["text"]
        op = ([code] if code else []) + ([-len(text.encode("utf-16-le")) // 2] if text else [])
        r = ws.call({"type": "op", "id": next_id(), "doc": doc, "rev": state["rev"], "op": op})
        state["rev"], state["text"] = r["rev"], code

    def late():
        st, h = srv.json("GET", "/api/health")
        return h["render"]["late_blocks"], h["render"]["blocks"]

    def calm(what, fn):
        """Runs fn (which asserts the answer) between two readings of the
        late blocks, with time for the render thread to go on after it."""
        before, b0 = late()
        fn()
        time.sleep(0.25)
        after, b1 = late()
        t.ok(after == before and b1 > b0, "%s: the render thread missed no block "
             "(late blocks %d -> %d, %d blocks rendered meanwhile)" % (what, before, after, b1 - b0))

    put('note("a4").s("sine")')
    r = ws.call({"type": "eval", "id": 11, "doc": doc, "quantum": "now"})
    t.ok(r.get("ok") is True, "a good program plays first", r)
    time.sleep(0.5)  # the render thread is under way

    # ---- programs: budgets and errors with positions ----
    for code, word in PROGRAMS:
        short = code[:24].replace("\n", " ")

        def run(code=code, word=word, short=short):
            time.sleep(1.0 / MAX_EVALS_PER_SECOND + 0.02)
            put(code)
            r = ws.call({"type": "eval", "id": next_id(), "doc": doc})
            e = r.get("error") or {}
            t.ok(r.get("ok") is False and e.get("line", 0) >= 1 and e.get("col", 0) >= 1 and
                 word in e.get("message", ""), "%s... is refused with a position" % short, r)
        calm(short, run)

    def absurd():
        time.sleep(0.12)
        put('note(1e9).gain(1e9).s("sawtooth").lpf(-5).resonance(1000).speed(0)'
            '.room(1e300).delay(-1e300).pan(1e12)')
        r = ws.call({"type": "eval", "id": next_id(), "doc": doc, "quantum": "now"})
        t.ok(r.get("ok") is True, "huge note, gain and effect values are accepted (clamped)", r)
    calm("huge values", absurd)

    # ---- floods of evaluations ----
    def flood():
        time.sleep(1.1)
        ids = [next_id() for _ in range(5 * MAX_EVALS_PER_SECOND)]
        for i in ids:
            ws.send_json({"type": "eval", "id": i, "doc": doc, "quantum": "now"})
        got = {}
        while len(got) < len(ids):
            m = ws.recv_json()
            if m.get("id") in ids:
                got[m["id"]] = m
        limited = [i for i in ids if got[i].get("type") == "error" and
                   got[i]["error"]["code"] == "rate_limited"]
        t.ok(len(limited) >= len(ids) - MAX_EVALS_PER_SECOND,
             "a flood of %d evaluations: all past TT_MAX_EVALS_PER_SECOND are rate_limited (%d)"
             % (len(ids), len(limited)))
    calm("eval flood", flood)

    # ---- edit operations at wrong positions and stale revisions ----
    def bad_ops():
        head, n = state["rev"], len(state["text"].encode("utf-16-le")) // 2
        cases = [
            ("past the end", {"rev": head, "op": [n + 5, "x"]}),
            ("deleting past the end", {"rev": head, "op": [-(n + 5)]}),
            ("not covering the document", {"rev": head, "op": ["x"] + ([1] if n > 1 else [])}),
            ("from a future revision", {"rev": head + 1000, "op": ["x", n]}),
            ("from a negative revision", {"rev": -1, "op": ["x", n]}),
            ("not an operation", {"rev": head, "op": {"insert": "x"}}),
        ]
        for what, body in cases:
            body.update({"type": "op", "id": next_id(), "doc": doc})
            r = ws.call(body)
            e = r.get("error") or {}
            t.ok(r.get("type") == "error" and e.get("code") and e.get("message"),
                 "an op %s is refused: %s" % (what, e.get("code")), r)
        snap = ws.call({"type": "doc.open", "id": next_id(), "doc": doc})
        t.ok(snap.get("rev") == head and snap.get("text") == state["text"],
             "and the document is unchanged", snap)
    calm("bad ops", bad_ops)

    # ---- unauthenticated writes ----
    def unauthenticated():
        stranger = srv.ws()
        r1 = stranger.call({"type": "op", "id": 1, "doc": doc, "rev": state["rev"], "op": ["x"]})
        r2 = stranger.call({"type": "eval", "id": 2, "doc": doc})
        r3 = stranger.call({"type": "join", "id": 3, "session": sid, "token": "t1.forged"})
        t.ok(all(r.get("type") == "error" for r in (r1, r2, r3)) and
             r3["error"]["code"] == "forbidden",
             "a connection that has not joined cannot edit or evaluate, nor join with a forged "
             "token: %s, %s, %s" % (r1.get("error", {}).get("code"), r2.get("error", {}).get("code"),
                                    r3.get("error", {}).get("code")))
        stranger.close()
        st, _, body = srv.request("PATCH", "/api/sessions/" + sid, {"listen": "token"})
        t.ok(st == 401 and b"error" in body, "an HTTP write without a token is 401", (st, body))
        st, _, body = srv.request("POST", "/api/sessions/%s/invites" % sid, {"role": "owner"},
                                  {"Authorization": "Bearer t1.forged"})
        t.ok(st in (401, 403) and b"error" in body, "an HTTP write with a forged token is refused",
             (st, body))
    calm("unauthenticated writes", unauthenticated)

    # ---- 10 MB messages ----
    def big_ws():
        w = srv.ws()
        w.sock.settimeout(30)
        frame = ws_frame(1, b"x" * TEN_MB)
        try:
            for i in range(0, len(frame), 1 << 20):  # the server stops reading early
                w.send_raw(frame[i:i + (1 << 20)])
        except OSError:
            pass
        code, reason = w.expect_close()
        t.ok(code == 1009, "a 10 MB WebSocket message is closed with 1009 (TT_MAX_WS_MESSAGE)",
             (code, reason))
        w.close()
        w = srv.ws()
        w.sock.settimeout(30)
        part = b"x" * (1 << 20)
        try:
            for i in range(10):  # ten 1 MiB fragments: each fits, the message does not
                w.send_raw(ws_frame(1 if i == 0 else 0, part, fin=(i == 9)))
        except OSError:
            pass
        code, reason = w.expect_close()
        t.ok(code == 1009, "a 10 MB message in 1 MiB fragments is closed with 1009 too",
             (code, reason))
        w.close()
    calm("10 MB WebSocket message", big_ws)

    def big_http():
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        c.putrequest("POST", "/api/sessions")
        c.putheader("Content-Length", str(TEN_MB))
        c.putheader("Content-Type", "application/json")
        c.endheaders()
        try:
            c.send(b"{" + b" " * 65536)
        except OSError:
            pass
        r = c.getresponse()
        body = r.read()
        c.close()
        t.ok(r.status == 413 and b"TT_MAX_HTTP_BODY" in body, "a 10 MB HTTP body is 413 before "
             "it is read", (r.status, body[:200]))
    calm("10 MB HTTP body", big_http)

    # ---- invalid UTF-8 ----
    def bad_utf8():
        w = srv.ws()
        w.send_raw(ws_frame(1, b'{"type":"chat","text":"\xc3\x28"}'))
        code, reason = w.expect_close()
        t.ok(code == 1007, "invalid UTF-8 in a text message is closed with 1007", (code, reason))
        w.close()
        st, _, body = srv.request("POST", "/api/sessions", b'{"name": "\xff\xfe"}',
                                  {"Content-Type": "application/json"})
        t.ok(st == 400 and b"error" in body, "invalid UTF-8 in a JSON body is 400", (st, body))
    calm("invalid UTF-8", bad_utf8)

    # ---- afterwards ----
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    c.request("GET", "/s/%s/live.ogg" % sid)
    resp = c.getresponse()
    data, end = b"", time.time() + 1.0
    while time.time() < end:
        data += resp.read1(65536)
    c.close()
    t.ok(resp.status == 200 and len(data) > 4000, "the stream goes on")
    r = ws.call({"type": "ping", "id": next_id()})
    st, h = srv.json("GET", "/api/health")
    t.ok(r.get("type") == "pong" and st == 200 and h["render"]["sessions"] == 1,
         "the attacker's own connection and the server still answer; the render thread runs", h)
    ws.close()
t.done()
