"""Slowloris against the real tuttid (server/http_guard.h, server/ws_conn.c).

Connections from one address (127.0.0.2: Linux routes all of 127/8 to
the loopback, so a test can be several hosts) send a request header a
byte every two seconds; WebSocket upgrades stall mid-handshake; upgraded
WebSockets stall mid-frame, between fragments, or trickle a frame. Each
limit is checked on both sides:
  TT_MAX_HTTP_PENDING_PER_ADDRESS  N trickling connections are kept, N+1 is
                                   refused at once; another address is not
  TT_HTTP_REQUEST_TIMEOUT_S        a request still arriving after it is
                                   closed; one that arrives slowly but
                                   within it is answered
  TT_WS_MESSAGE_TIMEOUT_S          a message still arriving after it is
                                   closed with 1008; one trickled within it
                                   is answered
while honest clients (127.0.0.1) are served throughout."""
import json
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, WsClient, ws_frame, recv_all  # noqa: E402

PENDING_PER_ADDRESS = 128   # TT_MAX_HTTP_PENDING_PER_ADDRESS
REQUEST_TIMEOUT_S = 10      # TT_HTTP_REQUEST_TIMEOUT_S
WS_MESSAGE_TIMEOUT_S = 20   # TT_WS_MESSAGE_TIMEOUT_S

t = Tap()


def connect_from(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((addr, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    return s


def is_open(s):
    """True while the server has neither closed nor reset s (nothing to read)."""
    s.settimeout(0)  # non-blocking: a peek answers at once
    try:
        return s.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def closed_within(s, seconds):
    """True when the server ends s (EOF or reset) within seconds; reads and
    drops whatever comes first."""
    s.settimeout(seconds)
    end = time.time() + seconds
    try:
        while time.time() < end:
            if s.recv(4096) == b"":
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


def trickle(s, data, every, stop):
    """Sends data a byte at a time, one per `every` seconds, until done or stop."""
    for b in data:
        if stop.is_set():
            return
        try:
            s.sendall(bytes([b]))
        except OSError:
            return
        stop.wait(every)


def http_get(s, path):
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
    s.settimeout(10)
    return recv_all(s)


def health_ok(srv):
    st, h = srv.json("GET", "/api/health")
    return st == 200 and h.get("status") == "ok"


def ws_on(port, addr):
    """A WebSocket (handshake done) from addr."""
    w = WsClient.__new__(WsClient)
    w.sock = connect_from(addr, port)
    w.buf = b""
    w.status = None
    w.response_headers = {}
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    w.sock.sendall(("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key).encode())
    w._read_response()
    return w


with Server() as srv:
    port = srv.port
    stop = threading.Event()
    threads = []

    # ---- WebSockets that stall (they run alongside the HTTP part) ----
    ws_start = time.time()
    ping = json.dumps({"type": "ping", "id": 7}).encode()
    mid_frame = ws_on(port, "127.0.0.5")            # half a frame, then nothing
    full = ws_frame(1, ping)
    mid_frame.sock.sendall(full[:len(full) - 5])
    between = ws_on(port, "127.0.0.5")              # a first fragment, then nothing
    between.sock.sendall(ws_frame(1, b'{"type":', fin=False))
    slow_frame = ws_on(port, "127.0.0.5")           # a byte every 2 s: never done in time
    big = ws_frame(1, json.dumps({"type": "ping", "id": 8, "pad": "x" * 40}).encode())
    in_time = ws_on(port, "127.0.0.6")              # a byte every 0.4 s: done in ~12 s
    idle = ws_on(port, "127.0.0.6")                 # sends nothing: not mid-message
    for s, data, every in ((slow_frame.sock, big, 2.0), (in_time.sock, full, 0.4)):
        th = threading.Thread(target=trickle, args=(s, data, every, stop), daemon=True)
        th.start()
        threads.append(th)
    t.ok(all(w.status == 101 for w in (mid_frame, between, slow_frame, in_time, idle)),
         "five WebSockets upgraded (they will stall or trickle)")

    # ---- HTTP: N trickling requests from one address, then N+1 ----
    start = time.time()
    attackers = []
    for i in range(PENDING_PER_ADDRESS):
        s = connect_from("127.0.0.2", port)
        s.sendall(b"GET /api/health HTTP/1.1\r\n")
        attackers.append(s)
    head = b"X-Slow: " + b"a" * 64
    for s in attackers:
        th = threading.Thread(target=trickle, args=(s, head, 2.0, stop), daemon=True)
        th.start()
        threads.append(th)
    time.sleep(0.5)
    extra = connect_from("127.0.0.2", port)
    t.ok(closed_within(extra, 5), "connection N+1 from the same address is refused at once "
         "(TT_MAX_HTTP_PENDING_PER_ADDRESS)")
    extra.close()
    t.ok(all(is_open(s) for s in attackers),
         "the N trickling connections are kept meanwhile (N is allowed)")
    other = connect_from("127.0.0.3", port)
    t.ok(b" 200 " in http_get(other, "/api/health").split(b"\r\n")[0],
         "another address is not limited by it")
    other.close()
    stalled_upgrade = connect_from("127.0.0.4", port)
    stalled_upgrade.sendall(b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
    slow_ok = connect_from("127.0.0.4", port)
    req = b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    th = threading.Thread(target=trickle,
                          args=(slow_ok, req, (REQUEST_TIMEOUT_S - 3.0) / len(req), stop), daemon=True)
    th.start()
    threads.append(th)

    honest = [health_ok(srv) for _ in range(5)]
    w = srv.ws()
    pong = w.call({"type": "ping", "id": 1})
    t.ok(all(honest) and pong.get("type") == "pong",
         "honest clients are served while the slow ones hold their slots")
    w.close()

    # Just before the deadline they are all still there ...
    time.sleep(max(0, start + REQUEST_TIMEOUT_S - 1.5 - time.time()))
    t.ok(all(is_open(s) for s in attackers) and is_open(stalled_upgrade),
         "at %.1f s the trickling requests are still open" % (time.time() - start))
    th.join(REQUEST_TIMEOUT_S)
    data = b""
    slow_ok.settimeout(5)
    try:
        while True:
            d = slow_ok.recv(65536)
            if not d:
                break
            data += d
    except OSError:
        pass
    t.ok(data.startswith(b"HTTP/1.1 200"), "a request trickled in over %d s (under %d) is answered"
         % (REQUEST_TIMEOUT_S - 3, REQUEST_TIMEOUT_S), data[:200])
    slow_ok.close()

    # ... and after it all are closed.
    time.sleep(max(0, start + REQUEST_TIMEOUT_S + 3 - time.time()))
    gone = [not is_open(s) for s in attackers]
    t.ok(all(gone), "after TT_HTTP_REQUEST_TIMEOUT_S (%d s) every trickling request is closed "
         "(%d of %d)" % (REQUEST_TIMEOUT_S, sum(gone), len(gone)))
    t.ok(not is_open(stalled_upgrade), "a WebSocket upgrade stalled mid-handshake is closed too")
    for s in attackers + [stalled_upgrade]:
        s.close()
    again = connect_from("127.0.0.2", port)
    t.ok(b" 200 " in http_get(again, "/api/health").split(b"\r\n")[0],
         "the address may connect again once its slots are freed")
    again.close()

    # ---- WebSocket messages: TT_WS_MESSAGE_TIMEOUT_S ----
    time.sleep(max(0, ws_start + WS_MESSAGE_TIMEOUT_S - 2 - time.time()))
    t.ok(all(is_open(x.sock) for x in (mid_frame, between, slow_frame)),
         "at %.1f s the stalled WebSockets are still open" % (time.time() - ws_start))
    got = []
    in_time.sock.settimeout(5)
    try:
        got.append(in_time.recv_json())
    except Exception as e:  # noqa: BLE001
        got.append(repr(e))
    t.ok(got and isinstance(got[0], dict) and got[0].get("type") == "pong",
         "a message trickled in within TT_WS_MESSAGE_TIMEOUT_S is answered", got)
    time.sleep(max(0, ws_start + WS_MESSAGE_TIMEOUT_S + 2.5 - time.time()))
    for name, x in (("mid-frame", mid_frame), ("between fragments", between),
                    ("trickling a frame", slow_frame)):
        x.sock.settimeout(5)
        code, reason = x.expect_close()
        t.ok(code == 1008 and "TT_WS_MESSAGE_TIMEOUT_S" in reason,
             "a WebSocket stalled %s is closed with 1008 after %d s" % (name, WS_MESSAGE_TIMEOUT_S),
             (code, reason))
    r = idle.call({"type": "ping", "id": 2})
    t.ok(r.get("type") == "pong", "an idle WebSocket (no message under way) is kept", r)
    stop.set()
    for x in (mid_frame, between, slow_frame, in_time, idle):
        x.close()
    t.ok(health_ok(srv), "the server still answers")
t.done()
