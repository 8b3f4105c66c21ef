"""Flood limits, each at N and N+1: WebSocket connections per address,
edit operations and evaluations per second per connection. A refused
request gets "rate_limited" and the others are unaffected."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server  # noqa: E402

MAX_WS_PER_ADDRESS = 64     # TT_MAX_WS_PER_ADDRESS
MAX_OPS_PER_SECOND = 200    # TT_MAX_OPS_PER_SECOND
MAX_EVALS_PER_SECOND = 10   # TT_MAX_EVALS_PER_SECOND

t = Tap()


def replies(ws, ids):
    """Reads until a reply for every id in ids has come; returns them by id."""
    got = {}
    while len(got) < len(ids):
        m = ws.recv_json()
        if m.get("id") in ids:
            got[m["id"]] = m
    return got


with Server() as srv:
    conns = [srv.ws() for _ in range(MAX_WS_PER_ADDRESS)]
    t.ok(all(c.status == 101 for c in conns), "TT_MAX_WS_PER_ADDRESS connections from one address")
    extra = srv.ws()
    t.ok(extra.status == 503 and b"TT_MAX_WS_PER_ADDRESS" in extra.body and b"64" in extra.body and
         extra.response_headers.get("retry-after"), "one more is 503 with Retry-After", extra.status)
    extra.close()
    conns.pop().close()
    r = None
    for _ in range(50):   # the close is seen by the loop a moment later
        again = srv.ws()
        if again.status == 101:
            r = again
            break
        again.close()
        import time
        time.sleep(0.05)
    t.ok(r is not None, "after one closes, another may connect")
    for c in conns + ([r] if r else []):
        c.close()

with Server(args=["--ws-per-address", "3"]) as small:
    cs = [small.ws() for _ in range(4)]
    t.ok([c.status for c in cs] == [101, 101, 101, 503], "--ws-per-address 3: the fourth is refused",
         [c.status for c in cs])
    for c in cs:
        c.close()

with Server() as srv:

    st, sess = srv.json("POST", "/api/sessions", {"name": "floods"})
    sid = sess["id"]
    tok = sess["owner_token"]
    a, b = srv.ws(), srv.ws()
    for ws, name in ((a, "ann"), (b, "bo")):
        ws.call({"type": "hello", "id": 0, "name": name})
        ws.call({"type": "join", "id": 1, "session": sid, "token": tok})
    doc = a.call({"type": "doc.create", "id": 2, "name": "d"})["doc"]["id"]
    a.call({"type": "doc.open", "id": 3, "doc": doc})
    b.call({"type": "doc.open", "id": 3, "doc": doc})

    # N + 1 ops in one go, all made against revision 0: the server
    # transforms them; the last is over the limit.
    ids = list(range(100, 100 + MAX_OPS_PER_SECOND + 1))
    for i in ids:
        a.send_json({"type": "op", "id": i, "doc": doc, "rev": 0, "op": ["x"]})
    got = replies(a, set(ids))
    acked = [i for i in ids if got[i].get("type") == "ack"]
    limited = [i for i in ids if got[i].get("type") == "error" and got[i]["error"]["code"] == "rate_limited"]
    t.eq(len(acked), MAX_OPS_PER_SECOND, "TT_MAX_OPS_PER_SECOND ops in a second are applied")
    t.ok(limited == [ids[-1]] and "TT_MAX_OPS_PER_SECOND" in got[ids[-1]]["error"]["message"] and
         got[ids[-1]]["error"]["retry_after_ms"] > 0, "op N+1 is rate_limited, saying when to retry",
         got[ids[-1]])
    r = b.call({"type": "op", "id": 9, "doc": doc, "rev": MAX_OPS_PER_SECOND, "op": [MAX_OPS_PER_SECOND, "y"]})
    t.ok(r.get("type") == "ack", "another performer is not limited by it", r)

    # Evaluations: N + 1 in a row from one connection.


    e = srv.ws()
    e.call({"type": "hello", "id": 0, "name": "ev"})
    e.call({"type": "join", "id": 1, "session": sid, "token": tok})
    d2 = e.call({"type": "doc.create", "id": 2, "name": "e"})["doc"]["id"]
    e.call({"type": "doc.open", "id": 3, "doc": d2})
    e.call({"type": "op", "id": 4, "doc": d2, "rev": 0, "op": ['s("bd sd")']})
    ids = list(range(200, 200 + MAX_EVALS_PER_SECOND + 1))
    for i in ids:
        e.send_json({"type": "eval", "id": i, "doc": d2, "quantum": "now"})
    got = replies(e, set(ids))
    ok_ = [i for i in ids if got[i].get("type") == "eval.result" and got[i]["ok"]]
    t.eq(len(ok_), MAX_EVALS_PER_SECOND, "TT_MAX_EVALS_PER_SECOND evaluations in a second land")
    t.ok(got[ids[-1]].get("type") == "error" and got[ids[-1]]["error"]["code"] == "rate_limited",
         "evaluation N+1 is rate_limited", got[ids[-1]])
    r = b.call({"type": "tempo", "id": 5, "cps": 0.6})
    t.ok(r.get("type") == "tempo", "another performer can still change the tempo", r)
    for ws in (a, b, e):
        ws.close()
t.done()
