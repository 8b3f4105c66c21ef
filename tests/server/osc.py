"""TidalCycles over OSC through the real tuttid: started with --osc-session
and --osc-listen 127.0.0.1:0, it takes SuperDirt's /dirt/play on UDP.
liblo's oscsend plays `s bd` in a silent session and the decoded stream
has sound from the frame stored in direct_events on; a bundle stamped 1 s
ahead (built here byte by byte: oscsend cannot send bundles) plays at the
stream frame its timestamp names, within one block, as measured against
the arrival times of the session's own audio packets; unknown keys are
ignored and counted; malformed packets are counted while the server goes
on; the limits (TT_MAX_OSC_PARAMS, TT_MAX_OSC_STRING, TT_MAX_OSC_AHEAD_MS,
TT_MAX_DIRECT_PENDING, TT_MAX_OSC_NESTING) hold at N and refuse N+1."""
import json
import os
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
PRE_SKIP = 312          # the Opus encoder's look-ahead (codec/opus_enc.c)
BLOCK = 960             # one render block, 20 ms
NTP_UNIX = 2208988800
# common/limits.h
TT_MAX_OSC_PARAMS = 32
TT_MAX_OSC_STRING = 63
TT_MAX_OSC_AHEAD_MS = 2000
TT_MAX_DIRECT_PENDING = 256
TT_MAX_OSC_NESTING = 8

t = Tap()
tmp = tempfile.mkdtemp(prefix="tutti-osc-")
db = os.path.join(tmp, "tutti.db")


# ---- OSC bytes (OSC 1.0: padded strings, big-endian numbers) ----
def ostr(s):
    b = s.encode() + b"\0"
    return b + b"\0" * (-len(b) % 4)


def msg(path, *args):
    tags, data = ",", b""
    for a in args:
        if isinstance(a, str):
            tags, data = tags + "s", data + ostr(a)
        elif isinstance(a, float):
            tags, data = tags + "f", data + struct.pack(">f", a)
        else:
            tags, data = tags + "i", data + struct.pack(">i", a)
    return ostr(path) + ostr(tags) + data


def bundle(when, *elems):
    sec = int(when)
    tag = struct.pack(">II", sec + NTP_UNIX, int((when - sec) * 2 ** 32))
    return b"#bundle\0" + tag + b"".join(struct.pack(">i", len(e)) + e for e in elems)


class AudioTap(threading.Thread):
    """Collects the WebSocket audio packets with their arrival times."""

    def __init__(self, ws):
        super().__init__(daemon=True)
        self.ws, self.packets = ws, []

    def run(self):
        try:
            while True:
                op, payload = self.ws.recv_message()
                if op == 2:
                    self.packets.append((time.time(), payload))
        except (WsClosed, OSError, ValueError):
            pass


def windows():
    """The packets so far, decoded: [{"frame", "rms", "freq"}] per 20 ms."""
    raw = b"".join(p[:8] + struct.pack("<H", len(p) - 8) + p[8:] for _, p in list(tap.packets))
    path = os.path.join(tmp, "packets")
    with open(path, "wb") as f:
        f.write(raw)
    r = subprocess.run([OGGCHECK, "packets", path], capture_output=True, text=True)
    if r.returncode != 0:
        t.diag("oggcheck exits %d on %d bytes of packets: %s" % (r.returncode, len(raw),
                                                                  r.stderr[-500:]))
    return [json.loads(l) for l in r.stdout.splitlines()] if r.returncode == 0 else []


def osc_health():
    return srv.json("GET", "/api/health")[1]["osc"]


def wait_health(pred, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        h = osc_health()
        if pred(h):
            return h
        time.sleep(0.05)
    return osc_health()


def rows():
    c = sqlite3.connect(db)
    try:
        return c.execute("SELECT id, run_id, frame, source, params, time_ms FROM direct_events"
                         " ORDER BY id").fetchall()
    finally:
        c.close()


def udp(data):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(data, ("127.0.0.1", port))
    s.close()


def oscsend(*args):
    return subprocess.run(["oscsend", "127.0.0.1", str(port), "/dirt/play"] + [str(a) for a in args],
                          capture_output=True, text=True).returncode


# ---- a session, then tuttid with OSC input for it ----
srv = Server(tmpdir=tmp, db=db).start()
st, sess = srv.json("POST", "/api/sessions", {"name": "tidal"})
sid, tok = sess["id"], sess["owner_token"]
srv.stop()
bad = Server(args=["--osc-session", "nosuchsess", "--osc-listen", "127.0.0.1:0"], tmpdir=tmp, db=db)
try:
    bad.start(timeout=5)
    t.ok(False, "an unknown --osc-session stops the start")
    bad.stop()
except RuntimeError as e:
    t.ok("osc-session: no session 'nosuchsess'" in str(e), "an unknown --osc-session stops the "
         "start with a message that names it", str(e)[-300:])
srv = Server(args=["--osc-session", sid, "--osc-listen", "127.0.0.1:0"], tmpdir=tmp, db=db).start()
h = osc_health()
port = h["port"] if h else 0
t.ok(h and h["session"] == sid and port > 0, "GET /api/health shows the OSC port and session", h)
t.ok(srv.wait_log("/dirt/play for session %s on udp://127.0.0.1:%d" % (sid, port)),
     "the log says where OSC is taken")

ws = srv.ws(timeout=30)
ws.request({"type": "hello", "id": 0, "name": "ear"})
ws.request({"type": "join", "id": 1, "session": sid, "token": tok})
r = ws.request({"type": "audio", "id": 2, "on": True})
t.ok(r.get("type") == "audio", "a performer takes the session's audio", r)
tap = AudioTap(ws)
tap.start()
time.sleep(0.8)
w = windows()
t.ok(len(w) > 20 and max(x["rms"] for x in w) < 0.001, "the session is silent before any OSC "
     "(%d windows)" % len(w))

# ---- oscsend: s bd, as soon as possible ----
t.ok(oscsend("ss", "s", "bd") == 0, "oscsend /dirt/play s bd")
h = wait_health(lambda h: h["stored"] >= 1)
rs = rows()
t.ok(h["received"] == 1 and h["played"] == 1 and h["immediate"] == 1 and h["late"] == 0,
     "it is received and played at once (no timestamp: not late)", h)
t.ok(len(rs) == 1 and rs[0][3].startswith("osc 127.0.0.1:") and
     json.loads(rs[0][4]) == {"fields": {"s": "bd"}, "dur": 1.0, "clipped": False} and
     rs[0][1] is not None and rs[0][1] > 0, "direct_events has it: run, source, params", rs)
f1 = rs[0][2] if rs else 0
time.sleep(0.5)
w = windows()
before = [x for x in w if x["frame"] + 2 * BLOCK <= f1]
after = [x for x in w if f1 <= x["frame"] < f1 + 4800]
t.ok(before and max(x["rms"] for x in before) < 0.001 and after and
     max(x["rms"] for x in after) > 0.01,
     "the stream is silent before its frame and sounds from it on",
     (max((x["rms"] for x in before), default=None), max((x["rms"] for x in after), default=None)))

# ---- a bundle stamped 1 s ahead plays at its timestamp's frame ----
time.sleep(1.0)
when = time.time() + 1.0
udp(bundle(when, msg("/dirt/play", "s", "sine", "note", 9.0, "sustain", 0.25, "cps", 0.5625,
                     "cycle", 12.0, "delta", 0.4444)))
h = wait_health(lambda h: h["stored"] >= 2)
time.sleep(0.6)
rs = rows()
f2 = rs[1][2] if len(rs) > 1 else 0
# Frame f sounds at start + f/48 kHz; the packet made from block k (frames
# [960k, 960k+960), stamped 960k - PRE_SKIP) leaves the render thread at
# start + (k-1) * 20 ms, never earlier: so start <= arrival - (frame +
# PRE_SKIP)/48000 + 0.020, with the earliest arrival closest to it.
start = min(a - (struct.unpack("<q", p[:8])[0] + PRE_SKIP) / 48000.0 for a, p in tap.packets) + 0.020
want = (when - start) * 48000
t.ok(len(rs) == 2 and abs(f2 - want) <= BLOCK, "the bundle plays at the frame of its timestamp "
     "within one block (stored %d, clock says %.0f: %+.1f ms)" % (f2, want, (f2 - want) / 48.0))
t.ok(h["late"] == 0 and h["immediate"] == 1 and h["played"] == 2, "a future bundle is not late", h)
p2 = json.loads(rs[1][4]) if len(rs) > 1 else {}
t.ok(p2 == {"fields": {"s": "sine", "note": 69.0}, "dur": 0.25, "clipped": True},
     "SuperDirt's note 9 on a synth is MIDI 69; sustain is the length; cps, cycle, delta consumed",
     p2)
w = windows()
quiet = [x for x in w if f1 + 48000 <= x["frame"] and x["frame"] + 2 * BLOCK <= f2]
tone = [x for x in w if f2 + BLOCK <= x["frame"] < f2 + 9600]
t.ok(quiet and max(x["rms"] for x in quiet) < 0.001 and len(tone) >= 8 and
     all(abs(x["freq"] - 440) < 3 for x in tone),
     "silence before that frame, 440 Hz after it (%d windows)" % len(tone),
     [x["freq"] for x in tone])

# ---- a timestamp in the past: as soon as possible, counted late ----
udp(bundle(time.time() - 5, msg("/dirt/play", "s", "hh")))
h = wait_health(lambda h: h["played"] >= 3)
t.ok(h["late"] == 1 and h["played"] == 3, "a past timestamp plays at once and counts as late", h)

# ---- unknown keys: ignored, counted, the event still plays ----
t.ok(oscsend("sssssfsf", "s", "sd", "foo", "bar", "accelerate", 1.0, "gain", 1.0) == 0,
     "oscsend with unknown keys")
h = wait_health(lambda h: h["played"] >= 4)
t.ok(h["ignored_params"] == 2 and h["played"] == 4, "unknown keys are ignored and counted", h)

# ---- malformed input: counted, nothing else happens ----
m0, o0 = h["malformed"], h["other_paths"]
udp(b"hello, tutti")                                         # not OSC
udp(b"#bundle\0" + b"\0" * 4)                                 # a bundle cut short
udp(b"#bundle\0" + b"\0" * 8 + struct.pack(">i", 4000) + b"\0" * 8)  # element past the end
udp(msg("/dirt/play", "s", "bd", "n"))                        # odd number of arguments
udp(msg("/dirt/play", 1, "bd"))                               # a number as key
udp(msg("/dirt/play", "n", 3.0))                              # no sound
udp(ostr("/dirt/play") + ostr(",ss") + ostr("s") + b"\xff\xfe\0\0")  # s is not UTF-8
udp(msg("/dirt/handshake"))                                   # another path
h = wait_health(lambda h: h["malformed"] >= m0 + 7 and h["other_paths"] >= o0 + 1)
t.eq((h["malformed"] - m0, h["other_paths"] - o0), (7, 1),
     "malformed packets and messages are counted, another path is counted apart")
st, body = srv.json("GET", "/api/health")
t.ok(st == 200 and srv.alive(), "the server goes on after bad input")

# ---- limits at N and N + 1 ----
def pairs(n):
    a = ["s", "bd"]
    for i in range(n - 1):
        a += ["x%d" % i, float(i)]
    return a


base = wait_health(lambda h: True)
udp(msg("/dirt/play", *pairs(TT_MAX_OSC_PARAMS)))
udp(msg("/dirt/play", *pairs(TT_MAX_OSC_PARAMS + 1)))
h = wait_health(lambda h: h["played"] >= base["played"] + 1 and h["refused"]["params"] >= 1)
t.ok(h["played"] == base["played"] + 1 and h["refused"]["params"] == 1,
     "TT_MAX_OSC_PARAMS: %d pairs play, %d are refused" % (TT_MAX_OSC_PARAMS,
                                                            TT_MAX_OSC_PARAMS + 1), h)

base = h
udp(msg("/dirt/play", "s", "q" * TT_MAX_OSC_STRING))
udp(msg("/dirt/play", "s", "q" * (TT_MAX_OSC_STRING + 1)))
h = wait_health(lambda h: h["played"] >= base["played"] + 1 and h["refused"]["string"] >= 1)
t.ok(h["played"] == base["played"] + 1 and h["refused"]["string"] == 1,
     "TT_MAX_OSC_STRING: a %d-byte name is taken (and plays nothing: no such sound), %d bytes "
     "are refused" % (TT_MAX_OSC_STRING, TT_MAX_OSC_STRING + 1), h)

# The clock moves between sending and receiving, so "exactly N ms ahead"
# arrives a little under N (taken), and N + 50 ms stays over it (refused).
base = h
udp(bundle(time.time() + TT_MAX_OSC_AHEAD_MS / 1000.0, msg("/dirt/play", "s", "hh")))
udp(bundle(time.time() + TT_MAX_OSC_AHEAD_MS / 1000.0 + 0.05, msg("/dirt/play", "s", "hh")))
h = wait_health(lambda h: h["played"] >= base["played"] + 1 and h["refused"]["ahead"] >= 1,
                timeout=6)
t.ok(h["played"] == base["played"] + 1 and h["refused"]["ahead"] == 1 and h["late"] == base["late"],
     "TT_MAX_OSC_AHEAD_MS: %d ms ahead plays on time, more is refused" % TT_MAX_OSC_AHEAD_MS, h)

base = h
t0 = time.time() + 0.6
# one bundle of TT_MAX_DIRECT_PENDING bundles, 4 ms apart (a few a block)
udp(bundle(t0, *[bundle(t0 + 0.004 * i, msg("/dirt/play", "s", "hh", "gain", 0.5))
                 for i in range(TT_MAX_DIRECT_PENDING)]))
time.sleep(0.2)
udp(bundle(t0, msg("/dirt/play", "s", "hh")))
h = wait_health(lambda h: h["played"] >= base["played"] + TT_MAX_DIRECT_PENDING and
                h["dropped"] >= 1)
t.ok(h["played"] == base["played"] + TT_MAX_DIRECT_PENDING and h["dropped"] == 1,
     "TT_MAX_DIRECT_PENDING: %d events wait for their frame, one more is dropped" %
     TT_MAX_DIRECT_PENDING, h)

base = h


def nest(depth, inner):
    e = inner
    for _ in range(depth):
        e = bundle(0, e)
    return e


udp(nest(TT_MAX_OSC_NESTING, msg("/dirt/play", "s", "bd")))
udp(nest(TT_MAX_OSC_NESTING + 1, msg("/dirt/play", "s", "bd")))
h = wait_health(lambda h: h["played"] >= base["played"] + 1 and h["malformed"] >= base["malformed"] + 1)
t.ok(h["played"] == base["played"] + 1 and h["malformed"] == base["malformed"] + 1,
     "TT_MAX_OSC_NESTING: %d nested bundles play, %d are malformed" % (TT_MAX_OSC_NESTING,
                                                                      TT_MAX_OSC_NESTING + 1), h)

# ---- everything played is stored, with its frame ----
h = wait_health(lambda h: h["stored"] == h["played"])
rs = rows()
t.ok(h["stored"] == h["played"] == len(rs) and h["store_errors"] == 0 and h["unreported"] == 0,
     "every played event is in direct_events (%d)" % len(rs), h)
fr = [r[2] for r in rs]
t.ok(all(r[1] == rs[0][1] for r in rs) and all(f >= 0 for f in fr), "one run, frames >= 0")

ws.close()
t.eq(srv.stop(), 0, "tuttid stops cleanly")
t.done()
