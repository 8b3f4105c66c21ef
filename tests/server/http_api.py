"""tuttid's HTTP side: health, sessions, static files, errors and limits,
configuration, persistence across restarts and clean shutdown."""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, TUTTID  # noqa: E402

MAX_BODY = 1024 * 1024      # TT_MAX_HTTP_BODY
MAX_NAME = 200              # TT_MAX_SESSION_NAME

t = Tap()


def error_of(body):
    """The error object of a JSON error body, or None."""
    try:
        return json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return None


def body_of_size(n, name="padded"):
    """A JSON object {"name":..., "pad":"xxx"} of exactly n bytes."""
    base = json.dumps({"name": name, "pad": ""})
    return base[:-2] + "x" * (n - len(base)) + '"}'


tmp = tempfile.mkdtemp(prefix="tutti-http-")
db = os.path.join(tmp, "sub", "dir", "tutti.db")

with Server(db=db, tmpdir=tmp) as srv:
    t.ok(os.path.exists(db), "database file created on first start, with its directories")
    st, h = srv.json("GET", "/api/health")
    t.eq(st, 200, "GET /api/health is 200")
    t.ok(h and h.get("status") == "ok" and h.get("database", {}).get("ok") is True
         and isinstance(h.get("version"), str) and isinstance(h.get("uptime_s"), int),
         "health has version, uptime_s and database ok", h)
    t.ok(h and h["render"]["sessions"] == 0 and h["render"]["late_blocks"] == 0 and
         h["websockets"] == 0 and h["listeners"] == 0, "health counts render threads and connections", h)

    st, s = srv.json("GET", "/api/sessions")
    t.ok(st == 200 and s == {"sessions": []}, "no sessions at first", s)

    st, hdrs, body = srv.request("POST", "/api/sessions", json.dumps({"name": "Friday set"}),
                                 {"Content-Type": "application/json"})
    created = json.loads(body)
    t.eq(st, 201, "POST /api/sessions is 201")
    t.ok(isinstance(created.get("id"), str) and created["id"] and created.get("name") == "Friday set"
         and isinstance(created.get("created_at"), int), "created session has id, name, created_at",
         created)
    t.eq(hdrs.get("location"), "/api/sessions/" + created["id"], "Location names the new session")

    owner_token = created.pop("owner_token", None)
    t.ok(isinstance(owner_token, str) and owner_token.startswith("t"),
         "the creator gets the session's owner token", owner_token)
    st, got = srv.json("GET", "/api/sessions/" + created["id"])
    t.ok(st == 200 and got == created and "owner_token" not in got,
         "GET /api/sessions/{id} returns it, without any token", got)

    srv.json("POST", "/api/sessions", {"name": "Zürich ✓ 🎶"})
    st, s = srv.json("GET", "/api/sessions")
    names = sorted(x["name"] for x in s["sessions"])
    t.eq(names, sorted(["Friday set", "Zürich ✓ 🎶"]), "both sessions listed, UTF-8 intact")

    # ---- errors: each with the right status and a JSON body saying why ----
    st, hdrs, body = srv.request("GET", "/api/sessions/nosuchid")
    e = error_of(body)
    t.ok(st == 404 and e and e["code"] == "not_found" and "nosuchid" in e["message"],
         "unknown session id is 404 with a reason", body)
    st, hdrs, body = srv.request("GET", "/api/nothing/here")
    t.ok(st == 404 and error_of(body), "unknown API route is 404 with a JSON body", body)
    st, hdrs, body = srv.request("DELETE", "/api/sessions")
    t.ok(st == 405 and error_of(body) and "GET" in hdrs.get("allow", "") and
         "POST" in hdrs.get("allow", ""), "wrong method is 405 with Allow", (st, hdrs, body))
    st, hdrs, body = srv.request("PUT", "/api/health")
    t.ok(st == 405 and hdrs.get("allow") == "GET", "PUT /api/health is 405, Allow: GET")

    for bad, what in [("{not json", "bad_json"), ("", "bad_json"), ("[1,2]", "bad_request"),
                      ('{"name": 5}', "bad_request"), ('{"name": ""}', "bad_request"),
                      ('{"nom": "x"}', "bad_request"), ('{"name":"a","name":"b"}', "bad_json")]:
        st, hdrs, body = srv.request("POST", "/api/sessions", bad, {"Content-Type": "application/json"})
        e = error_of(body)
        t.ok(st == 400 and e and e["code"] == what and e["message"],
             "POST %r is 400 %s" % (bad, what), body)
    st, hdrs, body = srv.request("POST", "/api/sessions", "{\n  \"name\": tru\n}")
    e = error_of(body)
    t.ok(st == 400 and e and "line 2" in e["message"], "bad JSON error says where", body)

    # ---- limits at N and N+1 ----
    st, s = srv.json("POST", "/api/sessions", {"name": "n" * MAX_NAME})
    t.eq(st, 201, "session name of TT_MAX_SESSION_NAME bytes accepted")
    st, s = srv.json("POST", "/api/sessions", {"name": "n" * (MAX_NAME + 1)})
    t.ok(st == 400 and s["error"]["code"] == "too_long", "name of N+1 bytes is 400 too_long", s)
    st, s = srv.json("POST", "/api/sessions", {"name": "é" * (MAX_NAME // 2)})
    t.eq(st, 201, "name of N bytes in 2-byte characters accepted")

    body = body_of_size(MAX_BODY, "exactly")
    st, _, data = srv.request("POST", "/api/sessions", body, {"Content-Type": "application/json"})
    t.ok(st == 201 and len(body) == MAX_BODY, "body of exactly TT_MAX_HTTP_BODY bytes accepted", data[:200])
    body = body_of_size(MAX_BODY + 1, "toolong").encode()
    resp = srv.raw(b"POST /api/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    t.ok(resp.startswith(b"HTTP/1.1 413") and b'"too_large"' in resp, "body of N+1 bytes is 413",
         resp[:300])

    # A chunked body (no Content-Length) past the limit is refused too.
    chunk = b"x" * 65536
    req = (b"POST /api/sessions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
           b"Content-Type: application/json\r\nConnection: close\r\n\r\n")
    req += (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * (MAX_BODY // len(chunk) + 2) + b"0\r\n\r\n"
    resp = srv.raw(req)
    t.ok(resp.startswith(b"HTTP/1.1 413"), "chunked body past the limit is 413", resp[:200])

    # A huge declared length is answered at once, without reading a byte.
    resp = srv.raw(b"POST /api/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n{" % 2 ** 62)
    t.ok(resp.startswith(b"HTTP/1.1 413"), "Content-Length of 2^62 is 413 at once", resp[:200])

    # ---- static files ----
    st, hdrs, body = srv.request("GET", "/")
    t.ok(st == 200 and b"<title>tutti</title>" in body and
         hdrs.get("content-type", "").startswith("text/html"), "GET / serves the web page")
    st, hdrs, body = srv.request("GET", "/index.html")
    t.eq(st, 200, "GET /index.html")
    for path in ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/.git/config",
                 "/nothing.html", "/a/../../etc/passwd"]:
        resp = srv.raw(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
        t.ok(resp.startswith(b"HTTP/1.1 404") and b"root:" not in resp,
             "GET %s is 404" % path, resp[:120])
    st, hdrs, body = srv.request("POST", "/index.html", "x")
    t.eq(st, 405, "POST to a static file is 405")

    # ---- malformed HTTP: the server answers and keeps going ----
    resp = srv.raw(b"THIS IS NOT HTTP\r\n\r\n")
    t.ok(resp.startswith(b"HTTP/1.1 400") or resp == b"", "garbage request line is refused")
    st, _ = srv.json("GET", "/api/health")
    t.eq(st, 200, "server still answers after malformed input")

    sid = created["id"]
    rc = srv.stop(signal.SIGTERM)
    t.eq(rc, 0, "SIGTERM: exit status 0")
    t.ok(any("stopped cleanly" in l for l in srv.log), "SIGTERM: 'stopped cleanly' logged")

# ---- restart on the same database: sessions persist ----
with Server(db=db, tmpdir=tmp) as srv:
    st, got = srv.json("GET", "/api/sessions/" + sid)
    t.ok(st == 200 and got["name"] == "Friday set", "session survives a restart", got)
    rc = srv.stop(signal.SIGINT)
    t.eq(rc, 0, "SIGINT: exit status 0")

# ---- configuration ----
conf = os.path.join(tmp, "tuttid.conf")
with open(conf, "w") as f:
    f.write("# a test config\nlog-level = warn\nlisten = 127.0.0.1:0\n\ndb = %s\n" % db)
srv = Server(args=["--config", conf, "--log-level", "info"], db=db, tmpdir=tmp)
srv.start()
st, got = srv.json("GET", "/api/sessions/" + sid)
t.ok(st == 200, "config file's db is used", got)
t.ok(any(" info main: " in l for l in srv.log), "command-line --log-level overrides the file")
srv.stop()

for args, what in [(["--bogus"], "unknown option '--bogus'"),
                   (["--listen", "nohostport"], "listen:"),
                   (["--listen", "127.0.0.1:70000"], "listen:"),
                   (["--log-level", "loud"], "log-level:"),
                   (["--db"], "--db needs a value")]:
    p = subprocess.run([TUTTID] + args, capture_output=True, text=True, timeout=10)
    t.ok(p.returncode == 2 and what in p.stderr, "tuttid %s: exit 2, says %r" % (" ".join(args), what),
         p.stderr)
bad = os.path.join(tmp, "bad.conf")
with open(bad, "w") as f:
    f.write("listen = 127.0.0.1:0\nvolume = 11\n")
p = subprocess.run([TUTTID, "--config", bad], capture_output=True, text=True, timeout=10)
t.ok(p.returncode == 2 and "line 2" in p.stderr and "volume" in p.stderr,
     "bad config file: exit 2 naming file line and key", p.stderr)
p = subprocess.run([TUTTID, "--help"], capture_output=True, text=True, timeout=10)
t.ok(p.returncode == 0 and "--listen" in p.stdout and "--config" in p.stdout, "--help lists the flags")

# A database path that cannot be created fails clearly.
p = subprocess.run([TUTTID, "--listen", "127.0.0.1:0", "--db", "/proc/nope/tutti.db"],
                   capture_output=True, text=True, timeout=10)
t.ok(p.returncode != 0 and "/proc/nope" in p.stderr, "unusable --db: non-zero exit naming it", p.stderr)

# Two servers on one port: the second fails, saying so.
with Server(tmpdir=tmp, db=os.path.join(tmp, "a.db")) as a:
    p = subprocess.run([TUTTID, "--listen", "127.0.0.1:%d" % a.port, "--db", os.path.join(tmp, "b.db")],
                       capture_output=True, text=True, timeout=10)
    t.ok(p.returncode != 0 and "cannot listen" in p.stderr, "port in use: clear error", p.stderr)

import shutil  # noqa: E402
shutil.rmtree(tmp, ignore_errors=True)
t.done()
