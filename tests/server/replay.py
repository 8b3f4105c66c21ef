"""Exact replay (issue #8): a scripted session played live by the real
tuttid, across a restart, is rendered again from its database by
`tutti render --db` and by GET /api/sessions/{id}/render.wav, and the PCM
equals what the render threads played (tuttid --capture-pcm) bit for
bit. Also: stems, the Ogg and annotation routes, and clear errors."""
import json
import os
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, BUILDDIR  # noqa: E402

TUTTI = os.path.join(BUILDDIR, "clients", "cli", "tutti")
OGGCHECK = os.path.join(BUILDDIR, "tests", "server", "oggcheck")
RATE = 48000
DRUMS = 's("bd hh sd hh").gain(0.8)'
KEYS = 'lead: note("c4 e4 g4 b4").s("sawtooth").lpf(1200).room(0.3)\nbass: note("c2").s("square").gain(0.5)'
KEYS2 = 'lead: note("d4 f4 a4").s("triangle").delay(0.25)'

t = Tap()
tmp = tempfile.mkdtemp(prefix="tutti-replay-")
cap = os.path.join(tmp, "capture")
os.mkdir(cap)
db = os.path.join(tmp, "tutti.db")


def wait_id(ws, i):
    while True:
        m = ws.recv_json()
        if m.get("id") == i:
            return m


def performer(srv, sid, tok, name):
    ws = srv.ws(timeout=30)
    ws.request({"type": "hello", "id": 0, "name": name, "client_id": name + "-1"})
    ws.call({"type": "join", "id": 1, "session": sid, "token": tok})
    return ws


def edit(ws, doc, rev, text, seq):
    r = ws.call({"type": "op", "id": 100 + seq, "doc": doc, "rev": rev, "op": [text], "seq": seq})
    assert r.get("type") == "ack", r


def pcm_of_wav(data):
    """The data chunk of a WAV file (any chunks before it skipped)."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", data[:16]
    i = 12
    while i + 8 <= len(data):
        cid, size = data[i:i + 4], struct.unpack("<I", data[i + 4:i + 8])[0]
        if cid == b"data":
            return data[i + 8:i + 8 + size]
        i += 8 + size + (size & 1)
    raise ValueError("no data chunk")


def render(*args):
    out = os.path.join(tmp, "out-%d.wav" % time.monotonic_ns())
    p = subprocess.run([TUTTI, "render", "--db", db, "--float", "-o", out] + list(args),
                       capture_output=True, text=True, timeout=300)
    data = None
    if p.returncode == 0:
        with open(out, "rb") as f:
            data = pcm_of_wav(f.read())
    return p, data


def ostr(s):
    b = s.encode() + b"\0"
    return b + b"\0" * (-len(b) % 4)


def dirt_play(*pairs):
    """An OSC /dirt/play message (TidalCycles' SuperDirt protocol)."""
    tags, data = ",", b""
    for a in pairs:
        if isinstance(a, str):
            tags, data = tags + "s", data + ostr(a)
        else:
            tags, data = tags + "f", data + struct.pack(">f", a)
    return ostr("/dirt/play") + ostr(tags) + data


def first_diff(a, b):
    n = min(len(a), len(b))
    for i in range(0, n, 4):
        if a[i:i + 4] != b[i:i + 4]:
            return i // 8
    return None


# ---- run 1: two performers, two documents, tempo, mute, hush ----
srv = Server(["--capture-pcm", cap], db=db, tmpdir=tmp).start()
st, sess = srv.json("POST", "/api/sessions", {"name": "replayed"})
sid, tok = sess["id"], sess["owner_token"]
ann = performer(srv, sid, tok, "ann")
bo = performer(srv, sid, tok, "bo")
drums = ann.call({"type": "doc.create", "id": 2, "name": "drums"})["doc"]["id"]
keys = bo.call({"type": "doc.create", "id": 2, "name": "keys"})["doc"]["id"]
ann.call({"type": "doc.open", "id": 3, "doc": drums})
bo.call({"type": "doc.open", "id": 3, "doc": keys})
edit(ann, drums, 0, DRUMS, 1)
edit(bo, keys, 0, KEYS, 1)
r = ann.call({"type": "eval", "id": 10, "doc": drums})
t.ok(r.get("ok") is True, "ann's drums land", r)
time.sleep(0.6)
r = bo.call({"type": "eval", "id": 10, "doc": keys, "quantum": "now"})
t.ok(r.get("ok") is True, "bo's keys land mid-cycle (now)", r)
time.sleep(0.9)
r = ann.call({"type": "tempo", "id": 11, "cps": 0.8})
t.ok(r.get("type") == "tempo", "tempo change", r)
time.sleep(0.7)
bo.call({"type": "mute", "id": 12, "track": "bass"})
time.sleep(0.5)
bo.call({"type": "mute", "id": 13, "track": "bass", "on": False})
r = bo.call({"type": "eval", "id": 14, "doc": keys, "quantum": {"every": 2}})
t.ok(r.get("ok") is True, "an evaluation every 2 cycles", r)
time.sleep(0.8)
ann.call({"type": "hush", "id": 15})
time.sleep(0.3)
ann.call({"type": "hush", "id": 16, "on": False})
time.sleep(1.0)
ann.close()
bo.close()
srv.stop()

# ---- run 2: after a restart the session restores and goes on, and
# TidalCycles plays into it over OSC ----
srv = Server(["--capture-pcm", cap, "--osc-session", sid, "--osc-listen", "127.0.0.1:0"],
             db=db, tmpdir=tmp).start()
osc_port = srv.json("GET", "/api/health")[1]["osc"]["port"]
bo = performer(srv, sid, tok, "bo")
bo.call({"type": "doc.open", "id": 3, "doc": keys})
r = bo.call({"type": "op", "id": 4, "doc": keys, "rev": 1,
             "op": [-len(KEYS), KEYS2], "seq": 2})
t.ok(r.get("type") == "ack", "bo rewrites keys after the restart", r)
r = bo.call({"type": "eval", "id": 5, "doc": keys})
t.ok(r.get("ok") is True, "an evaluation in the second run", r)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(6):
    udp.sendto(dirt_play("s", "cp", "gain", 1.0, "speed", 1.0 + i / 4), ("127.0.0.1", osc_port))
    time.sleep(0.3)
udp.close()
time.sleep(1.0)

con = sqlite3.connect(db)
runs = con.execute("SELECT id, start_frame, started_ms, restore_applied, last_frame FROM runs"
                   " WHERE session_id = ? ORDER BY id", (sid,)).fetchall()
t.ok(len(runs) == 2, "two runs recorded", runs)
(r1, s1, ms1, _, l1), (r2, s2, ms2, ra2, _) = runs[0], runs[1]
t.ok(s1 == 0 and s2 >= s1 + l1 and abs((s2 - s1) - (ms2 - ms1) * 48) <= RATE,
     "the second run starts after the first, where the wall clock says", runs)
t.ok(ra2 is not None, "the restore of the second run is recorded", runs)
ev = con.execute("SELECT count(*) FROM evaluations WHERE session_id = ? AND run_id IS NOT NULL"
                 " AND applied_frame IS NOT NULL", (sid,)).fetchone()[0]
ctl = con.execute("SELECT kind, track, on_ FROM controls WHERE session_id = ? ORDER BY id",
                  (sid,)).fetchall()
t.ok(ev == 4, "every evaluation has its run and block", ev)
osc_rows = con.execute("SELECT count(*) FROM direct_events WHERE session_id = ? AND run_id = ?",
                       (sid, r2)).fetchone()[0]
t.ok(osc_rows == 6, "the OSC events are stored with their run", osc_rows)
t.ok(ctl == [("mute", "bass", 1), ("mute", "bass", 0), ("hush", "", 1), ("hush", "", 0)],
     "mute and hush are logged", ctl)
con.close()

# ---- bit-exact against what was played ----
with open(os.path.join(cap, "%s-%d.f32" % (sid, r1)), "rb") as f:
    live1 = f.read()
t.ok(len(live1) > 4 * RATE * 8, "run 1 was captured (%.1f s)" % (len(live1) / RATE / 8))
a, b = 1.0, len(live1) / RATE / 8 - 0.1
p, rep = render("--session", sid, "--from", "%g" % a, "--to", "%.4f" % b)
t.ok(p.returncode == 0, "tutti render --db renders run 1", p.stderr)
want = live1[int(a * RATE) * 8:int(a * RATE) * 8 + len(rep or b"")]
t.ok(rep is not None and len(rep) == (int(round(b * RATE)) - int(a * RATE)) * 8 and rep == want,
     "run 1 from 1 s on: replayed PCM equals the live render bit for bit",
     "first difference at frame %s" % first_diff(rep or b"", want))
t.ok(rep is not None and max(abs(x) for x in struct.unpack("<%df" % (len(rep) // 4), rep)[::97]) > 0.05,
     "and it is not silence")

# run 2 is still playing: the HTTP route renders what is recorded so far
time.sleep(1.2)  # progress is stored every second
with open(os.path.join(cap, "%s-%d.f32" % (sid, r2)), "rb") as f:
    live2 = f.read()
frm = (s2 + RATE // 2) / RATE
to = (s2 + int(2.5 * RATE)) / RATE
st, hdr, body = srv.request("GET", "/api/sessions/%s/render.wav?from=%.6f&to=%.6f&bits=32f"
                            % (sid, frm, to), timeout=60)
rep2 = pcm_of_wav(body) if st == 200 else b""
off = RATE // 2 * 8
t.ok(st == 200 and rep2 == live2[off:off + len(rep2)] and len(rep2) == 2 * RATE * 8,
     "run 2 (restored, then re-evaluated), over HTTP: bit for bit",
     (st, len(rep2), first_diff(rep2, live2[off:])))

# the whole session: run 1, the silent gap, run 2's start
p, whole = render("--session", sid, "--to", "%.6f" % ((s2 + RATE) / RATE))
t.ok(p.returncode == 0 and len(whole) == (s2 + RATE) * 8, "the whole session renders", p.stderr)
if whole:
    t.ok(whole[:len(live1) - 8 * 960] == live1[:len(live1) - 8 * 960],
         "from frame 0: run 1 bit for bit", first_diff(whole, live1))
    gap = whole[(l1 + 960) * 8:s2 * 8]
    t.ok(gap == bytes(len(gap)), "silence while the server was down (%.1f s)" % (len(gap) / 8 / RATE))
    t.ok(whole[s2 * 8:] == live2[:RATE * 8], "run 2 from its start", first_diff(whole[s2 * 8:], live2))

# all of run 2 recorded so far: the restore, an evaluation, the OSC events
time.sleep(1.2)
with open(os.path.join(cap, "%s-%d.f32" % (sid, r2)), "rb") as f:
    live2 = f.read()
con = sqlite3.connect(db)
last2 = con.execute("SELECT last_frame FROM runs WHERE id = ?", (r2,)).fetchone()[0]
con.close()
n2 = min(len(live2) // 8 - 2 * 960, last2) // 960 * 960  # progress is stored every second
p, rep3 = render("--session", sid, "--from", "%.6f" % (s2 / RATE), "--to", "%.6f" % ((s2 + n2) / RATE))
t.ok(p.returncode == 0 and n2 > 3 * RATE and rep3 == live2[:n2 * 8],
     "run 2 with its OSC events (%.1f s): bit for bit" % (n2 / RATE),
     (p.stderr, n2, first_diff(rep3 or b"", live2)))

# ---- stems ----
p, stem_d = render("--session", sid, "--from", "1", "--to", "4", "--stem", "drums")
p2, stem_b = render("--session", sid, "--from", "1", "--to", "4", "--stem-author", "bo")
p3, stem_k = render("--session", sid, "--from", "1", "--to", "4", "--stem", "keys")
t.ok(p.returncode == 0 and p2.returncode == 0 and stem_d and stem_b,
     "stems by document and by performer render", p.stderr + p2.stderr)
t.ok(stem_d != want[:len(stem_d or b"")] and stem_d != stem_b, "a stem is not the mix")
t.ok(stem_b == stem_k, "bo's stem is the keys document's (he evaluated only keys)")
p, _ = render("--session", sid, "--stem", "nosuch")
t.ok(p.returncode == 1 and "no evaluation of document 'nosuch'" in p.stderr,
     "a stem nothing matches: a clear error", p.stderr)

# ---- errors ----
p, _ = render("--session", "aaaaaaaaaa")
t.ok(p.returncode == 1 and "no session 'aaaaaaaaaa'" in p.stderr, "unknown session", p.stderr)
p, _ = render("--session", sid, "--from", "100000")
t.ok(p.returncode == 1 and "not inside the session" in p.stderr, "a span outside", p.stderr)
p = subprocess.run([TUTTI, "render", "--db", db, "-o", "x.wav"], capture_output=True, text=True)
t.ok(p.returncode == 2 and "--session" in p.stderr, "usage error without --session", p.stderr)
p = subprocess.run([TUTTI, "render", "--db", db, "--session", sid, "--from", "1:75", "-o", "x.wav"],
                   capture_output=True, text=True)
t.ok(p.returncode == 2 and "not a time" in p.stderr, "a bad time", p.stderr)
st, _, body = srv.request("GET", "/api/sessions/%s/render.wav?from=abc" % sid)
t.ok(st == 400 and b"seconds" in body, "HTTP: a bad from is 400", body[:200])
st, _, body = srv.request("GET", "/api/sessions/%s/render.ogg?from=99999" % sid)
t.ok(st == 400 and b"not inside" in body, "HTTP: a span outside is 400", body[:200])
st, _, body = srv.request("GET", "/api/sessions/aaaaaaaaaa/render.ogg")
t.ok(st == 404, "HTTP: unknown session is 404", body[:200])
st, _, body = srv.request("GET", "/api/sessions/%s/render.ogg?stem=piano" % sid)
t.ok(st == 400 and b"doc:NAME" in body, "HTTP: a bad stem is 400", body[:200])

# ---- Ogg and annotations over HTTP ----
st, hdr, body = srv.request("GET", "/api/sessions/%s/render.ogg?from=1&to=3" % sid, timeout=60)
path = os.path.join(tmp, "span.ogg")
with open(path, "wb") as f:
    f.write(body)
p = subprocess.run([OGGCHECK, "ogg", path], capture_output=True, text=True)
wins = [json.loads(l) for l in p.stdout.splitlines()] if p.returncode == 0 else []
t.ok(st == 200 and hdr.get("content-type") == "audio/ogg" and
     abs(len(wins) * 960 - 2 * RATE) <= 2 * 960 and any(w["rms"] > 0.01 for w in wins),
     "render.ogg: 2 s of Ogg Opus that decodes, with sound", (st, len(wins)))
st, _, body = srv.request("GET", "/api/sessions/%s/replay/annotations?from=1&to=3" % sid, timeout=60)
an = json.loads(body) if st == 200 else {}
hits = an.get("annotations", [])
bd = DRUMS.index("bd")
t.ok(st == 200 and hits and all(1 <= h["t"] < 3 for h in hits), "annotations of the span", body[:200])
t.ok(any(h["doc"] == drums and (h["start"], h["end"]) == (bd, bd + 2) for h in hits),
     "they point at 'bd' in the drums document")
t.ok(any(h["doc"] == keys for h in hits), "and at the keys document")

bo.close()
srv.stop()
t.done()
