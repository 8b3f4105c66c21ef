"""Accounts: the admin made on first start, login (PBKDF2) and account
tokens, account creation, password change, logout, session owners and
members, the authorization matrix with account tokens (every write refused
and the database unchanged unless the account's role allows it), the
login throttle per name and per address at N and N+1, account-field limits
at N and N+1, and, on a server at the default 600,000 iterations, the KDF
queue limit (TT_MAX_PENDING_LOGINS at N and N+1) while HTTP keeps
answering."""
import json
import os
import re
import shutil
import socket
import sqlite3
import sys
import tempfile
import threading
import time
import http.client

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, SRCDIR, limit, recv_all  # noqa: E402

MAX_NAME = limit("TT_MAX_ACCOUNT_NAME")
MIN_PW, MAX_PW = limit("TT_MIN_PASSWORD"), limit("TT_MAX_PASSWORD")
PER_NAME = limit("TT_MAX_LOGIN_FAILURES_PER_NAME")
PER_ADDR = limit("TT_MAX_LOGIN_FAILURES_PER_ADDRESS")
PENDING = limit("TT_MAX_PENDING_LOGINS")
RANK = {"none": 0, "listener": 1, "performer": 2, "owner": 3}

t = Tap()
tmp = tempfile.mkdtemp(prefix="tutti-accounts-")
db = os.path.join(tmp, "tutti.db")


def q(sql, *args):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def snapshot():
    return (q("SELECT doc_id, revision FROM ops ORDER BY doc_id, revision"),
            q("SELECT id, name, deleted_at FROM documents ORDER BY id"),
            q("SELECT count(*) FROM evaluations"), q("SELECT count(*) FROM tempo"),
            q("SELECT * FROM session_members ORDER BY session_id, account_id"),
            q("SELECT id, listen_public FROM sessions ORDER BY id"))


def call(srv, method, path, body=None, token=None, source=None):
    """(status, headers, parsed body) from srv, optionally from another
    loopback source address (any 127.x.y.z reaches 127.0.0.1 on Linux)."""
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30,
                                   source_address=(source, 0) if source else None)
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = "Bearer " + token
    c.request(method, path, json.dumps(body) if body is not None else None, h)
    r = c.getresponse()
    data = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    try:
        return r.status, hdrs, json.loads(data)
    except ValueError:
        return r.status, hdrs, data


def login(srv, name, password, source=None):
    st, h, body = call(srv, "POST", "/api/login", {"name": name, "password": password}, source=source)
    return st, h, body


def admin_password(log, timeout=60):
    """The admin password of a first start: logged once the KDF thread has
    hashed and stored it, a moment after tuttid starts serving."""
    end = time.time() + timeout
    while time.time() < end:
        for line in list(log):
            m = re.search(r"created the account 'admin'.*shown only now: (\S+) ;", line)
            if m:
                return m.group(1)
        time.sleep(0.05)
    return None


with Server(["--pbkdf2-iterations", "1000"], tmpdir=tmp, db=db) as srv:
    # ---- first start ----
    pw = admin_password(srv.log)
    t.ok(pw is not None and len(pw) >= 24, "first start logs a random admin password once", srv.log[-8:])
    t.ok(any("--pbkdf2-iterations 1000 is below the default 600000" in l for l in srv.log),
         "iterations below the default are logged as a warning")
    rows = q("SELECT name, role, pass_hash FROM accounts")
    t.ok(len(rows) == 1 and rows[0][:2] == ("admin", "admin") and rows[0][2].startswith("pbkdf2-sha256$1000$"),
         "the database holds the admin account with a PBKDF2 hash", rows)
    with open(db, "rb") as f:
        raw = f.read()
    wal = db + "-wal"
    if os.path.exists(wal):
        with open(wal, "rb") as f:
            raw += f.read()
    t.ok(pw.encode() not in raw, "the password itself is nowhere in the database files")

    # ---- login ----
    st, _, body = login(srv, "admin", pw)
    t.ok(st == 200 and body["token"].startswith("a") and body["account"]["admin"] is True
         and body["expires_at"] > time.time() * 1000, "admin logs in: an account token", body)
    admin = body["token"]
    tok_rows = q("SELECT hash, revoked_at FROM tokens")
    secret = admin.split(".", 1)[1]
    t.ok(len(tok_rows) == 1 and len(tok_rows[0][0]) == 32 and secret.encode() not in tok_rows[0][0],
         "the token table keeps a 32-byte hash, not the secret")
    st, _, body = call(srv, "GET", "/api/me", token=admin)
    t.ok(st == 200 and body["account"]["name"] == "admin", "GET /api/me names the account", body)
    st, _, wrong = login(srv, "admin", pw + "x")
    st2, _, unknown = login(srv, "nosuchuser", "whatever1")
    t.ok(st == 401 and st2 == 401 and wrong["error"]["message"] == unknown["error"]["message"],
         "a wrong password and an unknown name get the same 401", (wrong, unknown))
    st, _, body = call(srv, "GET", "/api/me")
    t.eq(st, 401, "GET /api/me without a token is 401")
    st, _, body = call(srv, "GET", "/api/me", token="a999.nope")
    t.eq(st, 401, "and with an unknown account token")

    # ---- accounts, created by the admin; field limits at N and N+1 ----
    def create(name, password, token=admin, **kw):
        return call(srv, "POST", "/api/accounts", dict(name=name, password=password, **kw), token=token)

    for name in ("creator", "perf1", "lis1", "outsider", "victim"):
        st, _, body = create(name, "pw-" + name + "-secret")
        t.ok(st == 201 and body["name"] == name and body["admin"] is False, "admin creates %s" % name, body)
    st, _, body = create("perf1", "another-secret")
    t.eq(st, 409, "a taken name is 409")
    st, _, body = create("x" * MAX_NAME, "p" * MIN_PW)
    t.eq(st, 201, "a name of TT_MAX_ACCOUNT_NAME (%d) bytes and a password of TT_MIN_PASSWORD (%d)" % (MAX_NAME, MIN_PW))
    st, _, body = create("y" * (MAX_NAME + 1), "p" * MIN_PW)
    t.ok(st == 400 and "TT_MAX_ACCOUNT_NAME" in body["error"]["message"], "a name one byte longer is 400", body)
    st, _, body = create("short", "p" * (MIN_PW - 1))
    t.ok(st == 400 and "TT_MIN_PASSWORD" in body["error"]["message"], "a password one byte shorter is 400", body)
    st, _, body = create("longpw", "p" * MAX_PW)
    t.eq(st, 201, "a password of TT_MAX_PASSWORD (%d) bytes is accepted" % MAX_PW)
    st, _, body = create("longpw2", "p" * (MAX_PW + 1))
    t.ok(st == 400 and "TT_MAX_PASSWORD" in body["error"]["message"], "one byte longer is 400", body)
    st, _, body = login(srv, "longpw", "p" * MAX_PW)
    t.eq(st, 200, "the account with the longest password logs in")
    st, _, body = create("bad name", "p" * MIN_PW)
    t.eq(st, 400, "a name with a space is 400")

    tokens = {}
    for name in ("creator", "perf1", "lis1", "outsider"):
        st, _, body = login(srv, name, "pw-" + name + "-secret")
        tokens[name] = body["token"]
    n_accounts = q("SELECT count(*) FROM accounts")
    st, _, body = create("sneaky", "p" * MIN_PW, token=tokens["perf1"])
    t.ok(st == 403 and q("SELECT count(*) FROM accounts") == n_accounts,
         "a non-admin account cannot create accounts (403), none is made", body)
    st, _, body = create("sneaky", "p" * MIN_PW, token=None)
    t.eq(st, 401, "nor can an anonymous request")

    # ---- a session owned by the account that creates it ----
    st, _, sess = call(srv, "POST", "/api/sessions", {"name": "accounts"}, token=tokens["creator"])
    sid = sess["id"]
    owner_acc = q("SELECT owner_account FROM sessions WHERE id = ?", sid)[0][0]
    creator_id = q("SELECT id FROM accounts WHERE name = 'creator'")[0][0]
    t.eq(owner_acc, creator_id, "the creating account is recorded as the session's owner")
    st, _, body = call(srv, "PUT", "/api/sessions/%s/members/perf1" % sid, {"role": "performer"}, token=tokens["creator"])
    t.ok(st == 200 and body == {"name": "perf1", "role": "performer"}, "the owner account adds perf1 as performer", body)
    st, _, body = call(srv, "PUT", "/api/sessions/%s/members/lis1" % sid, {"role": "listener"}, token=tokens["creator"])
    t.eq(st, 200, "and lis1 as listener")
    before = snapshot()
    st, _, body = call(srv, "PUT", "/api/sessions/%s/members/outsider" % sid, {"role": "owner"}, token=tokens["perf1"])
    t.ok(st == 403 and snapshot() == before, "a performer account cannot add members: 403, nothing stored", body)
    st, _, body = call(srv, "PUT", "/api/sessions/%s/members/outsider" % sid, {"role": "owner"}, token=tokens["outsider"])
    t.ok(st == 403 and snapshot() == before, "nor can an account with no role", body)
    st, _, body = call(srv, "PUT", "/api/sessions/%s/members/nobody" % sid, {"role": "listener"}, token=tokens["creator"])
    t.eq(st, 404, "an unknown account name is 404")
    st, _, body = call(srv, "PUT", "/api/sessions/%s/members/outsider" % sid, {"role": "admin"}, token=tokens["creator"])
    t.eq(st, 400, "an unknown role is 400")
    st, _, body = call(srv, "GET", "/api/sessions/%s/members" % sid, token=tokens["creator"])
    t.ok(st == 200 and body["members"] == [{"name": "lis1", "role": "listener"}, {"name": "perf1", "role": "performer"}],
         "the owner lists the members", body)
    st, _, body = call(srv, "GET", "/api/sessions/%s/members" % sid, token=admin)
    t.eq(st, 200, "the admin is owner of every session (members list)")

    # ---- the authorization matrix, with account tokens ----
    def joined(token):
        ws = srv.ws()
        ws.call({"type": "hello", "id": 0, "name": "x"})
        req = {"type": "join", "id": 1, "session": sid}
        if token:
            req["token"] = token
        return ws, ws.call(req)

    ow, j = joined(tokens["creator"])
    t.eq(j.get("role"), "owner", "the creator's account token joins as owner")
    doc = ow.call({"type": "doc.create", "id": 2, "name": "main"})["doc"]["id"]
    ow.call({"type": "doc.open", "id": 3, "doc": doc})
    ow.call({"type": "op", "id": 4, "doc": doc, "rev": 0, "op": ['s("bd")']})
    spare = ow.call({"type": "doc.create", "id": 5, "name": "spare"})["doc"]["id"]

    writes = [
        (lambda: {"type": "op", "doc": doc, "rev": 1, "op": [7, "x"]}, "performer"),
        (lambda: {"type": "doc.create", "name": "new-%f" % time.time()}, "performer"),
        (lambda: {"type": "doc.rename", "doc": spare, "name": "renamed-%f" % time.time()}, "performer"),
        (lambda: {"type": "eval", "doc": doc, "quantum": "now"}, "performer"),
        (lambda: {"type": "tempo", "cps": 0.6}, "performer"),
        (lambda: {"type": "hush", "on": False}, "performer"),
        (lambda: {"type": "doc.delete", "doc": spare}, "owner"),
    ]
    who = [("outsider", "listener"), ("lis1", "listener"), ("perf1", "performer"), ("creator", "owner")]
    for name, role in who:
        ws, j = joined(tokens[name])
        t.eq(j.get("role"), role, "%s's account token joins as %s" % (name, role))
        ws.call({"type": "doc.open", "id": 2, "doc": doc})
        for k, (make, need) in enumerate(writes):
            msg = make()
            msg["id"] = 100 + k
            before = snapshot()
            r = ws.call(msg)
            if RANK[role] >= RANK[need]:
                t.ok(r.get("type") != "error" or r["error"]["code"] != "forbidden",
                     "%s (%s) may %s" % (name, role, msg["type"]), r)
            else:
                time.sleep(0.05)  # anything wrongly applied would be stored by now
                t.ok(r.get("type") == "error" and r["error"]["code"] == "forbidden" and snapshot() == before,
                     "%s (%s) may not %s: forbidden, database unchanged" % (name, role, msg["type"]), r)
        ws.close()
    ws, j = joined(admin)
    t.eq(j.get("role"), "owner", "the admin's account token joins any session as owner")
    ws.close()

    # HTTP owner routes with account tokens.
    for name, want in (("perf1", 403), ("outsider", 403), ("creator", 201)):
        before = snapshot()
        st, _, body = call(srv, "POST", "/api/sessions/%s/invites" % sid, {"role": "listener"}, token=tokens[name])
        t.eq(st, want, "%s's account token making an invite: %d" % (name, want))
    st, _, body = call(srv, "PATCH", "/api/sessions/" + sid, {"listen": "token"}, token=tokens["perf1"])
    t.ok(st == 403 and q("SELECT listen_public FROM sessions WHERE id = ?", sid) == [(1,)],
         "a performer account cannot make listening token-only; unchanged", body)
    st, _, body = call(srv, "PATCH", "/api/sessions/" + sid, {"listen": "token"}, token=tokens["creator"])
    t.ok(st == 200 and body["listen"] == "token", "the owner account can")

    # Token-gated: members read, outsiders do not.
    st, _, _ = call(srv, "GET", "/api/sessions/%s/timeline" % sid, token=tokens["outsider"])
    t.eq(st, 403, "a gated session's history: an account with no role is refused")
    st, _, _ = call(srv, "GET", "/api/sessions/%s/timeline" % sid, token=tokens["lis1"])
    t.eq(st, 200, "a listener member reads it (Bearer)")
    st, _, _ = call(srv, "GET", "/api/sessions/%s/timeline?t=%s" % (sid, tokens["lis1"]))
    t.eq(st, 200, "and with ?t=")
    ws, j = joined(tokens["outsider"])
    t.ok(j.get("type") == "error" and "no role" in j["error"]["message"], "an outsider's join is refused, saying why", j)
    ws.close()

    # Removing a member takes the role away.
    st, _, body = call(srv, "DELETE", "/api/sessions/%s/members/perf1" % sid, token=tokens["creator"])
    t.eq(st, 200, "the owner removes perf1")
    ws, j = joined(tokens["perf1"])
    t.ok(j.get("type") == "error" and j["error"]["code"] == "forbidden", "perf1 can no longer join the gated session", j)
    ws.close()
    st, _, body = call(srv, "DELETE", "/api/sessions/%s/members/perf1" % sid, token=tokens["creator"])
    t.eq(st, 404, "removing a non-member is 404")

    # ---- logout, password change ----
    st, _, body = call(srv, "POST", "/api/logout", token=tokens["outsider"])
    t.eq(st, 200, "logout")
    st, _, body = call(srv, "GET", "/api/me", token=tokens["outsider"])
    t.ok(st == 401 and "revoked" in body["error"]["message"], "the token is revoked after logout", body)
    t.ok(q("SELECT count(*) FROM tokens WHERE revoked_at IS NOT NULL") == [(1,)], "revocation is recorded, the row kept")

    st, _, second = login(srv, "lis1", "pw-lis1-secret")
    other = second["token"]
    st, _, body = call(srv, "PUT", "/api/me/password", {"old_password": "wrong-one", "password": "new-lis1-secret"},
                       token=tokens["lis1"])
    t.eq(st, 403, "a password change with a wrong old password is 403")
    st, _, body = call(srv, "PUT", "/api/me/password", {"old_password": "pw-lis1-secret", "password": "short"},
                       token=tokens["lis1"])
    t.eq(st, 400, "a new password below TT_MIN_PASSWORD is 400")
    st, _, body = call(srv, "PUT", "/api/me/password", {"old_password": "pw-lis1-secret", "password": "new-lis1-secret"},
                       token=tokens["lis1"])
    t.eq(st, 200, "the password changes")
    st, _, _ = call(srv, "GET", "/api/me", token=other)
    st2, _, _ = call(srv, "GET", "/api/me", token=tokens["lis1"])
    t.ok(st == 401 and st2 == 200, "other tokens of the account are revoked, the one used is kept")
    st, _, _ = login(srv, "lis1", "pw-lis1-secret")
    st2, _, _ = login(srv, "lis1", "new-lis1-secret")
    t.ok(st == 401 and st2 == 200, "the old password no longer works, the new one does")

    # ---- the throttle, per name (from many addresses) at N and N+1 ----
    for i in range(PER_NAME):
        st, _, _ = login(srv, "victim", "wrong-%d" % i, source="127.0.1.%d" % (i + 1))
        if st != 401:
            break
    t.eq(st, 401, "%d failed logins for one name (from %d addresses) are each 401" % (PER_NAME, PER_NAME))
    st, h, body = login(srv, "victim", "pw-victim-secret", source="127.0.2.1")
    t.ok(st == 429 and int(h.get("retry-after", "0")) > 0 and "TT_MAX_LOGIN_FAILURES_PER_NAME" in body["error"]["message"],
         "the next, even with the right password and from a new address, is 429 with Retry-After", (st, h, body))
    st, _, _ = login(srv, "perf1", "pw-perf1-secret", source="127.0.2.1")
    t.eq(st, 200, "another name from that address still logs in")

    # ---- and per address (over many names) at N and N+1 ----
    for i in range(PER_ADDR):
        st, _, _ = login(srv, "nobody%d" % i, "wrong-password", source="127.0.3.1")
        if st != 401:
            break
    t.eq(st, 401, "%d failed logins from one address are each 401" % PER_ADDR)
    st, _, body = login(srv, "perf1", "pw-perf1-secret", source="127.0.3.1")
    t.ok(st == 429 and "TT_MAX_LOGIN_FAILURES_PER_ADDRESS" in body["error"]["message"],
         "the next from that address, for a good account, is 429", body)
    st, _, _ = login(srv, "perf1", "pw-perf1-secret", source="127.0.3.2")
    t.eq(st, 200, "the same login from another address works")
    ow.close()
    t.ok(srv.alive(), "the server is still running")

# ---- at the default 600,000 iterations: the KDF queue, HTTP stays live ----
tmp2 = tempfile.mkdtemp(prefix="tutti-accounts-kdf-")
with Server([], tmpdir=tmp2) as srv:
    pw = admin_password(srv.log)
    t.ok(not any("below the default" in l for l in srv.log), "no warning at the default iterations")
    body = json.dumps({"name": "admin", "password": pw}).encode()
    req = (b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
    socks = [socket.create_connection(("127.0.0.1", srv.port), timeout=60) for _ in range(PENDING + 1)]
    for s in socks:  # all within a millisecond or so; one login takes ~0.3 s
        s.sendall(req)
    st, _, hb = call(srv, "GET", "/api/health")
    answers = []

    def read_all(s):
        data = recv_all(s)
        s.close()
        return data

    # Whether a login was still unanswered when health answered: check
    # which sockets have their reply waiting, without blocking.
    waiting = 0
    for s in socks:
        s.setblocking(False)
        try:
            s.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            waiting += 1
        s.setblocking(True)
    t.ok(st == 200 and waiting >= 1,
         "GET /api/health answers while logins are still being hashed (%d unanswered)" % waiting)
    for s in socks:
        answers.append(read_all(s))
    codes = sorted(int(a.split(b" ", 2)[1]) for a in answers)
    t.eq(codes, [200] * PENDING + [503],
         "%d logins at once are queued for the KDF thread (TT_MAX_PENDING_LOGINS), the next is 503" % PENDING)
    busy = [a for a in answers if a.startswith(b"HTTP/1.1 503")]
    t.ok(busy and b"Retry-After" in busy[0] and b"TT_MAX_PENDING_LOGINS" in busy[0], "the 503 says why, with Retry-After")
shutil.rmtree(tmp2, ignore_errors=True)
shutil.rmtree(tmp, ignore_errors=True)
t.done()
