"""A live session end to end through the real tuttid: a performer writes
note("a4").s("sine") into a document and evaluates it; the Ogg stream at
/s/{id}/live.ogg and the WebSocket audio packets are decoded (libopusfile,
libopus) and must hold 440 Hz from the landing frame on and silence
before it; the SSE annotations carry the range of "a4" in the document; an
evaluation error comes back with its position while the sound goes on;
tempo, hush and mute answer; 200 listeners each get a decodable stream; a
listener that stops reading costs no memory; after a restart the session
plays again and the evaluations are in the database."""
import http.client
import json
import os
import resource
import select
import shutil
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, BUILDDIR, WsClosed  # noqa: E402

OGGCHECK = os.path.join(BUILDDIR, "tests", "server", "oggcheck")
CODE = 'note("a4").s("sine")'
t = Tap()
tmp = tempfile.mkdtemp(prefix="tutti-live-")
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))


def decode(kind, data):
    path = os.path.join(tmp, "stream.%s" % kind)
    with open(path, "wb") as f:
        f.write(data)
    p = subprocess.run([OGGCHECK, kind, path], capture_output=True, text=True)
    if p.returncode != 0:
        return None
    return [json.loads(l) for l in p.stdout.splitlines()]


def read_for(port, path, seconds, headers_only=False):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path)
    r = c.getresponse()
    data = b""
    end = time.time() + seconds
    while time.time() < end:
        data += r.read1(65536)
    c.close()
    return r.status, r.getheader("content-type"), data


class AudioTap(threading.Thread):
    """Collects a WebSocket's binary audio, and its JSON messages."""

    def __init__(self, ws):
        super().__init__(daemon=True)
        self.ws, self.packets, self.json = ws, [], []

    def run(self):
        try:
            while True:
                op, payload = self.ws.recv_message()
                if op == 2:
                    self.packets.append(payload)
                elif op == 1:
                    self.json.append(json.loads(payload))
        except (WsClosed, OSError, ValueError):
            pass


def wait_json(tap, pred, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        for m in list(tap.json):
            if pred(m):
                return m
        time.sleep(0.02)
    return None


srv = Server(tmpdir=tmp, db=os.path.join(tmp, "tutti.db")).start()
st, sess = srv.json("POST", "/api/sessions", {"name": "live"})
sid = sess["id"]
tok = sess["owner_token"]
ws = srv.ws(timeout=30)
ws.request({"type": "hello", "id": 0, "name": "ann", "client_id": "ann-1"})
ws.request({"type": "join", "id": 1, "session": sid, "token": tok})
doc = ws.request({"type": "doc.create", "id": 2, "name": "main"})["doc"]["id"]
ws.request({"type": "doc.open", "id": 3, "doc": doc})
r = ws.request({"type": "op", "id": 4, "doc": doc, "rev": 0, "op": [CODE], "seq": 1})
t.ok(r.get("type") == "ack", "the code is in the document", r)
r = ws.request({"type": "audio", "id": 5, "on": True})
t.ok(r.get("type") == "audio" and r.get("codec") == "opus" and r.get("rate") == 48000,
     "audio on: the stream's parameters", r)
tap = AudioTap(ws)
tap.start()

bo = srv.ws(timeout=30)
bo.request({"type": "hello", "id": 0, "name": "bo"})
bo.request({"type": "join", "id": 1, "session": sid, "token": tok})
bo_tap = AudioTap(bo)
bo_tap.start()

listened = {}
sse = {}
th = threading.Thread(target=lambda: listened.update(zip(("status", "ctype", "data"),
                                                         read_for(srv.port, "/s/%s/live.ogg" % sid, 4.0))))
th2 = threading.Thread(target=lambda: sse.update(zip(("status", "ctype", "data"),
                                                     read_for(srv.port, "/s/%s/events" % sid, 4.0))))
th.start()
th2.start()
time.sleep(0.3)
ws.send_json({"type": "eval", "id": 6, "doc": doc})
res = wait_json(tap, lambda m: m.get("id") == 6)
t.ok(res and res.get("ok") is True and res["landing"]["cycle"] == "1" and res["landing"]["frame"] > 0,
     "eval lands at the next cycle, with its frame", res)
landing = res["landing"]["frame"] if res else 0
note = wait_json(bo_tap, lambda m: m.get("type") == "eval")
t.ok(note and note["name"] == "ann" and note["landing"]["frame"] == landing and note["doc"] == doc,
     "the other performer is told who evaluated what and when it lands", note)
th.join()
th2.join()

t.ok(listened.get("status") == 200 and listened.get("ctype") == "audio/ogg", "live.ogg is audio/ogg")
wins = decode("ogg", listened.get("data", b""))
t.ok(wins is not None and len(wins) > 100, "libopusfile decodes the live stream (%d windows)" % len(wins or []))
wins = wins or []
before = [w for w in wins if w["frame"] + 960 <= landing]
after = [w for w in wins if w["frame"] >= landing + 960]
t.ok(before and max(w["rms"] for w in before) < 0.001, "silence before the landing frame",
     max((w["rms"] for w in before), default=None))
freqs = [w["freq"] for w in after]
t.ok(len(freqs) > 20 and all(abs(f - 440) < 3 for f in freqs),
     "440 Hz from the landing on (%d windows)" % len(freqs), sorted(freqs)[:3] + sorted(freqs)[-3:])

pk = b""
for p in tap.packets:
    pk += p[:8] + struct.pack("<H", len(p) - 8) + p[8:]
pw = decode("packets", pk) or []
t.ok(len(pw) > 100, "the WebSocket audio packets decode (%d)" % len(pw))
t.ok(all(w["rms"] < 0.001 for w in pw if w["frame"] + 960 <= landing) and
     any(abs(w["freq"] - 440) < 3 for w in pw if w["frame"] >= landing),
     "packet frames: silent before the landing, 440 Hz after")
frames = [struct.unpack("<q", p[:8])[0] for p in tap.packets]
t.ok(all(b - a == 960 for a, b in zip(frames, frames[1:])), "packets are 20 ms apart, in order")

events = [json.loads(l[6:]) for l in sse.get("data", b"").decode().splitlines() if l.startswith("data: ")]
a4 = CODE.index("a4")
hits = [e for ev in events for e in ev["events"] if e["range"] == [a4, a4 + 2] and e["doc"] == doc]
t.ok(sse.get("ctype") == "text/event-stream" and hits, "SSE annotations carry the range of a4", events[:2])
t.ok(all(ev["frame"] >= landing for ev in events), "no annotation before the landing frame")
t.ok(hits and hits[0]["value"].get("note") == "a4" and hits[0]["rev"] == 1,
     "an annotation has the value and the revision", hits[:1])
wsanno = wait_json(bo_tap, lambda m: m.get("type") == "anno")
t.ok(wsanno is not None, "annotations reach performers on /ws too")

# ---- an error keeps the old sound ----
r = ws.request  # the tap thread reads replies; send and wait on the tap
ws.send_json({"type": "op", "id": 7, "doc": doc, "rev": 1, "op": [len(CODE), ".fsat(2)"], "seq": 2})
wait_json(tap, lambda m: m.get("id") == 7)
ws.send_json({"type": "eval", "id": 8, "doc": doc})
err = wait_json(tap, lambda m: m.get("id") == 8)
t.ok(err and err.get("ok") is False and err["error"]["line"] == 1 and
     err["error"]["col"] == len(CODE) + 2 and "fast" in err["error"]["message"],
     "an evaluation error comes back with line, column and a suggestion", err)
st2, _, data2 = read_for(srv.port, "/s/%s/live.ogg" % sid, 1.5)
w2 = decode("ogg", data2) or []
t.ok(any(abs(w["freq"] - 440) < 3 for w in w2[-20:]), "and the old sound goes on")

# ---- tempo, hush, mute ----
ws.send_json({"type": "tempo", "id": 9, "cps": 1})
r = wait_json(tap, lambda m: m.get("id") == 9)
t.ok(r and r.get("type") == "tempo" and r["cps"] == 1 and "/" not in r["landing"]["cycle"],
     "tempo lands on a cycle boundary", r)
ws.send_json({"type": "mute", "id": 10, "track": "main@0#0"})
r = wait_json(tap, lambda m: m.get("id") == 10)
t.ok(r and r.get("type") == "mute" and r["on"] is True, "mute answers", r)
ws.send_json({"type": "mute", "id": 11, "track": "main@0#0", "on": False})
wait_json(tap, lambda m: m.get("id") == 11)
ws.send_json({"type": "hush", "id": 12, "on": False})
r = wait_json(tap, lambda m: m.get("id") == 12)
t.ok(r and r.get("type") == "hush", "hush answers", r)

# ---- 200 concurrent listeners ----
socks = []
for i in range(200):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    s.sendall(("GET /s/%s/live.ogg HTTP/1.1\r\nHost: x\r\n\r\n" % sid).encode())
    s.setblocking(False)
    socks.append(s)
bufs = {s: b"" for s in socks}
end = time.time() + 2.0
while time.time() < end:
    rd, _, _ = select.select(socks, [], [], 0.1)
    for s in rd:
        try:
            bufs[s] += s.recv(65536)
        except OSError:
            pass
good = 0
for s in socks:
    body = bufs[s].split(b"\r\n\r\n", 1)[-1]
    # chunked transfer: strip the chunk framing
    raw, rest = b"", body
    while rest:
        line, _, rest = rest.partition(b"\r\n")
        try:
            n = int(line, 16)
        except ValueError:
            break
        raw += rest[:n]
        rest = rest[n + 2:]
    w = decode("ogg", raw) if raw.startswith(b"OggS") else None
    good += bool(w and len(w) > 20)
    s.close()
t.eq(good, 200, "200 concurrent listeners each received a decodable stream")

# ---- a listener that stops reading ----
def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])


stall = socket.socket()
stall.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
stall.connect(("127.0.0.1", srv.port))
stall.sendall(("GET /s/%s/live.ogg HTTP/1.1\r\nHost: x\r\n\r\n" % sid).encode())
before_kb = rss_kb(srv.proc.pid)
time.sleep(5)
after_kb = rss_kb(srv.proc.pid)
t.ok(after_kb - before_kb < 4096, "a listener that stops reading: RSS grew %d kB in 5 s (bound 4 MiB)"
     % (after_kb - before_kb))
st3, _, d3 = read_for(srv.port, "/s/%s/live.ogg" % sid, 1.0)
t.ok(st3 == 200 and len(d3) > 5000, "and others still listen")
stall.close()
r = srv.request("GET", "/s/nosuchsess/live.ogg")
t.eq(r[0], 404, "live.ogg of an unknown session is 404")

st_m, hdr_m, body_m = srv.request("GET", "/metrics")
metrics = dict(l.split() for l in body_m.decode().splitlines() if l and not l.startswith("#"))
t.ok(st_m == 200 and hdr_m.get("content-type", "").startswith("text/plain") and
     int(metrics.get("tutti_render_threads", 0)) == 1 and int(metrics["tutti_render_blocks_total"]) > 100 and
     int(metrics["tutti_edit_ops_total"]) >= 2 and int(metrics["tutti_edit_commits_total"]) >= 1 and
     int(metrics["tutti_websocket_connections"]) >= 2 and "tutti_render_late_blocks_total" in metrics,
     "/metrics: render threads, blocks, stored ops, connections", metrics)
ws.close()
bo.close()
t.eq(srv.stop(), 0, "tuttid stops cleanly with listeners and a render thread")

con = sqlite3.connect(os.path.join(tmp, "tutti.db"))
rows = con.execute("SELECT ok, landing_frame, code, result FROM evaluations ORDER BY id").fetchall()
tempo = con.execute("SELECT cps_n, cps_d FROM tempo").fetchall()
con.close()
t.ok(len(rows) == 2 and rows[0][0] == 1 and rows[0][1] == landing and rows[0][2] == CODE and
     rows[1][0] == 0 and "fast" in rows[1][3], "both evaluations are stored, with landing and error", rows)
t.ok(tempo == [(1, 1)], "the tempo change is stored", tempo)

# ---- a restart brings the session back ----
srv = Server(tmpdir=tmp, db=os.path.join(tmp, "tutti.db")).start()
w5 = srv.ws()
w5.request({"type": "hello", "id": 0})
j5 = w5.request({"type": "join", "id": 1, "session": sid, "token": tok})
t.ok(j5.get("cps") == 1, "after a restart the session has its tempo back", j5)
w5.close()
st4, _, d4 = read_for(srv.port, "/s/%s/live.ogg" % sid, 2.5)
w4 = decode("ogg", d4) or []
t.ok(any(abs(w["freq"] - 440) < 3 for w in w4), "after a restart the session plays its program again")
srv.stop()
shutil.rmtree(tmp, ignore_errors=True)
t.done()
