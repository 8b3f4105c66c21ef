"""tutti attach, the pipe the editor plugins connect by: it joins and
writes the replies, sends each stdin line as a message and writes each
message as a line; a bad line gets an error naming it and the pipe keeps
working; a line of TT_MAX_WS_MESSAGE bytes is sent, one byte more is
refused; a refused join exits 2 with the reason; a lost server is
reconnected to (same client_id, joined again); the end of stdin ends it."""
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import shutil

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, TUTTI  # noqa: E402

MAX_WS_MESSAGE = 4 * 1024 * 1024   # TT_MAX_WS_MESSAGE

t = Tap()


class Attach:
    def __init__(self, url, sid, tok):
        self.p = subprocess.Popen([TUTTI, "attach", "--server", url, "--session", sid, "--token", tok,
                                   "--name", "pipe"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.q = queue.Queue()
        self.bad = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            try:
                self.q.put(json.loads(line))
            except ValueError:
                self.bad.append(line)
        self.q.put(None)

    def send(self, data):
        self.p.stdin.write(data if isinstance(data, bytes) else data.encode())
        self.p.stdin.flush()

    def until(self, pred, timeout=15):
        """The first message satisfying pred (earlier ones are dropped), or None."""
        while True:
            try:
                m = self.q.get(timeout=timeout)
            except queue.Empty:
                return None
            if m is None or pred(m):
                return m


def typ(name, **kw):
    return lambda m: m.get("type") == name and all(m.get(k) == v for k, v in kw.items())


tmp = tempfile.mkdtemp(prefix="tutti-attach-")
db = os.path.join(tmp, "tutti.db")
srv = Server(tmpdir=tmp, db=db).start()
url = "http://127.0.0.1:%d" % srv.port
st, sess = srv.json("POST", "/api/sessions", {"name": "pipe"})
sid, tok = sess["id"], sess["owner_token"]

a = Attach(url, sid, tok)
hello = a.until(lambda m: True)
t.ok(hello and hello.get("type") == "hello" and hello.get("name") == "pipe", "attach says hello", hello)
joined = a.until(lambda m: True)
t.ok(joined and joined.get("type") == "joined" and joined.get("role") == "owner",
     "and joins with the token's role", joined)

a.send('{"type":"doc.create","id":"c","name":"d"}\n{"type":"ping",\n{"type":"ping","id":"p1"}\n')
r = a.until(typ("attach.error"))
t.ok(r and "stdin line 2" in r["message"] and "column" in r["message"],
     "a line that is not JSON: an error naming the line and column", r)
t.ok(a.until(typ("pong", id="p1")) is not None, "and the next line is sent")
a.send('{"type":"doc.open","id":"o","doc":1}\n{"type":"op","id":"x","doc":1,"rev":0,"op":["é🥁"],"seq":1}\n')
r = a.until(typ("ack", id="x"))
t.ok(r is not None and r.get("rev") == 1, "an op through the pipe is acknowledged", r)

head = '{"type":"ping","id":"big","pad":"'
pad = MAX_WS_MESSAGE - len(head) - 2
a.send(head + "x" * pad + '"}\n')
t.ok(a.until(typ("pong", id="big"), timeout=30) is not None,
     "a line of TT_MAX_WS_MESSAGE bytes is sent")
head = '{"type":"ping","id":"bigger","pad":"'
a.send(head + "x" * (MAX_WS_MESSAGE + 1 - len(head) - 2) + '"}\n{"type":"ping","id":"p2"}\n')
r = a.until(lambda m: m.get("type") in ("attach.error", "pong"), timeout=30)
t.ok(r and r["type"] == "attach.error" and "longer than %d" % MAX_WS_MESSAGE in r["message"],
     "one byte more is refused with an error", r)
t.ok(a.until(typ("pong", id="p2"), timeout=30) is not None, "and the line after it is sent")
t.ok(not a.bad, "every stdout line is JSON", a.bad[:2])

# The server goes away and comes back on the same port.
port = srv.port
srv.stop()
r = a.until(typ("attach.lost"))
t.ok(r is not None and r.get("message"), "a lost connection is reported", r)
srv = Server(tmpdir=tmp, db=db, args=["--listen", "127.0.0.1:%d" % port]).start()
r = a.until(typ("joined"), timeout=30)
t.ok(r is not None and r.get("role") == "owner", "attach joins the restarted server", r)
t.ok(a.until(typ("attach.reconnected")) is not None, "and says it reconnected")
a.send('{"type":"doc.open","id":"o2","doc":1,"rev":0}\n')
r = a.until(typ("doc.ops", id="o2"))
t.ok(r is not None and r.get("ops") == [["é🥁"]], "the stored op is there after the restart", r)
a.p.stdin.close()
t.eq(a.p.wait(timeout=10), 0, "the end of stdin ends attach, exit 0")

p = subprocess.run([TUTTI, "attach", "--server", "http://127.0.0.1:%d" % srv.port, "--session",
                    "nosuchsess2", "--token", tok], capture_output=True, text=True, timeout=20)
t.ok(p.returncode == 2 and "join nosuchsess2" in p.stderr and "attach.error" in p.stdout,
     "a refused join: the reason, exit 2", (p.returncode, p.stdout, p.stderr))
p = subprocess.run([TUTTI, "attach", "--server", "http://127.0.0.1:%d" % srv.port], capture_output=True,
                   text=True, timeout=10)
t.ok(p.returncode == 2 and "usage" in p.stderr, "no --session: usage, exit 2")
srv.stop()
shutil.rmtree(tmp, ignore_errors=True)
t.done()
