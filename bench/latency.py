"""bench/latency.py: how late tuttid's sound reaches the socket, how far
ahead of real time it renders, and how far behind live a listener starts.

Usage: latency.py PORT SESSION_ID LEAD_BLOCKS [SECONDS [TOKEN]]

SESSION_ID must be a fresh session whose sound is not running yet: joining
it starts the render thread, and the join reply (on loopback, one to a few
milliseconds later: the join's round trip is printed) gives the client the stream's start T0 on its own
monotonic clock. Every figure is then measured from the client side:

- server latency: the render thread renders block b at T0 + (b - LEAD) *
  20 ms (server/live.c, LEAD_BLOCKS ahead of the clock). Block b's packet
  carries stream frame 960 b - pre_skip on the WebSocket; its arrival minus
  that instant is what the server added (render, encode, the hub's wait,
  the send). p50 and p99 over the quiet part of the run (no evaluation in
  flight); the figures while evaluations are processed are printed apart.
- render ahead: evaluations with quantum "now" land at the earliest frame
  the render thread can still change; that frame minus real time (frames
  since T0) is how far ahead of real time the render thread has committed
  audio. The change was applied between the eval's send (an upper bound)
  and its reply (a lower bound); over a dozen evaluations the line shows
  the median of the brackets' middles (their median half-width printed).
- listener start lag: GET /s/ID/live.ogg; the real-time frame at the GET
  minus the stream frame of the first audio page's first sample is how far
  behind live the listener starts (what a player then stays behind). Also
  the time from the GET until a page reaching the live edge arrives.

Prints one line:
  latency: server_p50_ms=A server_p99_ms=B render_ahead_ms=C listener_start_lag_ms=D
and details on stderr.
"""
import json
import os
import queue
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
from tuttitest import WsClient, WsClosed  # noqa: E402

RATE = 48000
BLOCK = 960
CODE = ('stack(\n  s("bd*2 [~ bd] sd [bd hh]").gain(0.9),\n  s("hh*8").gain(0.4),\n'
        '  note("<c3 eb3 g3 bb2>*4").s("sawtooth").lpf(900).gain(0.5)\n)\n')


class Reader(threading.Thread):
    """Stamps every binary message with its arrival; queues JSON."""

    def __init__(self, ws):
        super().__init__(daemon=True)
        self.ws, self.packets, self.json = ws, [], queue.Queue()

    def run(self):
        try:
            while True:
                op, payload = self.ws.recv_message()
                t = time.monotonic()
                if op == 2 and len(payload) > 8:
                    self.packets.append((t, struct.unpack("<q", payload[:8])[0]))
                elif op == 1:
                    self.json.put((t, json.loads(payload)))
        except (WsClosed, OSError, ValueError):
            pass

    def wait(self, rid, timeout=10):
        end = time.monotonic() + timeout
        while True:
            t, m = self.json.get(timeout=max(0.01, end - time.monotonic()))
            if m.get("id") == rid:
                return t, m


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def listener_lag(port, sid, t0, pre_skip, token=None):
    """Ms behind live at the GET, and ms from the GET to a live-edge page."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    t_get = time.monotonic()
    q = "?t=" + token if token else ""
    s.sendall(("GET /s/%s/live.ogg%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % (sid, q)).encode())
    buf, stamps = b"", []
    end = t_get + 2.0
    while time.monotonic() < end:
        d = s.recv(65536)
        if not d:
            break
        stamps.append((time.monotonic(), len(buf) + len(d)))
        buf += d
    s.close()
    if not buf.startswith(b"HTTP/1.1 200"):
        raise SystemExit("latency: GET live.ogg answered %r" % buf.split(b"\r\n", 1)[0])
    body = dechunk(buf.split(b"\r\n\r\n", 1)[1])
    pages = []  # (granule, end offset in body)
    off = 0
    while off + 27 <= len(body) and body[off:off + 4] == b"OggS":
        nseg = body[off + 26]
        size = 27 + nseg + sum(body[off + 27:off + 27 + nseg])
        pages.append((struct.unpack("<q", body[off + 6:off + 14])[0], off + size))
        off += size
    audio = pages[2:]
    live_at_get = (t_get - t0) * RATE
    # The first page's duration: the next page's (pages of one or several
    # packets alike), its granule being the end of its last packet.
    dur = audio[1][0] - audio[0][0] if len(audio) > 1 else BLOCK
    first_start = audio[0][0] - dur - pre_skip
    lag_ms = (live_at_get - first_start) * 1000.0 / RATE
    # Arrival of each page: the first read that completed it (offsets in
    # the body are close enough to offsets in the raw bytes for this).
    hdr_len = len(buf) - len(buf.split(b"\r\n\r\n", 1)[1])
    reach = None
    for g, end_off in audio:
        arr = next(t for t, n in stamps if n >= end_off + hdr_len)
        if (g - pre_skip) >= (arr - t0) * RATE:
            reach = (arr - t_get) * 1000.0
            break
    return lag_ms, reach


def dechunk(b):
    out, i = b"", 0
    while True:
        j = b.find(b"\r\n", i)
        if j < 0:
            return out
        n = int(b[i:j].split(b";")[0] or b"0", 16)
        if n == 0 or j + 2 + n > len(b):
            return out + b[j + 2:j + 2 + n]
        out += b[j + 2:j + 2 + n]
        i = j + 2 + n + 2


def render_ahead(ws, rd, doc, t0):
    """Twelve evaluations with quantum "now": (estimate, half-width) in ms.

    Each lands at frame f, applied between its send (real time then gives
    an upper bound of the lead) and its reply (a lower bound). A sample's
    bracket is wide by the evaluation's path through the server; the
    estimate is the median of the brackets' middles."""
    mids, widths = [], []
    for k in range(12):
        rid = 10 + k
        t_eval = time.monotonic()
        ws.send_json({"type": "eval", "id": rid, "doc": doc, "quantum": "now"})
        t, m = rd.wait(rid)
        if m.get("ok"):
            f = m["landing"]["frame"] * 1000.0 / RATE
            low, high = f - (t - t0) * 1000.0, f - (t_eval - t0) * 1000.0
            mids.append((low + high) / 2)
            widths.append((high - low) / 2)
        time.sleep(0.13)
    return pct(mids, 50), pct(widths, 50)


def main():
    port, sid, lead = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    secs = float(sys.argv[4]) if len(sys.argv) > 4 else 6.0
    join = {"type": "join", "id": 1, "session": sid}
    if len(sys.argv) > 5:
        join["token"] = sys.argv[5]  # the owner's token, on servers with roles
    ws = WsClient(port, timeout=10)
    ws.request({"type": "hello", "id": 0, "name": "latency"})
    t_send = time.monotonic()
    joined = ws.request(join)
    t0 = time.monotonic()  # the render thread started between t_send and now
    assert joined.get("type") == "joined", joined
    rd = Reader(ws)
    rd.start()
    ws.send_json({"type": "audio", "id": 2, "on": True})
    pre_skip = rd.wait(2)[1]["pre_skip"]
    ws.send_json({"type": "doc.create", "id": 3, "name": "latency"})
    doc = rd.wait(3)[1]["doc"]["id"]
    ws.send_json({"type": "doc.open", "id": 4, "doc": doc})
    rd.wait(4)
    ws.send_json({"type": "op", "id": 5, "doc": doc, "rev": 0, "op": [CODE], "seq": 1})
    rd.wait(5)
    t_evals = time.monotonic()
    ahead = render_ahead(ws, rd, doc, t0)
    t_quiet = time.monotonic()
    lag, reach = listener_lag(port, sid, t0, pre_skip, join.get("token"))
    time.sleep(max(1.0, secs - (time.monotonic() - t_quiet)))
    pk = list(rd.packets)
    ws.sock.close()
    quiet, busy = [], []
    for t, frame in pk:
        b = (frame + pre_skip) // BLOCK
        if b < lead + 25:
            continue  # the start-up burst and the first 0.5 s
        late = (t - (t0 + (b - lead) * BLOCK / RATE)) * 1000.0
        (quiet if t >= t_quiet + 0.1 else busy if t >= t_evals else []).append(late)
        if os.environ.get("LATENCY_TRACE") and late > 15:
            sys.stderr.write("late: t=%.3f s block %d %.1f ms\n" % (t - t0, b, late))
    sys.stderr.write("latency: join round trip %.2f ms (T0 uncertainty); quiet: %d packets, "
                     "%.2f..%.2f ms; during the evaluations: %d packets, p50 %.1f p99 %.1f "
                     "max %.1f ms; render ahead %.1f +- %.1f ms; first live-edge page %.1f ms "
                     "after the GET\n"
                     % ((t0 - t_send) * 1000, len(quiet), min(quiet), max(quiet), len(busy),
                        pct(busy, 50), pct(busy, 99), max(busy), ahead[0], ahead[1],
                        reach if reach is not None else -1))
    print("latency: server_p50_ms=%.1f server_p99_ms=%.1f render_ahead_ms=%.1f "
          "listener_start_lag_ms=%.0f" % (pct(quiet, 50), pct(quiet, 99), ahead[0], lag))
    return 0


if __name__ == "__main__":
    sys.exit(main())
