"""tutti login / logout / sessions: the password from stdin or a file,
the token stored per server in $XDG_CONFIG_HOME/tutti/credentials (0600),
used by eval and listen when no --token is given (in a token-only session,
where nothing else would let them in), revoked by logout."""
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, TUTTI  # noqa: E402

t = Tap()
tmp = tempfile.mkdtemp(prefix="tutti-cli-login-")
db = os.path.join(tmp, "tutti.db")
cfg = os.path.join(tmp, "cfg")
other_cfg = os.path.join(tmp, "cfg-other")
creds = os.path.join(cfg, "tutti", "credentials")


def tutti(*args, stdin="", xdg=cfg):
    env = dict(os.environ, XDG_CONFIG_HOME=xdg)
    env.pop("TUTTI_TOKEN", None)
    return subprocess.run([TUTTI] + list(args), input=stdin, capture_output=True, text=True,
                          timeout=60, env=env)


def lines():
    with open(creds) as f:
        return [l.split("\t") for l in f.read().splitlines()]


with Server(["--pbkdf2-iterations", "1000"], tmpdir=tmp, db=db) as srv:
    url = "http://127.0.0.1:%d" % srv.port
    pw = None
    for _ in range(600):  # logged once the KDF thread has stored it
        pw = next((re.search(r"shown only now: (\S+) ;", l).group(1) for l in list(srv.log)
                   if "shown only now" in l), None)
        if pw:
            break
        time.sleep(0.05)
    st, _, data = srv.request("POST", "/api/login", json.dumps({"name": "admin", "password": pw}))
    admin = json.loads(data)["token"]
    auth = {"Authorization": "Bearer " + admin}
    st, _, _ = srv.request("POST", "/api/accounts", json.dumps({"name": "perf", "password": "perf-secret-1"}), auth)
    t.eq(st, 201, "the admin creates the account perf")
    st, _, data = srv.request("POST", "/api/sessions", json.dumps({"name": "gated set"}), auth)
    sid = json.loads(data)["id"]
    srv.request("PATCH", "/api/sessions/" + sid, json.dumps({"listen": "token"}), auth)
    st, _, _ = srv.request("PUT", "/api/sessions/%s/members/perf" % sid, json.dumps({"role": "performer"}), auth)
    t.eq(st, 200, "perf is a performer of a token-only session")

    r = tutti("login", "--server", url, "--user", "perf", stdin="wrong-password\n")
    t.ok(r.returncode == 1 and "wrong account name or password" in r.stderr and not os.path.exists(creds),
         "a wrong password: exit 1, the server's reason, nothing stored", r.stderr)
    r = tutti("login", "--server", url, "--user", "perf", stdin="perf-secret-1\n")
    t.ok(r.returncode == 0 and "logged in to %s as perf" % url in r.stdout, "login with the password on stdin", r.stderr)
    t.ok(os.path.exists(creds) and stat.S_IMODE(os.stat(creds).st_mode) == 0o600
         and stat.S_IMODE(os.stat(os.path.dirname(creds)).st_mode) == 0o700,
         "the credentials file is 0600 in a 0700 directory")
    ls = lines()
    t.ok(len(ls) == 1 and ls[0][0] == url and ls[0][1].startswith("a") and ls[0][2] == "perf",
         "one line: server, account token, account name", ls)
    token = ls[0][1]
    st, _, data = srv.request("GET", "/api/me", None, {"Authorization": "Bearer " + token})
    t.ok(st == 200 and json.loads(data)["account"]["name"] == "perf", "the stored token is perf's")

    pwfile = os.path.join(tmp, "pw")
    with open(pwfile, "w") as f:
        f.write("perf-secret-1\n")
    r = tutti("login", "--server", url + "/", "--user", "perf", "--password-file", pwfile)
    ls = lines()
    t.ok(r.returncode == 0 and len(ls) == 1 and ls[0][1] != token,
         "login again with --password-file (URL with a trailing slash): the line is replaced", ls)
    token = ls[0][1]

    r = tutti("sessions", "--server", url)
    t.ok(r.returncode == 0 and re.search(r"^%s\s+token\s+gated set$" % sid, r.stdout, re.M),
         "tutti sessions lists the session", r.stdout + r.stderr)

    code = os.path.join(tmp, "riff.js")
    with open(code, "w") as f:
        f.write('note("c3 e3").s("sine")\n')
    r = tutti("eval", "--server", url, "--session", sid, code, xdg=other_cfg)
    t.ok(r.returncode != 0 and "not public" in r.stderr, "without a login, eval cannot join the token-only session", r.stderr)
    r = tutti("eval", "--server", url, "--session", sid, code)
    t.ok(r.returncode == 0 and "lands at cycle" in r.stdout, "with the stored login, eval joins and evaluates", r.stdout + r.stderr)
    con = sqlite3.connect(db)
    n = con.execute("SELECT count(*) FROM evaluations WHERE session_id = ?", (sid,)).fetchone()[0]
    con.close()
    t.eq(n, 1, "the evaluation is stored")

    out = os.path.join(tmp, "set.ogg")
    r = tutti("listen", "--server", url, "--session", sid, "--seconds", "1", "-o", out)
    with open(out, "rb") as f:
        head = f.read(4)
    t.ok(r.returncode == 0 and head == b"OggS", "listen records the token-only stream with the stored login", r.stderr)

    r = tutti("logout", "--server", url)
    t.ok(r.returncode == 0 and lines() == [], "logout forgets the token", r.stderr)
    st, _, data = srv.request("GET", "/api/me", None, {"Authorization": "Bearer " + token})
    t.ok(st == 401 and "revoked" in json.loads(data)["error"]["message"], "and the server revoked it")
    r = tutti("logout", "--server", url)
    t.ok(r.returncode == 1 and "not logged in" in r.stderr, "logout when not logged in says so", r.stderr)
    r = tutti("login", "--server", url, "--user", "perf", stdin="")
    t.ok(r.returncode == 1 and "none given" in r.stderr, "an empty password is refused before asking the server", r.stderr)
shutil.rmtree(tmp, ignore_errors=True)
t.done()
