"""Flood limits, each at N and N+1: WebSocket connections per address and
in all, HTTP connections in all, documents open per connection, edit
operations and evaluations per second per connection. A refused request
gets a clear error and the others are unaffected. (Pending requests per
address and the request deadline: tests/server/slowloris.py.)"""
import os
import resource
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, limit  # noqa: E402

MAX_WS_PER_ADDRESS = 64     # TT_MAX_WS_PER_ADDRESS
MAX_OPS_PER_SECOND = 200    # TT_MAX_OPS_PER_SECOND
MAX_EVALS_PER_SECOND = 10   # TT_MAX_EVALS_PER_SECOND

MAX_HTTP_CONNECTIONS = limit("TT_MAX_HTTP_CONNECTIONS")
MAX_WS_CONNECTIONS = limit("TT_MAX_WS_CONNECTIONS")
MAX_OPEN_DOCS = limit("TT_MAX_OPEN_DOCS")
PER_ADDRESS = 100  # under TT_MAX_HTTP_PENDING_PER_ADDRESS: many loopback addresses

t = Tap()


def connect_from(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((addr, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    return s


def address(i):
    """The i-th of many client addresses: 127.0.(1 + i / 25000).(2 + ...)."""
    k = i // PER_ADDRESS
    return "127.0.%d.%d" % (1 + k // 250, 2 + k % 250)


def is_open(s):
    """True while the server has neither closed nor reset s."""
    s.settimeout(0)
    try:
        return s.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def upgrade(s):
    s.settimeout(10)
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        d = s.recv(4096)
        if not d:
            break
        data += d
    return data


# Thousands of sockets: this process and the tuttid it starts need the
# descriptors (Debian's default soft limit is 1024).
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = MAX_WS_CONNECTIONS + MAX_HTTP_CONNECTIONS + 512
if soft < want and (hard == resource.RLIM_INFINITY or hard >= want):
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
fds = resource.getrlimit(resource.RLIMIT_NOFILE)[0]

# ---- HTTP connections in all ----
with Server() as srv:
    conns = [connect_from(address(i), srv.port) for i in range(MAX_HTTP_CONNECTIONS)]
    time.sleep(0.5)
    t.ok(all(is_open(c) for c in conns), "TT_MAX_HTTP_CONNECTIONS (%d) connections are kept"
         % MAX_HTTP_CONNECTIONS)
    extra = connect_from("127.0.250.250", srv.port)
    time.sleep(0.5)
    t.ok(not is_open(extra), "connection N+1 is refused at once")
    extra.close()
    conns.pop().close()
    time.sleep(0.3)
    again = connect_from("127.0.250.250", srv.port)
    again.settimeout(10)
    again.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    t.ok(again.recv(12) == b"HTTP/1.1 200", "after one closes, another is served")
    again.close()
    for c in conns:
        c.close()
    t.ok(srv.wait_log("TT_MAX_HTTP_CONNECTIONS"), "the refusal is logged, naming the "
         "limit")

# ---- WebSocket connections in all ----
if fds < MAX_WS_CONNECTIONS + 100:
    t.ok(True, "# SKIP TT_MAX_WS_CONNECTIONS needs %d descriptors; the limit here is %d"
         % (MAX_WS_CONNECTIONS + 100, fds))
else:
    with Server(args=["--ws-per-address", str(MAX_WS_CONNECTIONS)]) as srv:
        ws = []
        statuses = []
        for i in range(MAX_WS_CONNECTIONS):
            s = connect_from(address(i), srv.port)
            statuses.append(upgrade(s)[:12])
            ws.append(s)
        t.ok(statuses.count(b"HTTP/1.1 101") == MAX_WS_CONNECTIONS,
             "TT_MAX_WS_CONNECTIONS (%d) WebSockets are open at once (upgraded ones take no HTTP "
             "slot)" % MAX_WS_CONNECTIONS, set(statuses))
        extra = connect_from("127.0.250.250", srv.port)
        r = upgrade(extra)
        t.ok(r.startswith(b"HTTP/1.1 503") and b"TT_MAX_WS_CONNECTIONS" in r and
             b"Retry-After" in r, "WebSocket N+1 is 503 naming TT_MAX_WS_CONNECTIONS", r[:300])
        extra.close()
        st, h = srv.json("GET", "/api/health")
        t.ok(st == 200 and h["websockets"] == MAX_WS_CONNECTIONS,
             "HTTP requests are still served meanwhile", h)
        for s in ws:
            s.close()


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

    # Documents open on one connection: N, then N+1.
    d = srv.ws()
    d.call({"type": "join", "id": 1, "session": sid, "token": tok})
    opened = []
    for i in range(MAX_OPEN_DOCS + 1):
        di = d.call({"type": "doc.create", "id": 10 + i, "name": "open-%d" % i})["doc"]["id"]
        opened.append(d.call({"type": "doc.open", "id": 1000 + i, "doc": di}))
    t.ok(all(m.get("type") == "doc.snapshot" for m in opened[:MAX_OPEN_DOCS]),
         "TT_MAX_OPEN_DOCS (%d) documents open on one connection" % MAX_OPEN_DOCS)
    last = opened[-1]
    t.ok(last.get("type") == "error" and last["error"]["code"] == "too_many" and
         "TT_MAX_OPEN_DOCS" in last["error"]["message"], "document N+1 is refused", last)
    d.call({"type": "doc.close", "id": 5000, "doc": opened[0]["doc"]})
    r = d.call({"type": "doc.open", "id": 5001, "doc": last.get("doc") or di})
    t.ok(r.get("type") == "doc.snapshot", "after closing one, it opens", r)
    d.close()
    for ws in (a, b, e):
        ws.close()
t.done()
