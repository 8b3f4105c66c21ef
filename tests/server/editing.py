"""Collaborative editing through the real tuttid: documents, operations,
acknowledgements after commit, broadcasts, presence, resends, reconnects,
limits and persistence. Positions are UTF-16 code units."""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server  # noqa: E402
from otclient import apply, units  # noqa: E402

MAX_DOC_BYTES = 1024 * 1024   # TT_MAX_DOC_BYTES
MAX_SELECTIONS = 32           # TT_MAX_SELECTIONS
MAX_DOC_NAME = 200            # TT_MAX_DOC_NAME
MAX_DISPLAY_NAME = 64         # TT_MAX_DISPLAY_NAME

t = Tap()


def nothing_pending(ws, what):
    """The next message ws receives is the pong of a fresh ping: nothing
    else was sent to it before."""
    ws.send_json({"type": "ping", "id": "quiet"})
    m = ws.recv_json()
    t.ok(m.get("type") == "pong" and m.get("id") == "quiet", what, m)


def connect(srv, name, cid):
    ws = srv.ws()
    h = ws.request({"type": "hello", "id": 0, "name": name, "color": "#112233", "client_id": cid})
    return ws, h


tmp = tempfile.mkdtemp(prefix="tutti-editing-")
with Server(tmpdir=tmp) as srv:
    st, sess = srv.json("POST", "/api/sessions", {"name": "editing"})
    sid = sess["id"]
    tok = sess["owner_token"]

    a, ha = connect(srv, "ann", "client-ann")
    b, hb = connect(srv, "bo", "client-bo")
    t.ok(ha.get("name") == "ann" and ha.get("color") == "#112233" and "editing" in ha["capabilities"],
         "hello takes name, colour and client id", ha)
    r = a.request({"type": "doc.create", "id": 1, "name": "x"})
    t.ok(r.get("type") == "error" and r["error"]["code"] == "not_joined", "doc.create before join: not_joined", r)

    ra = a.request({"type": "join", "id": 2, "session": sid, "token": tok})
    t.ok(ra.get("type") == "joined" and ra["session"]["id"] == sid and len(ra["members"]) == 1,
         "join answers the session and its members", ra)
    rb = b.request({"type": "join", "id": 2, "session": sid, "token": tok})
    t.ok(len(rb["members"]) == 2, "second member sees both", rb)
    m = a.recv_json()
    t.ok(m.get("type") == "member.joined" and m["member"]["name"] == "bo" and "id" not in m,
         "first member is told of the second (no id: unsolicited)", m)
    r = a.request({"type": "join", "id": 3, "session": "nosuchsess"})
    t.ok(r.get("type") == "error" and r["error"]["code"] == "not_found", "join of an unknown session: not_found", r)

    # ---- documents ----
    r = a.request({"type": "doc.create", "id": 4, "name": "drums"})
    t.ok(r.get("type") == "doc.created" and r["doc"]["name"] == "drums" and r["doc"]["revision"] == 0,
         "doc.create answers the document", r)
    doc = r["doc"]["id"]
    m = b.recv_json()
    t.ok(m.get("type") == "doc.created" and m["doc"]["id"] == doc, "others are told of the new document", m)
    r = a.request({"type": "doc.create", "id": 5, "name": "drums"})
    t.ok(r.get("type") == "error" and r["error"]["code"] == "name_taken", "duplicate name: name_taken", r)
    r = a.request({"type": "doc.create", "id": 6, "name": "n" * MAX_DOC_NAME})
    t.ok(r.get("type") == "doc.created", "name of TT_MAX_DOC_NAME bytes accepted", r)
    b.recv_json()
    r = a.request({"type": "doc.create", "id": 7, "name": "n" * (MAX_DOC_NAME + 1)})
    t.ok(r.get("type") == "error" and r["error"]["code"] == "too_long", "name of N+1 bytes: too_long", r)
    r = a.request({"type": "doc.rename", "id": 8, "doc": r and doc, "name": "beats"})
    t.ok(r.get("type") == "doc.renamed" and r["name"] == "beats", "doc.rename", r)
    m = b.recv_json()
    t.ok(m.get("type") == "doc.renamed" and m["name"] == "beats", "others are told of the rename", m)
    r = a.request({"type": "doc.list", "id": 9})
    t.ok(r.get("type") == "doc.list" and [d["name"] for d in r["docs"]] == ["beats", "n" * MAX_DOC_NAME],
         "doc.list in order of creation", r)

    # ---- open and edit ----
    r = a.request({"type": "op", "id": 10, "doc": doc, "rev": 0, "op": ["x"]})
    t.ok(r.get("type") == "error" and r["error"]["code"] == "not_open", "op on an unopened doc: not_open", r)
    sa = a.request({"type": "doc.open", "id": 11, "doc": doc})
    sb = b.request({"type": "doc.open", "id": 11, "doc": doc})
    t.ok(sa.get("type") == "doc.snapshot" and sa["text"] == "" and sa["rev"] == 0, "doc.open: empty snapshot", sa)
    text = ""
    r = a.request({"type": "op", "id": 12, "doc": doc, "rev": 0, "op": ['s("bd sd")'], "seq": 1})
    t.ok(r.get("type") == "ack" and r["rev"] == 1 and r["id"] == 12, "op acknowledged with revision 1", r)
    m = b.recv_json()
    t.ok(m.get("type") == "ops" and m["doc"] == doc and "id" not in m and len(m["ops"]) == 1 and
         m["ops"][0]["rev"] == 1 and m["ops"][0]["op"] == ['s("bd sd")'] and m["ops"][0]["author"] == "ann",
         "op broadcast to the other subscriber with its author", m)
    text = 's("bd sd")'

    # Concurrent ops on revision 1: the server transforms the later one.
    a.send_json({"type": "op", "id": 13, "doc": doc, "rev": 1, "op": [3, "hh ", 7], "seq": 2})
    b.send_json({"type": "op", "id": 13, "doc": doc, "rev": 1, "op": [10, ".fast(2)"]})
    ta, tb = text, text
    got_a, got_b = [], []
    while len(got_a) < 2:
        got_a.append(a.recv_json())
    while len(got_b) < 2:
        got_b.append(b.recv_json())
    ta = apply(text, [3, "hh ", 7])
    tb = apply(text, [10, ".fast(2)"])
    for m in got_a:
        if m["type"] == "ops":
            m = m["ops"][0]
            ta = apply(ta, m["op"]) if m["rev"] == 3 else ta
    for m in got_b:
        if m["type"] == "ops":
            m = m["ops"][0]
            # b's own op was based on 1; the server's op at rev 2 came first:
            # transform it over b's op (client-side OT) before applying.
            from otclient import transform
            s2, _ = transform(m["op"], [10, ".fast(2)"])
            tb = apply(tb, s2)
    t.ok(ta == tb == 's("hh bd sd").fast(2)', "concurrent ops converge", (ta, tb))
    text = ta

    # Astral characters count two units.
    r = a.request({"type": "op", "id": 14, "doc": doc, "rev": 3, "op": [units(text), " // 🎶!"], "seq": 3})
    t.ok(r.get("type") == "ack" and r["rev"] == 4, "insert with an emoji", r)
    b.recv_json()
    text += " // 🎶!"
    r = a.request({"type": "op", "id": 15, "doc": doc, "rev": 4, "op": [units(text) - 3, -2, 1], "seq": 4})
    t.ok(r.get("type") == "ack", "deleting the emoji's two units", r)
    b.recv_json()
    text = text[:-2] + "!"
    r = a.request({"type": "op", "id": 16, "doc": doc, "rev": 5, "op": [units(text) - 2, -1, 1]})
    t.ok(r.get("type") == "ack", "plain delete", r)
    b.recv_json()
    text = text[:-2] + "!"

    # ---- malformed and out-of-range ops: error, nothing changes, no broadcast ----
    rev = 6
    n = units(text)
    a.request({"type": "op", "id": 17, "doc": doc, "rev": rev, "op": [n, "🎶"]})
    b.recv_json()
    text += "🎶"
    rev += 1
    n = units(text)
    bad = [
        ("not an array", {"op": "x"}, "bad_op"),
        ("a float", {"op": [1.5]}, "bad_op"),
        ("a zero", {"op": [0, n]}, "bad_op"),
        ("too long a retain", {"op": [n + 1]}, "bad_op"),
        ("too short", {"op": [n - 1]}, "bad_op"),
        ("a retain splitting an emoji", {"op": [n - 1, "x", 1]}, "bad_op"),
        ("a revision from the future", {"rev": rev + 5, "op": [n]}, "bad_op"),
        ("a negative revision", {"rev": -1, "op": [n]}, "bad_request"),
        ("no revision", {"rev": None, "op": [n]}, "bad_request"),
        ("a lone surrogate", {"op": [n, "\ud800"]}, "bad_json"),
    ]
    for what, fields, code in bad:
        req = {"type": "op", "id": 20, "doc": doc, "rev": rev}
        req.update({k: v for k, v in fields.items() if v is not None})
        if fields.get("rev", 0) is None:
            del req["rev"]
        if what == "a lone surrogate":
            a.send_text('{"type":"op","id":20,"doc":%d,"rev":%d,"op":[%d,"\\ud800"]}' % (doc, rev, n))
            r = a.recv_json()
        else:
            r = a.request(req)
        t.ok(r.get("type") == "error" and r["error"]["code"] == code and r["error"]["message"],
             "op with %s: %s" % (what, code), r)
    nothing_pending(b, "no malformed op reached the other subscriber")
    r = a.request({"type": "doc.open", "id": 21, "doc": doc})
    t.ok(r["text"] == text and r["rev"] == rev, "and the text is unchanged", (r, text))

    # ---- resend: the same (client_id, seq) is acknowledged, not applied twice ----
    r = a.request({"type": "op", "id": 22, "doc": doc, "rev": rev, "op": [n, "X"], "seq": 10})
    t.ok(r.get("type") == "ack" and r["rev"] == rev + 1, "op seq 10 applied", r)
    b.recv_json()
    r2 = a.request({"type": "op", "id": 23, "doc": doc, "rev": rev, "op": [n, "X"], "seq": 10})
    t.ok(r2.get("type") == "ack" and r2["rev"] == rev + 1 and r2.get("duplicate") is True,
         "the same seq again: acknowledged with its first revision", r2)
    nothing_pending(b, "the duplicate was not broadcast")
    r = a.request({"type": "op", "id": 24, "doc": doc, "rev": rev, "op": [n, "Y"], "seq": 9})
    t.ok(r.get("type") == "error" and r["error"]["code"] == "stale_seq", "an older seq: stale_seq", r)
    text += "X"
    rev += 1

    # ---- presence ----
    r = a.request({"type": "presence", "id": 25, "doc": doc, "cursor": 3, "selections": [[1, 4]]})
    t.ok(r.get("type") == "presence.ok", "presence accepted", r)
    m = b.recv_json()
    t.ok(m.get("type") == "presence" and m["cursor"] == 3 and m["selections"] == [[1, 4]] and
         m["name"] == "ann" and m["color"] == "#112233", "presence broadcast with name and colour", m)
    # Text typed before the cursor moves it; the newcomer sees it moved.
    a.request({"type": "op", "id": 26, "doc": doc, "rev": rev, "op": ["ab", units(text)], "seq": 11})
    b.recv_json()
    text = "ab" + text
    rev += 1
    c, _ = connect(srv, "cy", "client-cy")
    c.request({"type": "join", "id": 1, "session": sid, "token": tok})
    a.recv_json(); b.recv_json()  # member.joined
    r = c.request({"type": "doc.open", "id": 2, "doc": doc})
    pres = [p for p in r["presence"] if p["name"] == "ann"]
    t.ok(pres and pres[0]["cursor"] == 5 and pres[0]["selections"] == [[3, 6]],
         "a newcomer sees presence moved through later ops", r.get("presence"))
    n = units(text)
    r = a.request({"type": "presence", "id": 27, "doc": doc, "cursor": n + 1})
    t.ok(r.get("type") == "error" and r["error"]["code"] == "bad_request", "cursor past the end refused", r)
    r = a.request({"type": "presence", "id": 28, "doc": doc, "cursor": 0,
                   "selections": [[0, 1]] * MAX_SELECTIONS})
    t.ok(r.get("type") == "presence.ok", "TT_MAX_SELECTIONS selections accepted", r)
    r = a.request({"type": "presence", "id": 29, "doc": doc, "cursor": 0,
                   "selections": [[0, 1]] * (MAX_SELECTIONS + 1)})
    t.ok(r.get("type") == "error", "N+1 selections refused", r)
    for ws in (b, c):
        while True:
            m = ws.recv_json()
            if m.get("type") == "presence" and m["selections"] == [[0, 1]] * MAX_SELECTIONS:
                break

    # ---- reconnect: replay what was missed ----
    seen_rev = rev
    c.close()
    a.recv_json(); b.recv_json()  # member.left
    for i in range(3):
        a.request({"type": "op", "id": 30 + i, "doc": doc, "rev": rev, "op": [units(text), str(i)], "seq": 12 + i})
        b.recv_json()
        text += str(i)
        rev += 1
    c, _ = connect(srv, "cy", "client-cy")
    c.request({"type": "join", "id": 1, "session": sid, "token": tok})
    a.recv_json(); b.recv_json()
    r = c.request({"type": "doc.open", "id": 2, "doc": doc, "rev": seen_rev})
    t.ok(r.get("type") == "doc.ops" and r["from"] == seen_rev and r["rev"] == rev and len(r["ops"]) == 3,
         "reopen with a known revision replays the ops missed", r)

    # ---- the document size limit, at N and N+1 bytes ----
    r = a.request({"type": "doc.create", "id": 40, "name": "big"})
    big = r["doc"]["id"]
    b.recv_json(); c.recv_json()
    a.request({"type": "doc.open", "id": 41, "doc": big})
    r = a.request({"type": "op", "id": 42, "doc": big, "rev": 0, "op": ["é" * (MAX_DOC_BYTES // 2)]})
    t.ok(r.get("type") == "ack", "a document of exactly TT_MAX_DOC_BYTES bytes", r)
    r = a.request({"type": "op", "id": 43, "doc": big, "rev": 1, "op": [MAX_DOC_BYTES // 2, "x"]})
    t.ok(r.get("type") == "error" and r["error"]["code"] == "too_large", "one byte more: too_large", r)

    # ---- delete ----
    r = a.request({"type": "doc.delete", "id": 44, "doc": big})
    t.ok(r.get("type") == "doc.deleted", "doc.delete", r)
    m = b.recv_json()
    t.ok(m.get("type") == "doc.deleted" and m["doc"] == big, "others are told of the deletion", m)
    r = a.request({"type": "doc.open", "id": 45, "doc": big})
    t.ok(r.get("type") == "error" and r["error"]["code"] == "not_found", "a deleted document is gone", r)

    r = a.request({"type": "hello", "id": 46, "name": "x" * (MAX_DISPLAY_NAME + 1)})
    t.ok(r.get("type") == "error", "display name of N+1 bytes refused", r)
    r = a.request({"type": "hello", "id": 47, "name": "x" * MAX_DISPLAY_NAME, "client_id": "client-ann"})
    t.ok(r.get("type") == "hello", "display name of N bytes accepted", r)
    r = a.request({"type": "hello", "id": 48, "color": "red"})
    t.ok(r.get("type") == "error", "a colour that is not #rrggbb refused", r)
    r = a.request({"type": "hello", "id": 49, "client_id": "bad id!"})
    t.ok(r.get("type") == "error", "a client_id with a space refused", r)
    final_text, final_rev = text, rev
    for ws in (a, b, c):
        ws.close()
    db = srv.db
    t.eq(srv.stop(), 0, "server stops cleanly")

# ---- persistence across a restart ----
with Server(db=db, tmpdir=os.path.dirname(db)) as srv:
    a, _ = connect(srv, "ann", "client-ann")
    r = a.request({"type": "join", "id": 1, "session": sid, "token": tok})
    t.ok(r.get("type") == "joined", "the session can be joined after a restart", r)
    r = a.request({"type": "doc.open", "id": 2, "doc": doc})
    t.ok(r.get("text") == final_text and r.get("rev") == final_rev, "text and revision survive a restart",
         (r, final_text, final_rev))
    r = a.request({"type": "op", "id": 3, "doc": doc, "rev": final_rev, "op": [units(final_text), "Z"], "seq": 14})
    t.ok(r.get("type") == "ack" and r.get("duplicate") is True,
         "after a restart a resent op is still recognised", r)
    a.close()

shutil.rmtree(tmp, ignore_errors=True)
t.done()
