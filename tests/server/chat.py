"""Session chat: said by performers, broadcast to the session, stored with
it, the last TT_CHAT_ON_JOIN sent to whoever joins; size limit at N and
N+1; listeners read but may not write. Members carry their role."""
import os
import sqlite3
import sys
import tempfile
import shutil
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server  # noqa: E402

MAX_CHAT = 2000       # TT_MAX_CHAT_BYTES
ON_JOIN = 50          # TT_CHAT_ON_JOIN
t = Tap()
tmp = tempfile.mkdtemp(prefix="tutti-chat-")
db = os.path.join(tmp, "tutti.db")

with Server(tmpdir=tmp, db=db) as srv:
    st, sess = srv.json("POST", "/api/sessions", {"name": "chatty"})
    sid, tok = sess["id"], sess["owner_token"]
    a, b = srv.ws(), srv.ws()
    a.call({"type": "hello", "id": 0, "name": "ann", "color": "#112233"})
    b.call({"type": "hello", "id": 0, "name": "bo"})
    a.call({"type": "join", "id": 1, "session": sid, "token": tok})
    jb = b.call({"type": "join", "id": 1, "session": sid})
    t.ok(jb["role"] == "listener" and {m["name"]: m["role"] for m in jb["members"]} ==
         {"ann": "owner", "bo": "listener"}, "members carry their role", jb["members"])
    r = a.call({"type": "chat", "id": 2, "text": "hi all 🎶"})
    t.ok(r.get("type") == "chat" and r["text"] == "hi all 🎶" and r["name"] == "ann" and
         isinstance(r["chat"], int) and isinstance(r["time"], int), "chat answers the stored message", r)
    m = b.recv_json()
    while m.get("type") != "chat":
        m = b.recv_json()
    t.ok(m["text"] == "hi all 🎶" and "id" not in m and m["color"] == "#112233", "the session hears it", m)
    r = b.call({"type": "chat", "id": 3, "text": "me too"})
    t.ok(r.get("type") == "error" and r["error"]["code"] == "forbidden", "a listener may not chat", r)
    r = a.call({"type": "chat", "id": 4, "text": "x" * MAX_CHAT})
    t.eq(r.get("type"), "chat", "a message of TT_MAX_CHAT_BYTES bytes is said")
    r = a.call({"type": "chat", "id": 5, "text": "x" * (MAX_CHAT + 1)})
    t.ok(r.get("type") == "error" and r["error"]["code"] == "bad_request", "one byte more is refused", r)
    r = a.call({"type": "chat", "id": 6, "text": ""})
    t.ok(r.get("type") == "error", "an empty message is refused", r)
    for i in range(ON_JOIN + 5):
        while True:  # chat counts against TT_MAX_EVALS_PER_SECOND: wait when told
            r = a.call({"type": "chat", "id": 100 + i, "text": "line %d" % i})
            if r.get("type") == "chat":
                break
            time.sleep(r["error"]["retry_after_ms"] / 1000.0)
    c = srv.ws()
    c.call({"type": "hello", "id": 0})
    jc = c.call({"type": "join", "id": 1, "session": sid})
    texts = [x["text"] for x in jc["chat"]]
    t.ok(len(texts) == ON_JOIN and texts[-1] == "line %d" % (ON_JOIN + 4) and
         texts[0] == "line 5", "joining sends the last TT_CHAT_ON_JOIN messages, oldest first", texts[:2])
    for ws in (a, b, c):
        ws.close()

con = sqlite3.connect(db)
n = con.execute("SELECT count(*) FROM chat WHERE session_id = ?", (sid,)).fetchone()[0]
con.close()
t.eq(n, ON_JOIN + 7, "every message is stored with the session")
shutil.rmtree(tmp, ignore_errors=True)
t.done()
