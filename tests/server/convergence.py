"""16 clients edit one document at once through the real tuttid, each
reading the server's messages late and at random (random delays), with
astral characters in the mix. All must end with the same text, equal to the
text the server stores (checked again after a restart)."""
import os
import queue
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, read_into  # noqa: E402
from otclient import Client, make_edit  # noqa: E402

N_CLIENTS = 16
EDITS_EACH = 30
SEED = int(os.environ.get("TT_SEED", "20261121"))

t = Tap()
t.diag("seed %d (set TT_SEED to repeat)" % SEED)
rng = random.Random(SEED)


tmp = tempfile.mkdtemp(prefix="tutti-conv-")
with Server(tmpdir=tmp) as srv:
    st, sess = srv.json("POST", "/api/sessions", {"name": "convergence"})
    sid = sess["id"]
    tok = sess["owner_token"]
    clients, queues = [], []
    doc = None
    for i in range(N_CLIENTS):
        ws = srv.ws(timeout=30)
        ws.request({"type": "hello", "id": 0, "name": "p%d" % i, "client_id": "conv-%d" % i})
        ws.request({"type": "join", "id": 1, "session": sid, "token": tok})
        if doc is None:
            doc = ws.request({"type": "doc.create", "id": 2, "name": "shared"})["doc"]["id"]
        clients.append(ws)
    ocs = []
    for i, ws in enumerate(clients):
        # Drain the membership notices before opening.
        while True:
            m = ws.request({"type": "doc.open", "id": "open", "doc": doc})
            if m.get("id") == "open":
                break
        oc = Client(ws, doc, "conv-%d" % i)
        oc.opened(m)
        ocs.append(oc)
        q = queue.Queue()
        read_into(ws, q)
        queues.append(q)

    def pump(i, limit):
        """Handles up to limit of client i's waiting messages."""
        n = 0
        while n < limit:
            try:
                m = queues[i].get_nowait()
            except queue.Empty:
                return
            if m is None:
                return
            ocs[i].handle(m)
            n += 1

    edits = [0] * N_CLIENTS
    start = time.time()
    while sum(edits) < N_CLIENTS * EDITS_EACH and time.time() - start < 120:
        i = rng.randrange(N_CLIENTS)
        if edits[i] < EDITS_EACH and rng.random() < 0.5:
            ocs[i].edit(make_edit(ocs[i].text, rng))
            edits[i] += 1
        else:
            pump(i, rng.randint(0, 3))   # late, partial reading: a delay
        if rng.random() < 0.05:
            time.sleep(rng.random() * 0.01)

    # Let every client catch up: all acknowledged, all at the last revision.
    deadline = time.time() + 60
    while time.time() < deadline:
        for i in range(N_CLIENTS):
            pump(i, 1000)
        revs = {oc.rev for oc in ocs}
        if all(oc.idle() for oc in ocs) and len(revs) == 1:
            break
        time.sleep(0.01)
    t.ok(all(oc.idle() for oc in ocs), "every client's ops were acknowledged")
    t.ok(len({oc.rev for oc in ocs}) == 1, "every client reached the same revision",
         sorted({oc.rev for oc in ocs}))
    t.eq(ocs[0].rev, sum(len(oc.acked) for oc in ocs), "one revision per acknowledged op")
    texts = {oc.text for oc in ocs}
    t.ok(len(texts) == 1, "all %d clients have identical text" % N_CLIENTS, "%d distinct texts" % len(texts))
    t.ok(all(not oc.errors for oc in ocs), "no client got an error", [oc.errors[:1] for oc in ocs if oc.errors][:3])
    try:
        ocs[0].text.encode("utf-8")
        whole = True
    except UnicodeEncodeError:
        whole = False
    t.ok(whole, "no astral character was split into a lone surrogate")
    fresh = srv.ws()
    fresh.request({"type": "hello", "id": 0})
    fresh.request({"type": "join", "id": 1, "session": sid, "token": tok})
    snap = fresh.request({"type": "doc.open", "id": 2, "doc": doc})
    t.ok(snap.get("text") == ocs[0].text and snap.get("rev") == ocs[0].rev,
         "a new client's snapshot equals their text")
    final_text, final_rev = ocs[0].text, ocs[0].rev
    for ws in clients + [fresh]:
        ws.close()
    t.diag("%d ops from %d clients, final length %d" % (final_rev, N_CLIENTS, len(final_text)))

with Server(tmpdir=tmp, db=os.path.join(tmp, "tutti.db")) as srv:
    ws = srv.ws()
    ws.request({"type": "hello", "id": 0})
    ws.request({"type": "join", "id": 1, "session": sid, "token": tok})
    snap = ws.request({"type": "doc.open", "id": 2, "doc": doc})
    t.ok(snap.get("text") == final_text and snap.get("rev") == final_rev,
         "the stored text equals theirs after a restart")
    ws.close()

shutil.rmtree(tmp, ignore_errors=True)
t.done()
