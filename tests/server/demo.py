"""The embedded default's demo session: created on a first start with a
stored document and evaluation, it plays as soon as someone listens, and a
restart does not create it twice."""
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, BUILDDIR  # noqa: E402

OGGCHECK = os.path.join(BUILDDIR, "tests", "server", "oggcheck")
t = Tap()
tmp = tempfile.mkdtemp(prefix="tutti-demo-")
db = os.path.join(tmp, "tutti.db")

with Server(tmpdir=tmp, db=db, demo=True) as srv:
    st, body = srv.json("GET", "/api/sessions")
    sessions = body["sessions"]
    t.ok(len(sessions) == 1 and sessions[0]["name"] == "demo", "a first start creates the demo session", body)
    sid = sessions[0]["id"]
    t.ok(any("/s/%s/live.ogg" % sid in l for l in srv.log), "its stream URL is logged")
    tok = [l.split("(shown once): ")[1].strip() for l in srv.log if "(shown once): " in l]
    t.ok(len(tok) == 1 and tok[0].startswith("t"), "and its owner token, once", tok)
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    c.request("GET", "/s/%s/live.ogg" % sid)
    r = c.getresponse()
    data, end = b"", time.time() + 3
    while time.time() < end:
        data += r.read1(65536)
    c.close()
    path = os.path.join(tmp, "demo.ogg")
    with open(path, "wb") as f:
        f.write(data)
    p = subprocess.run([OGGCHECK, "ogg", path], capture_output=True, text=True)
    wins = [json.loads(l) for l in p.stdout.splitlines()]
    loud = [w for w in wins if w["rms"] > 0.02]
    t.ok(p.returncode == 0 and len(loud) > len(wins) // 2,
         "the demo plays at once (%d of %d windows sound)" % (len(loud), len(wins)))
    ws = srv.ws()
    ws.call({"type": "hello", "id": 0})
    j = ws.call({"type": "join", "id": 1, "session": sid})
    t.eq(j.get("role"), "listener", "without a token one joins the public demo as a listener")
    docs = ws.call({"type": "doc.list", "id": 2})["docs"]
    snap = ws.call({"type": "doc.open", "id": 3, "doc": docs[0]["id"]})
    t.ok("$: s(" in snap.get("text", ""), "its document holds the code that plays", snap.get("text"))
    r = ws.call({"type": "op", "id": 4, "doc": docs[0]["id"], "rev": snap["rev"], "op": ["x"]})
    t.ok(r.get("type") == "error" and r["error"]["code"] == "forbidden", "a listener cannot edit it", r)
    ws.close()
    ws = srv.ws()
    ws.call({"type": "hello", "id": 0})
    j = ws.call({"type": "join", "id": 1, "session": sid, "token": tok[0] if tok else ""})
    t.eq(j.get("role"), "owner", "the logged token makes its holder the owner")
    ws.close()

with Server(tmpdir=tmp, db=db, demo=True) as srv:
    st, body = srv.json("GET", "/api/sessions")
    t.eq(len(body["sessions"]), 1, "a restart does not create a second demo")
shutil.rmtree(tmp, ignore_errors=True)
t.done()
