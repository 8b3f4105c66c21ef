"""The archive of the live stream (issue 8 part 3) through the real tuttid:
with --archive-rotate 2 a session that plays note("a4").s("sine") for a
few seconds leaves rotating Ogg Opus files under DIR/SESSION/, indexed in
SQLite and listed at /api/sessions/ID/archive. Each file decodes on its own
(libopusfile through tests/server/oggcheck, and opusinfo) to exactly the
frames its row says, the files are contiguous, the sine is in them after
the landing, and the URL serves the same bytes. A token-gated session's
archive is readable with a listener token and not with a wrong one. A
crash leaves an open row that the next start completes from the file;
--archive-keep-days deletes old files; --no-archive writes nothing; an
archive directory that cannot be made, or a session whose directory is in
the way, gives a clear log line while the stream plays on. The rotation's
limits (TT_MIN/MAX_ARCHIVE_ROTATE_S) are tested at N and N+1."""
import http.client
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, BUILDDIR, SRCDIR, TUTTID, limit  # noqa: E402

OGGCHECK = os.path.join(BUILDDIR, "tests", "server", "oggcheck")
CODE = 'note("a4").s("sine")'
RATE = 48000
ROTATE = 2

t = Tap()
tmp = tempfile.mkdtemp(prefix="tutti-archive-")


def decode(path):
    p = subprocess.run([OGGCHECK, "ogg", path], capture_output=True, text=True)
    if p.returncode != 0:
        return None
    return [json.loads(l) for l in p.stdout.splitlines()]


def opusinfo_ok(path):
    if not shutil.which("opusinfo"):
        return True, "opusinfo not installed"
    p = subprocess.run(["opusinfo", path], capture_output=True, text=True)
    out = p.stdout + p.stderr
    return p.returncode == 0 and "WARNING" not in out and "ERROR" not in out, out


def play(srv, name, seconds, sid=None, tok=None):
    """Creates (or joins) a session, evaluates CODE and lets it play."""
    if sid is None:
        st, sess = srv.json("POST", "/api/sessions", {"name": name})
        sid, tok = sess["id"], sess["owner_token"]
    ws = srv.ws(timeout=30)
    ws.request({"type": "hello", "id": 0, "name": "ann"})
    ws.request({"type": "join", "id": 1, "session": sid, "token": tok})
    doc = ws.request({"type": "doc.create", "id": 2, "name": "main-%d" % time.time_ns()})["doc"]["id"]
    ws.request({"type": "doc.open", "id": 3, "doc": doc})
    ws.request({"type": "op", "id": 4, "doc": doc, "rev": 0, "op": [CODE], "seq": 1})
    res = ws.request({"type": "eval", "id": 5, "doc": doc})
    time.sleep(seconds)
    ws.close()
    return sid, tok, res.get("landing", {}).get("frame")


def files_of(srv, sid, headers=None):
    st, _, body = srv.request("GET", "/api/sessions/%s/archive" % sid, headers=headers)
    try:
        return st, json.loads(body).get("files")
    except ValueError:
        return st, None


def metric(srv, name):
    st, _, body = srv.request("GET", "/metrics")
    m = re.search(r"^%s (\d+)$" % name, body.decode(), re.M)
    return int(m.group(1)) if m else None


def wait_for(pred, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    return pred()


# ---- the rotation's limits, at N and N+1 (the flags are parsed before --version) ----
lo, hi = limit("TT_MIN_ARCHIVE_ROTATE_S"), limit("TT_MAX_ARCHIVE_ROTATE_S")
for value, good in ((lo - 1, False), (lo, True), (hi, True), (hi + 1, False)):
    p = subprocess.run([TUTTID, "--archive-rotate", str(value), "--version"], capture_output=True,
                       text=True)
    if good:
        t.ok(p.returncode == 0, "--archive-rotate %d is accepted" % value, p.stderr)
    else:
        t.ok(p.returncode == 2 and "archive-rotate: '%d'" % value in p.stderr and
             "%d..%d" % (lo, hi) in p.stderr, "--archive-rotate %d is refused, saying the range" % value,
             p.stderr)
conf = os.path.join(tmp, "bad.conf")
with open(conf, "w") as f:
    f.write("# archive settings\narchive = yes\narchive-rotate = soon\n")
p = subprocess.run([TUTTID, "--config", conf, "--version"], capture_output=True, text=True)
t.ok(p.returncode == 2 and "line 3" in p.stderr and "archive-rotate" in p.stderr,
     "a bad archive-rotate in the config file names the file and line", p.stderr)
with open(conf, "w") as f:
    f.write("archive = maybe\n")
p = subprocess.run([TUTTID, "--config", conf, "--version"], capture_output=True, text=True)
t.ok(p.returncode == 2 and "archive: 'maybe' is not yes or no" in p.stderr,
     "archive = maybe is refused", p.stderr)

# ---- a session plays; its archive rotates every 2 s ----
db = os.path.join(tmp, "tutti.db")
adir = os.path.join(tmp, "archive")  # the default: beside the database
srv = Server(args=["--archive-rotate", str(ROTATE)], tmpdir=tmp, db=db).start()
sid, tok, landing = play(srv, "archived", 5.5)
t.ok(landing and landing > 0, "the pattern lands (frame %s)" % landing)
st, files = files_of(srv, sid)
t.ok(st == 200 and files is not None, "GET /api/sessions/ID/archive answers", files)
files = files or []
closed = [f for f in files if not f["open"]]
t.ok(len(closed) >= 2, "at least two files are complete after 5.5 s at 2 s each (%d)" % len(closed),
     files)
t.ok(any(f["open"] and f["ended_ms"] is None for f in files), "the file being written is listed as open")
t.ok(all(f["seconds"] == ROTATE and f["last_frame"] - f["first_frame"] == ROTATE * RATE
         for f in closed), "each complete file holds exactly %d s of audio (the rotation)" % ROTATE,
     [(f["first_frame"], f["last_frame"]) for f in closed])
t.ok(files and files[0]["first_frame"] == 0, "the first file starts at run frame 0")
t.ok(all(a["last_frame"] == b["first_frame"] for a, b in zip(files, files[1:])),
     "the files are contiguous: each starts where the one before ended",
     [(f["first_frame"], f["last_frame"]) for f in files])
t.ok(all(f["run"] == files[0]["run"] for f in files) and
     all(f["url"] == "/api/sessions/%s/archive/%d.ogg" % (sid, f["id"]) for f in files),
     "one run; each file has its URL", files[:1])
t.ok(all(f["started_ms"] <= f["ended_ms"] for f in closed), "started_ms <= ended_ms")

sine_files = 0
for i, f in enumerate(closed):
    st, hdrs, data = srv.request("GET", f["url"])
    path = os.path.join(tmp, "got-%d.ogg" % i)
    with open(path, "wb") as out:
        out.write(data)
    on_disk = os.path.join(adir, sid, "%d-%d.ogg" % (f["run"] or 0, i + 1))
    same = os.path.exists(on_disk) and open(on_disk, "rb").read() == data
    t.ok(st == 200 and hdrs.get("content-type") == "audio/ogg" and len(data) == f["bytes"] and same,
         "file %d: the URL serves the indexed bytes of %s" % (i + 1, os.path.relpath(on_disk, tmp)),
         (st, hdrs.get("content-type"), len(data), f["bytes"], same))
    wins = decode(path)
    t.ok(wins is not None and len(wins) == (f["last_frame"] - f["first_frame"]) // 960 and
         wins[0]["frame"] == f["first_frame"],
         "file %d decodes alone to exactly its frames %d..%d" % (i + 1, f["first_frame"], f["last_frame"]),
         (len(wins or []), wins[:1] if wins else None))
    ok, out = opusinfo_ok(path)
    t.ok(ok, "file %d passes opusinfo without a warning" % (i + 1), out)
    heard = [w for w in (wins or []) if w["frame"] >= max(landing or 0, f["first_frame"]) + 960]
    if heard and all(abs(w["freq"] - 440) < 3 for w in heard):
        sine_files += 1
    # Magic: a whole Ogg Opus stream of its own, with its own serial.
    t.ok(data[:4] == b"OggS" and data[28:36] == b"OpusHead", "file %d starts with OpusHead" % (i + 1))
serials = set()
for i in range(len(closed)):
    with open(os.path.join(tmp, "got-%d.ogg" % i), "rb") as fh:
        serials.add(fh.read(18)[14:18])
t.ok(len(serials) == len(closed), "every file has its own Ogg serial number")
t.ok(sine_files >= 1, "440 Hz is in the archive after the landing (%d files)" % sine_files)

# Ranges, so that a player can seek in a file.
f0 = closed[0]
with open(os.path.join(tmp, "got-0.ogg"), "rb") as fh:
    whole = fh.read()
size = len(whole)
st, hdrs, _ = srv.request("GET", f0["url"])
t.eq(hdrs.get("accept-ranges"), "bytes", "a file says it takes ranges")
for rng, want in (("bytes=0-99", (0, 99)), ("bytes=100-", (100, size - 1)),
                  ("bytes=-10", (size - 10, size - 1)), ("bytes=5-%d" % (size + 50), (5, size - 1))):
    st, hdrs, data = srv.request("GET", f0["url"], headers={"Range": rng})
    t.ok(st == 206 and data == whole[want[0]:want[1] + 1] and
         hdrs.get("content-range") == "bytes %d-%d/%d" % (want[0], want[1], size),
         "Range %s: 206 with those bytes" % rng, (st, hdrs.get("content-range"), len(data)))
for rng in ("bytes=%d-" % size, "bytes=9-3", "bytes=x-1", "bytes=-0"):
    st, hdrs, body = srv.request("GET", f0["url"], headers={"Range": rng})
    t.ok(st == 416 and hdrs.get("content-range") == "bytes */%d" % size and b"bad_range" in body,
         "Range %s: 416 saying the size" % rng, (st, hdrs.get("content-range"), body))
st, _, data = srv.request("GET", f0["url"], headers={"Range": "bytes=0-1,5-9"})
t.ok(st == 200 and data == whole, "several ranges: the whole file (200)")

# Access, as for the stream: public now; then token-only.
c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
c.request("POST", "/api/sessions/%s/invites" % sid, body=json.dumps({"role": "listener"}),
          headers={"Authorization": "Bearer " + tok})
r = c.getresponse()
listener = json.loads(r.read())["token"]
c.request("PATCH", "/api/sessions/%s" % sid, body=json.dumps({"listen": "token"}),
          headers={"Authorization": "Bearer " + tok})
r = c.getresponse()
r.read()
c.close()
t.ok(r.status == 200, "the owner makes listening token-only")
st, body = files_of(srv, sid)
t.eq(st, 403, "token-only: the archive list without a token is refused")
st, body = files_of(srv, sid, {"Authorization": "Bearer t1.wrongwrongwrong"})
t.eq(st, 403, "token-only: a wrong token is refused")
st, lf = files_of(srv, sid, {"Authorization": "Bearer " + listener})
t.ok(st == 200 and len(lf or []) >= 2, "a listener token lists the archive")
url = closed[0]["url"]
st, _, data = srv.request("GET", url + "?t=" + listener)
t.ok(st == 200 and len(data) == closed[0]["bytes"], "a listener token (?t=) fetches a file")
st, _, body = srv.request("GET", url, headers={"Authorization": "Bearer t1.wrongwrongwrong"})
t.ok(st == 403 and b"token" in body, "a wrong token cannot fetch a file, and is told why", body)
st, _, body = srv.request("GET", url)
t.eq(st, 403, "no token cannot fetch a file")

# Bad file names answer 404 and say where to look; the server keeps going.
for bad in ("abc.ogg", "999999.ogg", "1", "-1.ogg", "%d.ogg.x" % closed[0]["id"]):
    st, _, body = srv.request("GET", "/api/sessions/%s/archive/%s?t=%s" % (sid, bad, listener))
    t.ok(st == 404 and b"/archive" in body, "archive/%s: 404 with a hint" % bad, (st, body))
st, _, body = srv.request("GET", "/api/sessions/nosuchsess/archive")
t.eq(st, 404, "the archive of an unknown session: 404")
st, _, _ = srv.request("POST", "/api/sessions/%s/archive" % sid)
t.eq(st, 405, "POST on the archive: 405")
st2, other = srv.json("POST", "/api/sessions", {"name": "other"})
st, _, _ = srv.request("GET", "/api/sessions/%s/archive/%d.ogg" % (other["id"], closed[0]["id"]))
t.eq(st, 404, "a file is not reachable through another session's path")
t.ok((metric(srv, "tutti_archive_files_total") or 0) >= 2 and
     (metric(srv, "tutti_archive_bytes_total") or 0) > 0, "/metrics counts archive files and bytes")
t.ok(srv.wait_log(lambda l: re.search(r"archive.*%s/.*run frames 0\.\.96000" % sid, l)),
     "closing a file is logged with its frames")

# A clean stop closes the last file: every row complete and contiguous.
srv.stop()
con = sqlite3.connect(db)
rows = con.execute("SELECT id, run_id, path, first_frame, last_frame, ended_ms, bytes"
                   " FROM archive_files WHERE session_id = ? ORDER BY id", (sid,)).fetchall()
t.ok(rows and all(r[5] is not None for r in rows), "after a clean stop every row is complete", rows)
t.ok(all(a[4] == b[3] for a, b in zip(rows, rows[1:])), "and the rows stay contiguous", rows)
last = rows[-1]
t.ok(last[4] > last[3] and os.path.getsize(os.path.join(adir, last[2])) == last[6],
     "the last file's row has its frames and its size", last)
wins = decode(os.path.join(adir, last[2]))
t.ok(wins is not None and len(wins) == (last[4] - last[3]) // 960,
     "the last file decodes to its frames", len(wins or []))
ok, out = opusinfo_ok(os.path.join(adir, last[2]))
t.ok(ok, "the last file (EOS at the end of the run) passes opusinfo", out)

# ---- a crash leaves an open row; the next start completes it ----
srv = Server(args=["--archive-rotate", "600"], tmpdir=tmp, db=db).start()
st, _, _ = srv.request("GET", "/api/sessions/%s" % sid)
play(srv, None, 2.5, sid=sid, tok=tok)
srv.stop(sig=signal.SIGKILL)
open_rows = con.execute("SELECT id, path, first_frame FROM archive_files WHERE ended_ms IS NULL"
                        ).fetchall()
t.ok(len(open_rows) == 1, "a killed server leaves its file's row open", open_rows)
crashed = open_rows[0] if open_rows else (0, "", 0)
cpath = os.path.join(adir, crashed[1])
# Garbage at the end, as a crash mid-write can leave it: a page header
# whose lengths fit the file but whose CRC does not match.
with open(cpath, "ab") as fh:
    fh.write(b"OggS\x00\x00" + b"\x01" * 30)
# And an old file for --archive-keep-days to delete.
old = os.path.join(adir, sid, "old.ogg")
shutil.copy(os.path.join(adir, rows[0][2]), old)
con.execute("INSERT INTO archive_files (session_id, run_id, path, first_frame, last_frame,"
            " started_ms, ended_ms, bytes) VALUES (?, NULL, ?, 0, 96000, ?, ?, ?)",
            (sid, sid + "/old.ogg", int(time.time() * 1000) - 3 * 86400000,
             int(time.time() * 1000) - 3 * 86400000 + 2000, os.path.getsize(old)))
con.commit()
srv = Server(args=["--archive-keep-days", "2"], tmpdir=tmp, db=db).start()
fixed = wait_for(lambda: con.execute("SELECT ended_ms, bytes, last_frame, first_frame FROM"
                                     " archive_files WHERE id = ? AND ended_ms IS NOT NULL",
                                     (crashed[0],)).fetchone())
t.ok(fixed and fixed[1] == os.path.getsize(cpath), "the next start completes the row from the file",
     (fixed, os.path.getsize(cpath)))
t.ok(fixed and fixed[2] - fixed[3] >= RATE, "its frames come from the file's last page (%s)" %
     (fixed and fixed[2] - fixed[3]))
wins = decode(cpath)
t.ok(wins is not None and fixed and len(wins) == (fixed[2] - fixed[3]) // 960,
     "the crashed file, cut to its whole pages, decodes to its frames", len(wins or []))
gone = wait_for(lambda: not os.path.exists(old))
t.ok(gone and con.execute("SELECT COUNT(*) FROM archive_files WHERE path = ?",
                          (sid + "/old.ogg",)).fetchone()[0] == 0,
     "--archive-keep-days 2 deletes a 3-day-old file and its row")
t.ok(os.path.exists(os.path.join(adir, rows[0][2])), "and keeps the recent ones")
srv.stop()
con.close()

# ---- --no-archive writes nothing ----
tmp2 = os.path.join(tmp, "noarch")
os.mkdir(tmp2)
srv = Server(args=["--no-archive", "--archive-rotate", "1"], tmpdir=tmp2).start()
sid2, _, landing2 = play(srv, "unarchived", 2.5)
st, f2 = files_of(srv, sid2)
t.ok(landing2 and st == 200 and f2 == [], "--no-archive: the session plays and lists no files", f2)
srv.stop()
t.ok(not os.path.exists(os.path.join(tmp2, "archive")), "--no-archive: no archive directory")
c2 = sqlite3.connect(os.path.join(tmp2, "tutti.db"))
t.eq(c2.execute("SELECT COUNT(*) FROM archive_files").fetchone()[0], 0, "--no-archive: no rows")
c2.close()

# ---- an archive directory that cannot be made: logged; the stream plays ----
tmp3 = os.path.join(tmp, "blocked")
os.mkdir(tmp3)
blocker = os.path.join(tmp3, "afile")
open(blocker, "w").close()
srv = Server(args=["--archive-dir", os.path.join(blocker, "archive")], tmpdir=tmp3).start()
sid3, tok3, landing3 = play(srv, "blocked", 0.5)
c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
c.request("GET", "/s/%s/live.ogg" % sid3)
r = c.getresponse()
data = b""
end = time.time() + 2.0
while time.time() < end:
    data += r.read1(65536)
c.close()
path = os.path.join(tmp3, "live.ogg")
with open(path, "wb") as fh:
    fh.write(data)
wins = decode(path) or []
t.ok(srv.wait_log("cannot create the archive directory %s" % os.path.join(blocker, "archive")), "an archive directory that cannot be made is logged, naming it",
     "\n".join(srv.log[-10:]))
t.ok(srv.wait_log(lambda l: re.search(r"archive.*%s: cannot create the directory "
                                         r".*Not a directory.*stream goes on" % sid3, l)), "the session's archive failure is logged once",
     "\n".join(l for l in srv.log if "archive" in l))
t.ok(len(wins) > 50 and landing3, "the live stream still plays (%d windows decoded)" % len(wins))
t.ok((metric(srv, "tutti_archive_failures_total") or 0) >= 1, "/metrics counts the failure")
t.ok(srv.alive(), "the server keeps running")
srv.stop()

# ---- one session's directory in the way: that session stops, another is archived ----
tmp4 = os.path.join(tmp, "inway")
os.mkdir(tmp4)
srv = Server(args=["--archive-rotate", "1"], tmpdir=tmp4).start()
st, s4 = srv.json("POST", "/api/sessions", {"name": "in the way"})
os.makedirs(os.path.join(tmp4, "archive"), exist_ok=True)
open(os.path.join(tmp4, "archive", s4["id"]), "w").close()
play(srv, None, 1.5, sid=s4["id"], tok=s4["owner_token"])
sid5, _, _ = play(srv, "fine", 2.5)
fails = [l for l in srv.log if "archive" in l and s4["id"] + ": cannot" in l]
t.ok(len(fails) == 1, "a session whose directory is a file: one clear log line", fails)
st, f5 = files_of(srv, sid5)
t.ok(st == 200 and len([f for f in f5 if not f["open"]]) >= 1,
     "another session is still archived (--archive-rotate 1, the minimum)", f5)
t.ok(all(f["seconds"] == 1 for f in f5 if not f["open"]), "1 s files at --archive-rotate 1")
srv.stop()

# ---- a full disk: a small tmpfs, filled up (needs the right to mount) ----
tmp5 = os.path.join(tmp, "full")
mnt = os.path.join(tmp5, "disk")
os.makedirs(mnt)
m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt], capture_output=True,
                   text=True)
if m.returncode != 0:
    t.ok(True, "# SKIP a full disk: cannot mount a tmpfs here (%s)" % m.stderr.strip()[:60])
else:
    try:
        fd = os.open(os.path.join(mnt, "filler"), os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"\0" * 4096) > 0:
                pass
        except OSError:
            pass
        os.close(fd)
        srv = Server(args=["--archive-dir", mnt], tmpdir=tmp5).start()
        sid6, _, landing6 = play(srv, "full disk", 0.5)
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        c.request("GET", "/s/%s/live.ogg" % sid6)
        r = c.getresponse()
        data = b""
        end = time.time() + 1.5
        while time.time() < end:
            data += r.read1(65536)
        c.close()
        with open(os.path.join(tmp5, "live.ogg"), "wb") as fh:
            fh.write(data)
        wins = decode(os.path.join(tmp5, "live.ogg")) or []
        fails = [l for l in srv.log if re.search(r"archive.*%s: cannot write .*No space left on "
                                                 r"device.*stream goes on" % sid6, l)]
        t.ok(len(fails) == 1, "a full disk: one clear log line for the session", fails or srv.log[-8:])
        t.ok(len(wins) > 30, "a full disk: the stream plays on (%d windows)" % len(wins))
        st, f6 = files_of(srv, sid6)
        t.ok(st == 200 and f6 == [], "a file with no audio in it is not left in the index", f6)
        t.ok((metric(srv, "tutti_archive_failures_total") or 0) == 1, "/metrics counts it once")
        srv.stop()
    finally:
        subprocess.run(["umount", mnt])

shutil.rmtree(tmp, ignore_errors=True)
t.done()
