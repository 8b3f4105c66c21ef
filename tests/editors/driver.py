"""The Python side of the editor plugin tests (tests/editors/emacs.py,
nvim.py): a real tuttid, a Python peer (tests/lib/otclient.py) editing the
same document as the editor at the same time, and the checks.

The editor runs a script (tests/editors/emacs-test.el, nvim-test.lua)
that drives the plugin as a user would and reports on stdout, one line
each, "T: WORD ARGS" (texts in base64 of UTF-8):

    T: READY                      connected, document "main" open
    T: EDITS-DONE                 its random edits are made
    T: IDLE                       all of them acknowledged
      (the driver writes DIR/peer-done holding the final revision R)
    T: TEXT b64                   its text at revision R
      (the driver writes DIR/checked once it has compared the texts,
       stops tuttid and writes DIR/down)
    T: OFFLINE-DONE               it has typed "OFFLINE🥁 " and more
      (the driver restarts tuttid on the same port, writes DIR/up)
    T: TEXT2 b64                  its text once every edit is acknowledged
      (the driver writes DIR/checked2 once it has compared it with the
       server's: the script edits on only then)
    T: EVAL1 ok cycle             evaluating a block that compiles
    T: EVAL2 ok line col b64(msg) b64(marked text)   a block that does not
    T: ANNO b64(text)             the text under an annotation highlight
    T: HUSHED
    T: DONE

Every wait is bounded: the editor's own (in its script) and the driver's
(the editor is killed after EDITOR_TIMEOUT seconds)."""
import base64
import os
import queue
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, TUTTI, SRCDIR  # noqa: E402
from otclient import Client, make_edit, units  # noqa: E402

EDITOR_TIMEOUT = 180
PEER_EDITS = 40
PEER_NAME = "py-peer"
SEED = int(os.environ.get("TT_SEED", "20261121"))


def b64(s):
    return base64.b64decode(s).decode("utf-8")


class Peer:
    """The Python performer: an OT client whose messages a thread handles."""

    def __init__(self, srv, sid, tok):
        self.ws = srv.ws(timeout=30)
        self.ws.call({"type": "hello", "id": 0, "name": PEER_NAME, "client_id": "py-peer-1"})
        self.ws.call({"type": "join", "id": 1, "session": sid, "token": tok})
        self.lock = threading.Lock()
        self.seen = []          # every message that is not an op or ack
        self.oc = None
        self.replies = queue.Queue()

    def open(self, name):
        docs = self.ws.call({"type": "doc.list", "id": 2})["docs"]
        doc = [d["id"] for d in docs if d["name"] == name][0]
        snap = self.ws.call({"type": "doc.open", "id": 3, "doc": doc})
        self.oc = Client(self.ws, doc, "py-peer-1")
        self.oc.opened(snap)
        self.ws.sock.settimeout(None)  # quiet spells are normal; close() ends the reader
        threading.Thread(target=self._read, daemon=True).start()
        return doc

    def _read(self):
        try:
            while True:
                m = self.ws.recv_json()
                with self.lock:
                    t = self.oc.handle(m)
                    if t not in ("ops", "ack", "anno"):
                        self.seen.append(m)
                    if isinstance(m.get("id"), str) and m["id"].startswith("q-"):
                        self.replies.put(m)
        except Exception:  # the connection ended: the checks will say what is missing
            pass

    def edit(self, rng):
        with self.lock:
            self.oc.edit(make_edit(self.oc.text, rng))

    def edit_op(self, op):
        with self.lock:
            self.oc.edit(op)

    def ask(self, msg, timeout=10):
        self.ws.send_json(msg)
        return self.replies.get(timeout=timeout)

    def idle(self):
        with self.lock:
            return self.oc.idle()

    def text(self):
        with self.lock:
            return self.oc.text, self.oc.rev


def signal(tmp, name, text=""):
    """Tells the editor's script something: a file appears, whole."""
    with open(os.path.join(tmp, name + ".tmp"), "w") as f:
        f.write(text)
    os.rename(os.path.join(tmp, name + ".tmp"), os.path.join(tmp, name))


def until(cond, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


class Editor:
    """The editor process; its "T:" lines in a queue."""

    def __init__(self, cmd, env):
        self.lines = queue.Queue()
        self.log = []
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        threading.Thread(target=self._read, daemon=True).start()
        self.killer = threading.Timer(EDITOR_TIMEOUT, self.proc.kill)
        self.killer.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.log.append(line)
            if line.startswith("T: "):
                self.lines.put(line[3:].split(" "))
        self.lines.put(None)

    def expect(self, word, timeout=60):
        """The next report, when it is WORD; None (and the log) otherwise."""
        try:
            got = self.lines.get(timeout=timeout)
        except queue.Empty:
            got = None
        if got and got[0] == word:
            return got[1:]
        return None

    def tail(self):
        return "\n".join(self.log[-25:])

    def finish(self):
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.killer.cancel()
        return self.proc.returncode


def run(name, cmd, editor_author):
    """Runs the whole test for one editor; cmd is its command line."""
    t = Tap()
    t.diag("%s; seed %d (set TT_SEED to repeat)" % (name, SEED))
    rng = random.Random(SEED)
    tmp = tempfile.mkdtemp(prefix="tutti-%s-" % name)
    srv = Server(tmpdir=tmp).start()
    try:
        st, sess = srv.json("POST", "/api/sessions", {"name": "editors"})
        sid, tok = sess["id"], sess["owner_token"]
        peer = Peer(srv, sid, tok)
        env = dict(os.environ, TT_SERVER="http://127.0.0.1:%d" % srv.port, TT_SESSION=sid,
                   TT_TOKEN=tok, TT_TUTTI=TUTTI, TT_DIR=tmp, TT_SEED=str(SEED),
                   TT_SRCDIR=SRCDIR, HOME=tmp, XDG_CONFIG_HOME=tmp, XDG_DATA_HOME=tmp,
                   XDG_STATE_HOME=tmp, XDG_CACHE_HOME=tmp)
        ed = Editor(cmd, env)
        ready = ed.expect("READY")
        if not t.ok(ready is not None, "%s connects and opens the document" % name, ed.tail()):
            ed.proc.kill()
            ed.finish()
            t.done()
        doc = peer.open("main")

        # Both edit at once: the editor its random edits, the peer its own.
        for _ in range(PEER_EDITS):
            peer.edit(rng)
            time.sleep(0.02)
        peer.edit_op(["é🥁|", units(peer.text()[0])])
        t.ok(ed.expect("EDITS-DONE") is not None, "%s makes its edits" % name, ed.tail())
        t.ok(ed.expect("IDLE") is not None, "every edit of %s is acknowledged" % name, ed.tail())
        until(peer.idle, 10)
        final = peer.ask({"type": "doc.list", "id": "q-list"})
        rev = [d["revision"] for d in final["docs"] if d["id"] == doc][0]
        t.ok(until(lambda: peer.text()[1] == rev, 10), "the peer reaches revision %d" % rev)
        signal(tmp, "peer-done", str(rev))
        got = ed.expect("TEXT")
        etext = b64(got[0]) if got else None
        st, body = srv.json("GET", "/api/docs/%d/text" % doc)
        server_text = body.get("text") if st == 200 else None
        ptext = peer.text()[0]
        t.ok(etext is not None and etext == ptext == server_text,
             "%s, the peer and the server converge" % name,
             "editor %r\npeer   %r\nserver %r" % (etext, ptext, server_text))
        t.ok(etext is not None and "🥁" in etext and "é" in etext,
             "including a non-BMP 🥁 and a two-byte é", etext)

        signal(tmp, "checked")
        t.ok(not peer.oc.errors, "the peer's ops were all accepted", peer.oc.errors[:2])
        peer.ws.close()

        # The server goes away while the editor types, and comes back.
        port = srv.port
        srv.stop()
        signal(tmp, "down")
        t.ok(ed.expect("OFFLINE-DONE") is not None, "%s edits while the server is down" % name,
             ed.tail())
        srv = Server(tmpdir=tmp, db=srv.db, args=["--listen", "127.0.0.1:%d" % port]).start()
        signal(tmp, "up")
        got = ed.expect("TEXT2", timeout=60)
        etext = b64(got[0]) if got else None
        st, body = srv.json("GET", "/api/docs/%d/text" % doc)
        server_text = body.get("text") if st == 200 else None
        t.ok(etext is not None and etext == server_text and "OFFLINE🥁" in etext,
             "after the restart %s reconnects and its offline edits reach the server" % name,
             "editor %r\nserver %r" % (etext, server_text))
        signal(tmp, "checked2")
        peer = Peer(srv, sid, tok)
        peer.open("main")
        got = ed.expect("EVAL1")
        t.ok(got is not None and got[0] == "t", "%s evaluates a block: eval.result ok" % name,
             got or ed.tail())
        got = ed.expect("EVAL2")
        t.ok(got is not None and got[0] == "nil" and got[1:3] == ["4", "4"],
             "an erroneous block answers its error at line 4, column 4", got or ed.tail())
        t.ok(got is not None and "fsat" in b64(got[3]) and b64(got[4]) == "fsat",
             "the error is shown, and the token it names is marked",
             got and [got[0:3], b64(got[3]), b64(got[4])])
        got = ed.expect("ANNO", timeout=30)
        lit = b64(got[0]) if got else None
        t.ok(lit in ("bd", "sd"), "annotations light up the sounding token", lit or ed.tail())
        t.ok(ed.expect("HUSHED") is not None, "%s hushes" % name, ed.tail())
        t.ok(until(lambda: any(m.get("type") == "hush" and m.get("on") and
                               m.get("name") == editor_author for m in list(peer.seen)), 10),
             "the others are told it hushed")
        t.ok(ed.expect("DONE") is not None, "%s finishes its script" % name, ed.tail())
        t.eq(ed.finish(), 0, "%s exits 0" % name)
        evals = [m for m in list(peer.seen) if m.get("type") == "eval" and m.get("name") == editor_author]
        t.ok(len(evals) == 1 and evals[0].get("what") == "block",
             "the others see the evaluation of the block", evals)

        db = sqlite3.connect("file:%s?mode=ro" % srv.db, uri=True)
        authors = dict(db.execute("SELECT author, count(*) FROM ops WHERE doc_id = ? GROUP BY author",
                                  (doc,)).fetchall())
        t.ok(authors.get(editor_author, 0) > 0 and authors.get(PEER_NAME, 0) > 0,
             "the database holds both authors' ops", authors)
        rows = db.execute("SELECT ok FROM evaluations WHERE author = ? ORDER BY id",
                          (editor_author,)).fetchall()
        t.eq([r[0] for r in rows], [1, 0], "and both evaluations, the good and the bad")
        db.close()
        peer.ws.close()
    finally:
        srv.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    t.done()
