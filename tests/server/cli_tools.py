"""tutti tail and tutti listen against the real tuttid: tail prints who
evaluated what, tempo, chat and (with --annotations) the sounding tokens,
a line each; listen records a decodable Ogg Opus file of the session."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, TUTTI, BUILDDIR  # noqa: E402

OGGCHECK = os.path.join(BUILDDIR, "tests", "server", "oggcheck")
t = Tap()
tmp = tempfile.mkdtemp(prefix="tutti-tools-")

with Server(tmpdir=tmp) as srv:
    url = "http://127.0.0.1:%d" % srv.port
    st, sess = srv.json("POST", "/api/sessions", {"name": "tools"})
    sid, tok = sess["id"], sess["owner_token"]
    tail = subprocess.Popen([TUTTI, "tail", "--server", url, "--session", sid, "--token", tok,
                             "--annotations", "--seconds", "6"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    listen_out = os.path.join(tmp, "heard.ogg")
    time.sleep(0.5)
    listen = subprocess.Popen([TUTTI, "listen", "--server", url, "--session", sid, "--seconds", "3.5",
                               "-o", listen_out], stderr=subprocess.PIPE, text=True)
    code = os.path.join(tmp, "tone.js")
    with open(code, "w") as f:
        f.write('note("a4").s("sine")\n')
    p = subprocess.run([TUTTI, "eval", "--server", url, "--session", sid, "--token", tok, code],
                       capture_output=True, text=True, timeout=30)
    t.ok(p.returncode == 0, "the program is evaluated", p.stderr)
    ws = srv.ws()
    ws.call({"type": "hello", "id": 0, "name": "ann"})
    ws.call({"type": "join", "id": 1, "session": sid, "token": tok})
    ws.call({"type": "chat", "id": 2, "text": "nice"})
    ws.call({"type": "tempo", "id": 3, "cps": 0.75})
    ws.close()
    out, err = tail.communicate(timeout=30)
    lines = out.splitlines()
    t.ok(tail.returncode == 0 and lines and lines[0] == "joined tools as owner", "tail joins and says as what",
         out[:300] + err)
    t.ok(any(l.startswith("eval ") and "what=whole" in l and "cycle=" in l and
             "tracks=tone.js@0#0" in l for l in lines), "tail prints the evaluation", lines[:8])
    t.ok("chat ann: nice" in lines, "tail prints the chat")
    t.ok(any(l.startswith("tempo ann cps=3/4 cycle=") for l in lines), "tail prints the tempo change")
    t.ok(any(l.startswith("anno frame=") and "range=6-8" in l and '"note":"a4"' in l for l in lines),
         "tail --annotations prints the sounding token a4 with its value")
    listen.wait(timeout=30)
    d = subprocess.run([OGGCHECK, "ogg", listen_out], capture_output=True, text=True)
    wins = [json.loads(l) for l in d.stdout.splitlines()]
    t.ok(listen.returncode == 0 and d.returncode == 0 and any(abs(w["freq"] - 440) < 3 for w in wins),
         "tutti listen records a decodable stream with the 440 Hz in it", listen.stderr.read()[-200:])
    p = subprocess.run([TUTTI, "listen", "--server", url, "--session", "nosuchsess", "--seconds", "1",
                        "-o", os.path.join(tmp, "x.ogg")], capture_output=True, text=True, timeout=30)
    t.ok(p.returncode == 2 and "no session" in p.stderr, "listen to an unknown session: exit 2 saying so", p.stderr)
    p = subprocess.run([TUTTI, "tail", "--server", url, "--session", "nosuchsess", "--seconds", "1"],
                       capture_output=True, text=True, timeout=30)
    t.ok(p.returncode == 2 and "no session" in p.stderr, "tail of an unknown session: exit 2 saying so", p.stderr)
shutil.rmtree(tmp, ignore_errors=True)
t.done()
