"""tuttid backup --db FILE -o OUT (SQLite's online backup) while the
server is writing: every copy passes PRAGMA integrity_check, holds a
consistent snapshot (a document's operations are a gap-free prefix of the
live ones, sessions between the counts before and after), and a second
tuttid serves it. Refusals: an existing OUT, a missing FILE, bad usage."""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, TUTTID  # noqa: E402

t = Tap()
tmp = tempfile.mkdtemp(prefix="tutti-backup-")
db = os.path.join(tmp, "tutti.db")


def count(path, sql, *args):
    con = sqlite3.connect(path)
    try:
        return con.execute(sql, args).fetchone()[0]
    finally:
        con.close()


def backup(*args):
    return subprocess.run([TUTTID, "backup"] + list(args), capture_output=True, text=True, timeout=60)


with Server(["--pbkdf2-iterations", "1000"], tmpdir=tmp, db=db) as srv:
    st, sess = srv.json("POST", "/api/sessions", {"name": "busy"})
    sid, owner = sess["id"], sess["owner_token"]
    ws = srv.ws()
    ws.call({"type": "hello", "id": 0, "name": "writer"})
    ws.call({"type": "join", "id": 1, "session": sid, "token": owner})
    doc = ws.call({"type": "doc.create", "id": 2, "name": "main"})["doc"]["id"]
    ws.call({"type": "doc.open", "id": 3, "doc": doc})
    stop = threading.Event()
    written = {"ops": 0, "sessions": 1, "errors": 0}

    def write():
        rev, length, i = 0, 0, 10
        while not stop.is_set():
            r = ws.call({"type": "op", "id": i, "doc": doc, "rev": rev, "op": ([length] if length else []) + ["x"]})
            i += 1
            if r.get("type") == "error":
                written["errors"] += 1
                if r["error"]["code"] == "rate_limited":
                    stop.wait(0.2)
                    continue
                break
            rev, length = rev + 1, length + 1
            written["ops"] = rev
            if rev % 20 == 0:
                srv.json("POST", "/api/sessions", {"name": "more %d" % rev})
                written["sessions"] += 1

    th = threading.Thread(target=write)
    th.start()
    while written["ops"] < 30:
        stop.wait(0.05)
    results = []
    for k in range(3):
        ops_before, sess_before = written["ops"], written["sessions"]
        out = os.path.join(tmp, "copy%d.db" % k)
        r = backup("--db", db, "-o", out)
        ops_after, sess_after = written["ops"], written["sessions"]
        results.append((r, out, ops_before, ops_after, sess_before, sess_after))
        stop.wait(0.3)
    stop.set()
    th.join(30)
    t.ok(written["ops"] > 30, "the writer kept writing during the backups (%d ops)" % written["ops"])
    for k, (r, out, ob, oa, sb, sa) in enumerate(results):
        t.ok(r.returncode == 0 and "integrity_check: ok" in r.stdout, "backup %d while writing: exit 0" % k, r.stderr)
        con = sqlite3.connect(out)
        ic = con.execute("PRAGMA integrity_check").fetchone()[0]
        revs = [x[0] for x in con.execute("SELECT revision FROM ops WHERE doc_id = ? ORDER BY revision", (doc,))]
        n_sess = con.execute("SELECT count(*) FROM sessions").fetchone()[0]
        uv = con.execute("PRAGMA user_version").fetchone()[0]
        con.close()
        t.eq(ic, "ok", "copy %d passes PRAGMA integrity_check" % k)
        t.ok(revs == list(range(1, len(revs) + 1)) and ob - 1 <= len(revs) <= oa + 1,
             "copy %d holds ops 1..%d with no gap (live: %d..%d when it ran)" % (k, len(revs), ob, oa))
        t.ok(sb - 1 <= n_sess <= sa + 1, "copy %d holds %d sessions (live: %d..%d)" % (k, n_sess, sb, sa))
        t.eq(uv, count(db, "PRAGMA user_version"), "copy %d has the schema version" % k)
        t.ok(not os.path.exists(out + ".tmp"), "no temporary file is left")
    ws.close()
    r = backup("--db", db, "-o", results[0][1])
    t.ok(r.returncode == 1 and "exists" in r.stderr, "an existing OUT is refused", r.stderr)
    r = backup("--db", os.path.join(tmp, "missing.db"), "-o", os.path.join(tmp, "x.db"))
    t.ok(r.returncode == 1 and not os.path.exists(os.path.join(tmp, "x.db")), "a missing FILE: exit 1, no OUT", r.stderr)
    r = backup("--db", db)
    t.eq(r.returncode, 2, "no -o: usage, exit 2")
    t.ok(srv.alive(), "the server kept running")

last = results[-1][1]
n = count(last, "SELECT count(*) FROM sessions")
with Server(["--pbkdf2-iterations", "1000"], db=last) as srv2:
    st, body = srv2.json("GET", "/api/sessions")
    t.ok(st == 200 and len(body["sessions"]) == n, "a tuttid started on the copy serves its %d sessions" % n)
    st, _, data = srv2.request("GET", "/api/docs/%d/text" % doc)
    t.ok(st == 200 and len(data) > 0, "and the document's text")
shutil.rmtree(tmp, ignore_errors=True)
t.done()
