"""tutti edit: a local file and a shared document kept the same both ways,
while a performer edits the document over the WebSocket at the same time.
An empty document takes the file's text; afterwards the file follows the
document and the document follows saves of the file, and all converge."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, TUTTI  # noqa: E402
from otclient import Client  # noqa: E402

t = Tap()
tmp = tempfile.mkdtemp(prefix="tutti-edit-")
path = os.path.join(tmp, "beat.js")
with open(path, "w") as f:
    f.write('s("bd sd")\n')


def read():
    with open(path) as f:
        return f.read()


def until(cond, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


with Server(tmpdir=tmp) as srv:
    st, sess = srv.json("POST", "/api/sessions", {"name": "editing"})
    sid, tok = sess["id"], sess["owner_token"]
    ed = subprocess.Popen([TUTTI, "edit", path, "--server", "http://127.0.0.1:%d" % srv.port,
                           "--session", sid, "--token", tok, "--seconds", "8"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ws = srv.ws()
    ws.call({"type": "hello", "id": 0, "name": "bo", "client_id": "bo-1"})
    ws.call({"type": "join", "id": 1, "session": sid, "token": tok})

    def doc_id():
        docs = ws.call({"type": "doc.list", "id": 2})["docs"]
        return docs[0]["id"] if docs else None

    t.ok(until(lambda: doc_id() is not None), "tutti edit creates the document named after the file")
    doc = doc_id()
    snap = ws.call({"type": "doc.open", "id": 3, "doc": doc})
    if snap.get("text") != 's("bd sd")\n':
        time.sleep(0.5)
        snap = ws.call({"type": "doc.open", "id": 3, "doc": doc})
    t.eq(snap.get("text"), 's("bd sd")\n', "an empty document takes the file's text")
    bo = Client(ws, doc, "bo-1")
    bo.opened(snap)

    def pump():
        ws.sock.settimeout(0.05)
        try:
            while True:
                bo.handle(ws.recv_json())
        except OSError:
            pass
        finally:
            ws.sock.settimeout(10)

    bo.edit(["// drums\n", len(bo.text.encode("utf-16-le")) // 2])
    t.ok(until(lambda: (pump(), read())[1] == '// drums\ns("bd sd")\n'),
         "a performer's edit rewrites the file", read())
    with open(path, "a") as f:
        f.write('s("hh*8")\n')
    t.ok(until(lambda: (pump(), bo.text)[1] == '// drums\ns("bd sd")\ns("hh*8")\n'),
         "saving the file sends the change to the others", bo.text)
    # Both at once: the performer types at the top while the file gains a line.
    bo.edit(["// ", len(bo.text.encode("utf-16-le")) // 2])
    with open(path, "a") as f:
        f.write('s("cp")\n')
    ok = until(lambda: (pump(), bo.idle() and read() == bo.text and "cp" in bo.text and
                        bo.text.startswith("// // drums"))[1])
    t.ok(ok, "concurrent edits from both sides converge", (read(), bo.text))
    t.ok(not bo.errors, "and the performer's ops were all accepted", bo.errors[:2])
    out, err = ed.communicate(timeout=20)
    t.ok(ed.returncode == 0 and "beat.js -> document beat.js" in out, "tutti edit ends cleanly", out + err)
    final = ws.call({"type": "doc.open", "id": 9, "doc": doc})
    t.eq(final.get("text"), read(), "the server's text equals the file's")
    ws.close()
p = subprocess.run([TUTTI, "edit", path, "--session", "x"], capture_output=True, text=True, timeout=10)
t.ok(p.returncode == 2 and "usage" in p.stderr, "a missing --server: usage, exit 2")
shutil.rmtree(tmp, ignore_errors=True)
t.done()
