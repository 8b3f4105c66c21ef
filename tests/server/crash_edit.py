"""kill -9 tuttid while clients type, restart it, let the clients reconnect
and resend; repeat. Afterwards every acknowledged operation is stored
exactly once with the revision it was acknowledged with, nothing is stored
that no client sent, revisions run 1..N without a gap, and every client
holds the stored text."""
import os
import queue
import random
import shutil
import signal
import sqlite3
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, read_into  # noqa: E402
from otclient import Client, make_edit  # noqa: E402

N_CLIENTS = 4
KILLS = 6
SEED = int(os.environ.get("TT_SEED", "7"))

t = Tap()
t.diag("seed %d (set TT_SEED to repeat)" % SEED)
rng = random.Random(SEED)


def connect(srv, i, sid):
    ws = srv.ws(timeout=30)
    ws.request({"type": "hello", "id": 0, "name": "p%d" % i, "client_id": "crash-%d" % i})
    r = ws.request({"type": "join", "id": 1, "session": sid, "token": tok})
    assert r["type"] == "joined", r
    return ws


def recv_reply(ws, rid):
    while True:
        m = ws.recv_json()
        if m.get("id") == rid:
            return m


def reconnect(srv, i, sid, oc):
    """The client's recovery after losing its connection (docs/protocol.md):
    ask whether the unacknowledged op arrived, replay what was missed, then
    resend what was not stored."""
    ws = connect(srv, i, sid)
    oc.ws = ws
    own_rev = None
    if oc.outstanding is not None:
        op, seq = oc.outstanding
        r = ws.request({"type": "op", "id": "resend", "doc": oc.doc, "rev": oc.rev, "op": op, "seq": seq})
        if r.get("type") == "ack":
            own_rev = r["rev"]
            resent["stored"] += 1
        elif r.get("error", {}).get("code") != "not_open":
            oc.errors.append(r)
    ws.send_json({"type": "doc.open", "id": "reopen", "doc": oc.doc, "rev": oc.rev})
    m = recv_reply(ws, "reopen")
    if m.get("type") != "doc.ops":
        oc.errors.append(m)
        return ws
    for k, op in enumerate(m["ops"]):
        r = m["from"] + 1 + k
        if r == own_rev:
            oc.on_ack({"rev": r})
        else:
            oc.on_op({"op": op, "rev": r})
    if oc.outstanding is not None and own_rev is None:
        resent["lost"] += 1
        oc.send_outstanding()
    return ws


tmp = tempfile.mkdtemp(prefix="tutti-crash-")
db = os.path.join(tmp, "tutti.db")
srv = Server(tmpdir=tmp, db=db).start()
st, sess = srv.json("POST", "/api/sessions", {"name": "crash"})
sid = sess["id"]
tok = sess["owner_token"]
ocs, queues = [], []
for i in range(N_CLIENTS):
    ws = connect(srv, i, sid)
    if i == 0:
        doc = ws.request({"type": "doc.create", "id": 2, "name": "live"})["doc"]["id"]
    ocs.append(Client(ws, doc, "crash-%d" % i))
for i, oc in enumerate(ocs):
    oc.ws.send_json({"type": "doc.open", "id": "open", "doc": doc})
    oc.opened(recv_reply(oc.ws, "open"))
    q = queue.Queue()
    read_into(oc.ws, q)
    queues.append(q)
resent = {"stored": 0, "lost": 0}


def pump(i):
    while True:
        try:
            m = queues[i].get_nowait()
        except queue.Empty:
            return True
        if m is None:
            return False
        ocs[i].handle(m)


kills = 0
for round_ in range(KILLS + 1):
    steps = rng.randint(30, 120)
    for _ in range(steps):
        i = rng.randrange(N_CLIENTS)
        if rng.random() < 0.6:
            ocs[i].edit(make_edit(ocs[i].text, rng))
        pump(i)
        if rng.random() < 0.1:
            time.sleep(rng.random() * 0.005)
    if round_ == KILLS:
        break
    srv.proc.send_signal(signal.SIGKILL)   # in the middle of the typing
    srv.proc.wait()
    kills += 1
    for i in range(N_CLIENTS):
        while pump(i):   # handle what arrived before the crash
            time.sleep(0.001)
    srv = Server(tmpdir=tmp, db=db).start()
    for i, oc in enumerate(ocs):
        reconnect(srv, i, sid, oc)
        queues[i] = queue.Queue()
        read_into(oc.ws, queues[i])

deadline = time.time() + 60
while time.time() < deadline:
    for i in range(N_CLIENTS):
        pump(i)
    if all(oc.idle() for oc in ocs) and len({oc.rev for oc in ocs}) == 1:
        break
    time.sleep(0.01)
t.diag("unacknowledged at a crash: %(stored)d had been stored (acknowledged on resend), "
       "%(lost)d had not (sent again)" % resent)
t.eq(kills, KILLS, "tuttid was killed with SIGKILL %d times while clients typed" % KILLS)
t.ok(all(oc.idle() for oc in ocs), "every op was eventually acknowledged")
t.ok(all(not oc.errors for oc in ocs), "no client saw an error", [oc.errors[:2] for oc in ocs])
t.ok(len({oc.text for oc in ocs}) == 1, "all clients hold the same text")

ws = srv.ws()
ws.request({"type": "hello", "id": 0})
ws.request({"type": "join", "id": 1, "session": sid, "token": tok})
snap = ws.request({"type": "doc.open", "id": 2, "doc": doc})
t.ok(snap.get("text") == ocs[0].text and snap.get("rev") == ocs[0].rev, "the server's text equals theirs")
ws.close()
for oc in ocs:
    oc.ws.close()
srv.stop()

con = sqlite3.connect(db)
rows = con.execute("SELECT revision, client_id, client_seq FROM ops WHERE doc_id = ? ORDER BY revision",
                   (doc,)).fetchall()
check = con.execute("PRAGMA integrity_check").fetchone()[0]
con.close()
t.eq(check, "ok", "the database passes integrity_check")
t.eq([r[0] for r in rows], list(range(1, len(rows) + 1)), "stored revisions run 1..N with no gap")
stored = {(r[1], r[2]): r[0] for r in rows}
t.eq(len(stored), len(rows), "no (client, seq) is stored twice")
missing = [(oc.client_id, seq, rev) for oc in ocs for seq, rev in oc.acked
           if stored.get((oc.client_id, seq)) != rev]
t.ok(not missing, "every acknowledged op is stored at its acknowledged revision (%d ops)"
     % sum(len(oc.acked) for oc in ocs), missing[:5])
known = {oc.client_id: oc.seq for oc in ocs}   # the highest seq each client used
strays = [r for r in rows if r[1] not in known or not (1 <= r[2] <= known[r[1]])]
t.ok(not strays, "nothing is stored that no client sent", strays[:5])
acked = {(oc.client_id, seq) for oc in ocs for seq, _ in oc.acked}
t.ok(set(stored) == acked, "what is stored is exactly what was acknowledged",
     (len(set(stored) - acked), len(acked - set(stored))))
shutil.rmtree(tmp, ignore_errors=True)
t.done()
