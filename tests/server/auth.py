"""Roles and tokens: for every role and every message that writes, the
write is refused (and the database unchanged) unless the role allows it;
owner routes over HTTP; revoked, expired, malformed and foreign tokens;
token-only listening."""
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import http.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server  # noqa: E402

t = Tap()
tmp = tempfile.mkdtemp(prefix="tutti-auth-")
db = os.path.join(tmp, "tutti.db")
RANK = {"none": 0, "listener": 1, "performer": 2, "owner": 3}


def snapshot():
    con = sqlite3.connect(db)
    q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
    snap = (q("SELECT doc_id, revision FROM ops ORDER BY doc_id, revision"),
            q("SELECT id, name, deleted_at FROM documents ORDER BY id"),
            q("SELECT count(*) FROM evaluations"), q("SELECT count(*) FROM tempo"))
    con.close()
    return snap


with Server(tmpdir=tmp, db=db) as srv:
    st, sess = srv.json("POST", "/api/sessions", {"name": "gated"})
    sid, owner = sess["id"], sess["owner_token"]

    def invite(role, token=owner, **kw):
        body = dict(role=role, **kw)
        st, _, data = srv.request("POST", "/api/sessions/%s/invites" % sid, json.dumps(body),
                                  {"Authorization": "Bearer " + token} if token else {})
        return st, json.loads(data)

    st, perf = invite("performer", label="bo")
    t.ok(st == 201 and perf["role"] == "performer" and perf["token"].startswith("t"), "the owner invites a performer", perf)
    st, lis = invite("listener")
    t.eq(st, 201, "and a listener")
    st, body = invite("performer", token=perf["token"])
    t.ok(st == 403 and body["error"]["code"] == "forbidden", "a performer cannot invite (403)", body)
    st, body = invite("performer", token=None)
    t.ok(st == 401 and body["error"]["code"] == "unauthorized", "no token: 401", body)
    st, body = invite("admin")
    t.eq(st, 400, "an unknown role is 400")

    def joined(token):
        ws = srv.ws()
        ws.call({"type": "hello", "id": 0, "name": "x"})
        req = {"type": "join", "id": 1, "session": sid}
        if token:
            req["token"] = token
        return ws, ws.call(req)

    # Set up a document with some text, as the owner.
    ow, j = joined(owner)
    t.eq(j.get("role"), "owner", "the creator's token makes its holder owner")
    doc = ow.call({"type": "doc.create", "id": 2, "name": "main"})["doc"]["id"]
    ow.call({"type": "doc.open", "id": 3, "doc": doc})
    ow.call({"type": "op", "id": 4, "doc": doc, "rev": 0, "op": ['s("bd")']})
    spare = ow.call({"type": "doc.create", "id": 5, "name": "spare"})["doc"]["id"]

    writes = [  # (message, the role it needs)
        (lambda: {"type": "op", "doc": doc, "rev": 1, "op": [7, "x"]}, "performer"),
        (lambda: {"type": "presence", "doc": doc, "cursor": 1}, "performer"),
        (lambda: {"type": "doc.create", "name": "new-%f" % time.time()}, "performer"),
        (lambda: {"type": "doc.rename", "doc": spare, "name": "renamed-%f" % time.time()}, "performer"),
        (lambda: {"type": "eval", "doc": doc, "quantum": "now"}, "performer"),
        (lambda: {"type": "tempo", "cps": 0.6}, "performer"),
        (lambda: {"type": "hush", "on": False}, "performer"),
        (lambda: {"type": "mute", "track": "x", "on": False}, "performer"),
        (lambda: {"type": "solo", "track": "x", "on": False}, "performer"),
        (lambda: {"type": "doc.delete", "doc": spare}, "owner"),
    ]
    roles = [("listener", None), ("performer", perf["token"]), ("owner", owner)]
    for role, token in roles:
        ws, j = joined(token)
        t.eq(j.get("role"), role, "join with %s's token: role %s" % (role, role))
        ws.call({"type": "doc.open", "id": 2, "doc": doc})
        for k, (make, need) in enumerate(writes):
            msg = make()
            msg["id"] = 100 + k
            before = snapshot()
            r = ws.call(msg)
            if RANK[role] >= RANK[need]:
                t.ok(r.get("type") != "error" or r["error"]["code"] != "forbidden",
                     "%s may %s" % (role, msg["type"]), r)
            else:
                time.sleep(0.05)  # anything wrongly applied would be stored by now
                t.ok(r.get("type") == "error" and r["error"]["code"] == "forbidden" and
                     need in r["error"]["message"] and snapshot() == before,
                     "%s may not %s: forbidden, database unchanged" % (role, msg["type"]), r)
        ws.close()

    # Tokens that do not work.
    st, body = srv.json("POST", "/api/sessions", {"name": "other"})
    other_owner = body["owner_token"]
    for what, token in [("malformed", "hello"), ("unknown", "t999999.AAAA"),
                        ("wrong secret", perf["token"][:-3] + "xyz"),
                        ("another session's", other_owner)]:
        ws, j = joined(token)
        t.ok(j.get("type") == "error" and j["error"]["code"] == "forbidden",
             "a %s token is refused at join" % what, j)
        ws.close()
    st, _, data = srv.request("GET", "/api/sessions/%s/invites" % sid, None, {"Authorization": "Bearer " + owner})
    invites = json.loads(data)["invites"]
    t.ok(st == 200 and len(invites) == 3 and all("token" not in i for i in invites),
         "the owner lists invites, without their secrets", invites)
    st, _, data = srv.request("DELETE", "/api/sessions/%s/invites/%d" % (sid, perf["id"]), None,
                              {"Authorization": "Bearer " + owner})
    t.eq(st, 200, "the owner revokes the performer's invite")
    ws, j = joined(perf["token"])
    t.ok(j.get("type") == "error" and "revoked" in j["error"]["message"], "a revoked token is refused", j)
    ws.close()
    st, short = invite("performer", expires_in_s=1)
    time.sleep(1.2)
    ws, j = joined(short["token"])
    t.ok(j.get("type") == "error" and "expired" in j["error"]["message"], "an expired token is refused", j)
    ws.close()

    # Token-only listening.
    st, _, data = srv.request("PATCH", "/api/sessions/" + sid, json.dumps({"listen": "token"}),
                              {"Authorization": "Bearer " + perf["token"]})
    t.eq(st, 401, "a revoked token cannot change the session")
    st, _, data = srv.request("PATCH", "/api/sessions/" + sid, json.dumps({"listen": "token"}),
                              {"Authorization": "Bearer " + owner})
    t.ok(st == 200 and json.loads(data)["listen"] == "token", "the owner makes listening token-only")
    ws, j = joined(None)
    t.ok(j.get("type") == "error" and j["error"]["code"] == "forbidden", "then a join without a token is refused", j)
    ws.close()
    st, _, data = srv.request("GET", "/s/%s/live.ogg" % sid)
    t.eq(st, 403, "and live.ogg without a token is 403")
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    c.request("GET", "/s/%s/live.ogg?t=%s" % (sid, lis["token"]))
    r = c.getresponse()
    t.ok(r.status == 200 and r.read1(100).startswith(b"OggS"), "with a listener's token it plays")
    c.close()
    ow.close()
shutil.rmtree(tmp, ignore_errors=True)
t.done()
