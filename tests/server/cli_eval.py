"""tutti eval, the command-line client: puts a file into a session's
document, evaluates it, prints where it lands; the live stream then holds
the sound from that frame on. Errors come back as FILE:LINE:COL."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import http.client
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, TUTTI, BUILDDIR  # noqa: E402

OGGCHECK = os.path.join(BUILDDIR, "tests", "server", "oggcheck")
t = Tap()
tmp = tempfile.mkdtemp(prefix="tutti-cli-")


def tutti(*args):
    return subprocess.run([TUTTI] + list(args), capture_output=True, text=True, timeout=30)


with Server(tmpdir=tmp) as srv:
    url = "http://127.0.0.1:%d" % srv.port
    st, sess = srv.json("POST", "/api/sessions", {"name": "cli"})
    sid = sess["id"]
    tok = sess["owner_token"]
    tone = os.path.join(tmp, "tone.js")
    with open(tone, "w") as f:
        f.write('// a first pattern\nnote("a4").s("sine")\n')
    got = {}

    def listen():
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        c.request("GET", "/s/%s/live.ogg" % sid)
        r = c.getresponse()
        data, end = b"", time.time() + 4
        while time.time() < end:
            data += r.read1(65536)
        got["data"] = data

    th = threading.Thread(target=listen)
    th.start()
    time.sleep(0.3)
    p = tutti("eval", "--server", url, "--session", sid, "--token", tok, tone)
    m = re.match(r"lands at cycle (\S+) \(stream frame (\d+)\)", p.stdout)
    t.ok(p.returncode == 0 and m, "tutti eval prints where it lands", p.stdout + p.stderr)
    landing = int(m.group(2)) if m else 0
    th.join()
    path = os.path.join(tmp, "heard.ogg")
    with open(path, "wb") as f:
        f.write(got.get("data", b""))
    d = subprocess.run([OGGCHECK, "ogg", path], capture_output=True, text=True)
    wins = [json.loads(l) for l in d.stdout.splitlines()]
    t.ok(wins and all(w["rms"] < 0.001 for w in wins if w["frame"] + 960 <= landing),
         "nothing before the landing frame")
    t.ok(any(abs(w["freq"] - 440) < 3 for w in wins if w["frame"] >= landing),
         "440 Hz after it")

    ws = srv.ws()
    ws.request({"type": "hello", "id": 0})
    ws.request({"type": "join", "id": 1, "session": sid, "token": tok})
    docs = ws.request({"type": "doc.list", "id": 2})["docs"]
    t.ok([d["name"] for d in docs] == ["tone.js"], "the document is named after the file", docs)
    snap = ws.request({"type": "doc.open", "id": 3, "doc": docs[0]["id"]})
    t.eq(snap.get("text"), '// a first pattern\nnote("a4").s("sine")\n', "and holds the file's text")
    ws.close()

    with open(tone, "w") as f:
        f.write('// a first pattern\nnote("a4").s("sine").fsat(2)\n')
    p = tutti("eval", "--server", url, "--session", sid, "--token", tok, tone)
    t.ok(p.returncode == 1 and re.search(r"tone\.js:2:22: .*fast", p.stderr),
         "an error is FILE:LINE:COL with a suggestion, exit 1", p.stderr)
    p = tutti("eval", "--server", url, "--session", sid, "--token", tok, "--doc", "other", "-")
    t.ok(p.returncode == 0, "code from stdin into a named document")
    p = tutti("eval", "--server", url, "--session", "nosuch", tone)
    t.ok(p.returncode == 2 and "no session" in p.stderr, "an unknown session: exit 2 saying so", p.stderr)
    p = tutti("eval", "--session", sid, tone)
    t.ok(p.returncode == 2 and "usage" in p.stderr, "a missing --server: usage, exit 2")
p = tutti("eval", "--server", "http://127.0.0.1:1", "--session", "x", tone)
t.ok(p.returncode == 2 and "cannot connect" in p.stderr, "no server: exit 2 saying so", p.stderr)
shutil.rmtree(tmp, ignore_errors=True)
t.done()
