"""TLS in tuttid (--tls-cert/--tls-key, server/tls.c) with real clients.

The test makes a self-signed certificate for "localhost" with openssl,
starts tuttid with it and checks: curl --cacert reaches /api/health and
the session API (and refuses the server without the CA); Node's `ws`
joins a session over wss://, edits and evaluates while a second Node
client sees the edit; /s/ID/live.ogg read over TLS decodes to the 440 Hz
that was evaluated; plain HTTP to the TLS port gets a 400 saying so and
the server keeps serving; openssl s_client with TLS 1.1 or a non-AEAD
suite is refused while TLS 1.2 with ECDHE and AES-GCM is accepted; the
`tutti` CLI over wss:// and https:// with --cacert works, without it is
refused unless --insecure; TT_MAX_TLS_CONNECTIONS at N and N+1, and
TT_TLS_HANDSHAKE_TIMEOUT_MS ends connections that never handshake
(slowloris); missing, unparsable and mismatched certificate or key make
tuttid exit with a message that names the file."""
import json
import os
import re
import resource
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, TUTTID, TUTTI, BUILDDIR, SRCDIR, limit, recv_all  # noqa: E402

OGGCHECK = os.path.join(BUILDDIR, "tests", "server", "oggcheck")
TLS_WS = os.path.join(SRCDIR, "tests", "server", "tls_ws.mjs")
CODE = 'note("a4").s("sine")'

MAX_TLS = limit("TT_MAX_TLS_CONNECTIONS")
HANDSHAKE_MS = limit("TT_TLS_HANDSHAKE_TIMEOUT_MS")

t = Tap()
tmp = tempfile.mkdtemp(prefix="tutti-tls-")
# The limit test holds TT_MAX_TLS_CONNECTIONS + 1 sockets; tuttid
# inherits this limit too.
resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))


def sh(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=60, **kw)


def make_pair(name, cn="localhost"):
    key, cert = os.path.join(tmp, name + ".key"), os.path.join(tmp, name + ".pem")
    p = sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + cn,
            "-addext", "subjectAltName=DNS:" + cn])
    if p.returncode != 0:
        raise RuntimeError("openssl req failed: " + p.stderr)
    return cert, key


class TlsServer(Server):
    """tuttid with TLS: the port comes from its 'listening on https://' line."""

    def start(self, timeout=10):
        cmd = [TUTTID, "--listen", "127.0.0.1:0", "--db", self.db, "--web", self.web,
               "--log-level", "debug"] + self.args
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        found = threading.Event()

        def read():
            for line in self.proc.stderr:
                self.log.append(line.rstrip("\n"))
                m = re.search(r"listening on https://127\.0\.0\.1:(\d+)/", line)
                if m and not found.is_set():
                    self.port = int(m.group(1))
                    found.set()
            found.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        found.wait(timeout)
        if self.port is None:
            self.stop()
            raise RuntimeError("tuttid did not start:\n" + "\n".join(self.log[-20:]))
        return self


def start_fails(args):
    """Runs tuttid expecting it to refuse to start; returns (rc, stderr)."""
    p = subprocess.run([TUTTID, "--listen", "127.0.0.1:0", "--db", os.path.join(tmp, "bad.db"),
                        "--no-demo"] + args, capture_output=True, text=True, timeout=20)
    return p.returncode, p.stderr


cert, key = make_pair("server")
other_cert, other_key = make_pair("other")

# ---- start-up errors ----
rc, err = start_fails(["--tls-cert", os.path.join(tmp, "missing.pem"), "--tls-key", key])
t.ok(rc != 0 and "missing.pem: No such file or directory" in err,
     "a missing certificate: tuttid exits naming the file and why", err[-300:])
garbage = os.path.join(tmp, "garbage.pem")
with open(garbage, "w") as f:
    f.write("this is not a certificate\n")
rc, err = start_fails(["--tls-cert", garbage, "--tls-key", key])
t.ok(rc != 0 and "garbage.pem: not a PEM or DER certificate" in err,
     "an unparsable certificate: tuttid exits saying so", err[-300:])
rc, err = start_fails(["--tls-cert", cert, "--tls-key", garbage])
t.ok(rc != 0 and "--tls-key %s: not an unencrypted PEM or DER private key" % garbage in err,
     "an unparsable key: tuttid exits saying so", err[-300:])
rc, err = start_fails(["--tls-cert", cert, "--tls-key", other_key])
t.ok(rc != 0 and "does not belong to the certificate" in err,
     "a key that is not the certificate's: tuttid exits saying so", err[-300:])
rc, err = start_fails(["--tls-cert", cert])
t.ok(rc != 0 and "--tls-key is missing" in err, "--tls-cert without --tls-key is refused", err[-300:])

srv = TlsServer(tmpdir=tmp, args=["--tls-cert", cert, "--tls-key", key]).start()
base = "https://localhost:%d" % srv.port


def curl(path, *extra):
    p = sh(["curl", "-sS", "--max-time", "20", "--cacert", cert, "-w", "\n%{http_code}"]
           + list(extra) + [base + path])
    body, _, code = p.stdout.rpartition("\n")
    return p.returncode, code, body, p.stderr


# ---- curl ----
rc, code, body, err = curl("/api/health")
t.ok(rc == 0 and code == "200" and '"version"' in body,
     "curl --cacert: GET /api/health over TLS answers 200", (rc, code, body[:200], err))
rc, code, body, err = curl("/api/sessions", "-X", "POST", "-H", "Content-Type: application/json",
                           "-d", '{"name": "over tls"}')
sess = json.loads(body) if rc == 0 and code in ("200", "201") else {}
sid, tok = sess.get("id"), sess.get("owner_token")
t.ok(sid and tok, "curl: POST /api/sessions over TLS creates a session", (rc, code, body[:200], err))
rc, code, body, err = curl("/api/sessions/%s" % sid)
t.ok(rc == 0 and code == "200" and "over tls" in body, "curl: GET /api/sessions/ID over TLS",
     (rc, code, body[:200]))
p = sh(["curl", "-sS", "--max-time", "20", base + "/api/health"])
t.ok(p.returncode == 60, "curl without the CA refuses the self-signed certificate (exit 60)",
     (p.returncode, p.stderr))
p = sh(["curl", "-sS", "-o", "/dev/null", "--max-time", "20", "--cacert", cert, "-w",
        "%{ssl_verify_result} %{http_version}", base + "/api/health", "-v"])
t.ok(p.returncode == 0 and "TLSv1.2" in p.stderr and
     re.search(r"ECDHE-ECDSA-(AES128-GCM-SHA256|AES256-GCM-SHA384|CHACHA20-POLY1305)", p.stderr),
     "curl's default offer settles on TLS 1.2 with ECDHE and an AEAD cipher",
     [l for l in p.stderr.splitlines() if "SSL" in l or "TLS" in l][:6])

# ---- plain HTTP to the TLS port ----
s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
s.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
answer = b""
try:
    while True:
        d = s.recv(4096)
        if not d:
            break
        answer += d
except OSError:
    pass
s.close()
t.ok(answer.startswith(b"HTTP/1.1 400") and b"tls_required" in answer and b"use https://" in answer,
     "plain HTTP to the TLS port is answered 400 saying to use https", answer[:300])
s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
s.sendall(b"\x00\x01garbage that is no TLS record\r\n\r\n")
try:
    closed = s.recv(4096) == b""
except OSError:
    closed = True
s.close()
t.ok(closed, "garbage instead of a ClientHello: the connection is closed")
rc, code, body, err = curl("/api/health")
t.ok(rc == 0 and code == "200", "the server still serves over TLS afterwards", (rc, code, err))

# ---- protocol versions and suites (openssl s_client) ----


def s_client(*args):
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % srv.port,
                        "-servername", "localhost", "-CAfile", cert] + list(args),
                       input="", capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


rc, out = s_client("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256")
t.ok(rc == 0 and "Protocol  : TLSv1.2" in out and "ECDHE-ECDSA-AES128-GCM-SHA256" in out and
     "Verify return code: 0" in out, "s_client -tls1_2 with ECDHE-ECDSA-AES128-GCM-SHA256 connects",
     out[-600:])
rc, out = s_client("-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305")
t.ok(rc == 0 and "ECDHE-ECDSA-CHACHA20-POLY1305" in out, "ChaCha20-Poly1305 is offered too", out[-400:])

# Each way a record is sealed, with a body of many records (a 500 kB
# script; curl reads it while the server's socket fills): AES-128-GCM and
# AES-256-GCM by server/tls_gcm.c where the processor has AES-NI and
# PCLMULQDQ (the log says so), ChaCha20-Poly1305 by mbedTLS.
with open(os.path.join(SRCDIR, "clients", "web", "dist", "perform.js"), "rb") as f:
    big = f.read()
for suite, mbed in (("ECDHE-ECDSA-AES128-GCM-SHA256", "AES-128-GCM"),
                    ("ECDHE-ECDSA-AES256-GCM-SHA384", "AES-256-GCM"),
                    ("ECDHE-ECDSA-CHACHA20-POLY1305", "CHACHA20-POLY1305")):
    seen = len(srv.log)
    out = os.path.join(tmp, "big-%s.js" % mbed)
    p = sh(["curl", "-sS", "--max-time", "30", "--cacert", cert, "--tls-max", "1.2", "--ciphers",
            suite, "--limit-rate", "2M", "-o", out, base + "/perform.js"])
    with open(out, "rb") as f:
        got = f.read() if p.returncode == 0 else b""
    done = [l for l in srv.log[seen:] if "handshake done" in l]
    fast = bool(done) and "sealed by tls_gcm" in done[-1]
    t.ok(got == big and done and mbed in done[-1],
         "%s: a %d kB body arrives whole over TLS (records sealed by %s)"
         % (mbed, len(big) // 1000, "tls_gcm" if fast else "mbedTLS"), (p.stderr[-300:], done[-1:]))
    if mbed != "CHACHA20-POLY1305":
        t.ok(fast == (open("/proc/cpuinfo").read().find(" pclmulqdq") >= 0 and
                      open("/proc/cpuinfo").read().find(" aes") >= 0),
             "%s is sealed by tls_gcm exactly when the processor has AES-NI and PCLMULQDQ" % mbed,
             done[-1:])

# SECLEVEL=0: openssl 3 would not even offer TLS 1.1 otherwise, and the
# refusal must be the server's.
rc, out = s_client("-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0")
t.ok(rc != 0 and "Cipher is (NONE)" in out and "alert" in out,
     "a TLS 1.1 client is refused by the server (alert)", out[-600:])
for suite in ("ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA", "AES128-GCM-SHA256"):
    rc, out = s_client("-tls1_2", "-cipher", suite)
    t.ok(rc != 0 and "Cipher is (NONE)" in out, "a client offering only %s is refused" % suite,
         out[-400:])

# ---- WebSocket over TLS with Node's ws ----
p = subprocess.run(["node", TLS_WS, str(srv.port), cert, sid or "", tok or "", CODE],
                   capture_output=True, text=True, timeout=60, cwd=os.path.join(SRCDIR, "tests"))
try:
    ws = json.loads(p.stdout.strip().splitlines()[-1])
except (ValueError, IndexError):
    ws = {"stdout": p.stdout[-300:], "stderr": p.stderr[-300:]}
t.ok(ws.get("connected") and ws.get("protocol") == "TLSv1.2" and ws.get("joined") == "joined",
     "Node ws: two clients connect over wss:// (TLS 1.2) and join the session", ws)
t.ok(ws.get("ack") == "ack" and ws.get("remote_text") == CODE,
     "Node ws: an edit is acknowledged and the other client receives it", ws)
t.ok(ws.get("eval_ok") is True, "Node ws: the document is evaluated over TLS", ws)
t.ok("SELF_SIGNED" in str(ws.get("untrusted", "")).upper(),
     "Node ws without the CA refuses the certificate", ws.get("untrusted"))

# ---- the Ogg stream over TLS ----


def listen_tls(path, seconds):
    ctx = ssl.create_default_context(cafile=cert)
    raw = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % path).encode())
    data = b""
    end = time.time() + seconds
    while time.time() < end:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        data += d
    s.close()
    return data


def dechunk(body):
    out, i = b"", 0
    while True:
        j = body.find(b"\r\n", i)
        if j < 0:
            return out
        n = int(body[i:j].split(b";")[0] or b"0", 16)
        if n == 0 or j + 2 + n > len(body):
            return out + body[j + 2:j + 2 + n]
        out += body[j + 2:j + 2 + n]
        i = j + 2 + n + 2


def decode(data):
    path = os.path.join(tmp, "stream.ogg")
    with open(path, "wb") as f:
        f.write(data)
    p = subprocess.run([OGGCHECK, "ogg", path], capture_output=True, text=True)
    return [json.loads(l) for l in p.stdout.splitlines()] if p.returncode == 0 else None


raw = listen_tls("/s/%s/live.ogg" % sid, 3.0)
head, _, body = raw.partition(b"\r\n\r\n")
wins = decode(dechunk(body) if b"chunked" in head.lower() else body) or []
t.ok(head.startswith(b"HTTP/1.1 200") and len(wins) > 50 and
     sum(1 for w in wins if abs(w["freq"] - 440) < 3) > 20,
     "live.ogg over TLS decodes, with the evaluated 440 Hz in it (%d windows)" % len(wins),
     (head[:200], len(body)))

# ---- the tutti CLI ----
wss = "wss://localhost:%d" % srv.port
code_file = os.path.join(tmp, "tone.js")
with open(code_file, "w") as f:
    f.write(CODE + "\n")
p = sh([TUTTI, "eval", "--server", wss, "--session", sid, "--token", tok, "--cacert", cert, code_file])
t.ok(p.returncode == 0 and "lands at cycle" in p.stdout + p.stderr,
     "tutti eval --server wss:// --cacert evaluates over TLS", p.stdout + p.stderr)
p = sh([TUTTI, "eval", "--server", wss, "--session", sid, "--token", tok, code_file])
t.ok(p.returncode != 0 and "not signed by a CA in /etc/ssl/certs/ca-certificates.crt" in p.stderr,
     "without --cacert the CLI refuses the self-signed certificate, saying why", p.stderr)
p = sh([TUTTI, "eval", "--insecure", "--server", wss, "--session", sid, "--token", tok, code_file])
t.ok(p.returncode == 0, "with --insecure it connects anyway", p.stderr)
p = sh([TUTTI, "eval", "--server", wss, "--session", sid, "--token", tok, "--cacert", other_cert,
        code_file])
t.ok(p.returncode != 0 and "not signed by a CA" in p.stderr,
     "a --cacert that did not sign the server's certificate is refused", p.stderr)
# The certificate names localhost only.
p = sh([TUTTI, "eval", "--server", "wss://127.0.0.1:%d" % srv.port, "--session", sid, "--token", tok,
        "--cacert", cert, code_file])
t.ok(p.returncode != 0 and "is not for '127.0.0.1'" in p.stderr,
     "a host name the certificate does not name is refused", p.stderr)
heard = os.path.join(tmp, "heard.ogg")
p = sh([TUTTI, "listen", "--server", "https://localhost:%d" % srv.port, "--cacert=" + cert,
        "--session", sid, "--seconds", "2.5", "-o", heard])
d = subprocess.run([OGGCHECK, "ogg", heard], capture_output=True, text=True)
t.ok(p.returncode == 0 and d.returncode == 0 and
     any(abs(json.loads(l)["freq"] - 440) < 3 for l in d.stdout.splitlines()),
     "tutti listen --server https:// records a decodable stream over TLS", p.stderr + d.stderr)

# ---- TT_MAX_TLS_CONNECTIONS at N and N+1; the handshake timeout ----


def tls_exchange(path, ctx=None, session=None, timeout=15):
    """GET path on a fresh TLS connection (ctx: a default one trusting the
    test's certificate; session: one to resume): (status line, body, the
    session, whether it was resumed). Raises on errors."""
    ctx = ctx or ssl.create_default_context(cafile=cert)
    raw = socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)
    s = ctx.wrap_socket(raw, server_hostname="localhost", session=session)
    s.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
              % path.encode())
    data = recv_all(s)
    sess, reused = s.session, s.session_reused
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0].decode(), body, sess, reused


def tls_get(path, timeout=15):
    """A full TLS request on a fresh connection: (status line, body), or
    ("error: ...", b"")."""
    try:
        return tls_exchange(path, timeout=timeout)[:2]
    except (OSError, ssl.SSLError) as e:
        return "error: %r" % e, b""


def tls_health(timeout=15):
    return tls_get("/api/health", timeout)[0]


def tls_metric(name):
    """A /metrics value read over TLS (None when it cannot be read)."""
    body = tls_get("/metrics")[1].decode(errors="replace")
    m = re.search(r"^%s (\d+)" % name, body, re.M)
    return int(m.group(1)) if m else None


# The earlier clients' connections must be gone before the table is
# filled: the one reading /metrics is then the only one.
end = time.time() + 30
while time.time() < end and tls_metric("tutti_tls_connections") != 1:
    time.sleep(0.2)
t.eq(tls_metric("tutti_tls_connections"), 1,
     "tutti_tls_connections counts the TLS front's connections (only the asking one now)")
refused0 = tls_metric("tutti_tls_refused_total")


# N-1 connections that never say anything (a slowloris), then the Nth,
# a real client, then the N+1th. The front accepts in arrival order.
idle = []
for i in range(MAX_TLS - 1):
    idle.append(socket.create_connection(("127.0.0.1", srv.port), timeout=30))
nth = tls_health()
t.ok(nth == "HTTP/1.1 200 OK",
     "with %d connections open, connection N = TT_MAX_TLS_CONNECTIONS is served" % (MAX_TLS - 1),
     nth if nth.startswith("HTTP") else "%s; refused so far %s" % (nth, refused0))
# The Nth has gone again: one more idle connection fills the table.
idle.append(socket.create_connection(("127.0.0.1", srv.port), timeout=30))
over = tls_health()
t.ok(over.startswith("error"), "connection N+1 is closed at once (TT_MAX_TLS_CONNECTIONS)", over)
t.ok(srv.wait_log("TT_MAX_TLS_CONNECTIONS"), "the server logs that it refused some")
# Slowloris: the server ends each of them after TT_TLS_HANDSHAKE_TIMEOUT_MS.
ended = 0
deadline = time.time() + HANDSHAKE_MS / 1000.0 + 20
for s in idle[:50]:
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        if s.recv(1) == b"":
            ended += 1
    except ConnectionResetError:
        ended += 1
    except OSError:
        pass
t.ok(ended == 50, "connections that never handshake are closed by the server "
     "(TT_TLS_HANDSHAKE_TIMEOUT_MS; %d of 50 seen)" % ended)
for s in idle:
    s.close()
again = tls_health()
t.ok(again == "HTTP/1.1 200 OK", "after they are gone a new TLS client is served", again)

# A slow reader with a small receive buffer and a body larger than the
# kernel's largest send buffer (tcp_wmem, 4 MB): TCP must take sealed
# records in part, and the rest waits in the connection (server/tls.c,
# fast_buf) to go before anything else. The body: 20 s of the session
# rendered again as 32-bit float WAV (7.7 MB), read slowly over
# AES-128-GCM and at full speed over ChaCha20-Poly1305 (mbedTLS); the two
# must be the same bytes, Content-Length of them.
span = "/api/sessions/%s/render.wav?from=0&to=20&bits=32f&t=%s" % (sid, tok)
end = time.time() + 40
while time.time() < end:
    st, _ = tls_get("/api/sessions/%s/render.wav?from=0&to=20&bits=16&t=%s" % (sid, tok))
    if st.startswith("HTTP/1.1 200"):
        break
    time.sleep(1)   # the session has not played 20 s yet
ref = os.path.join(tmp, "render-ref.wav")
p = sh(["curl", "-sS", "--max-time", "60", "--cacert", cert, "--tls-max", "1.2", "--ciphers",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "-o", ref, base + span])
with open(ref, "rb") as f:
    want = f.read() if p.returncode == 0 else b""
ctx = ssl.create_default_context(cafile=cert)
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
raw = socket.socket()
raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
raw.settimeout(60)
raw.connect(("127.0.0.1", srv.port))
slow = ctx.wrap_socket(raw, server_hostname="localhost")
slow.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % span.encode())
data = []
try:
    while True:
        d = slow.recv(16384)
        if not d:
            break
        data.append(d)
        time.sleep(0.001)
except (OSError, ssl.SSLError) as e:
    data.append(b"\n[%r]" % e)
slow.close()
head, _, body = b"".join(data).partition(b"\r\n\r\n")
clen = re.search(rb"(?i)content-length: (\d+)", head)
t.ok(len(want) > 5000000 and body == want and clen and int(clen.group(1)) == len(body),
     "a slow reader with a 4 kB receive buffer gets a %.1f MB body intact over AES-128-GCM, "
     "the same bytes as over ChaCha20-Poly1305" % (len(want) / 1e6),
     (p.stderr[-200:], head[:200], len(body), len(want)))

# Session tickets: a client that comes back resumes its session without
# a key exchange, over both suites (AES-128-GCM is sealed by the fast path,
# whose keys must come from the resumed handshake too), and gets the same
# answer; tutti_tls_resumed_total counts it.
resumed0 = tls_metric("tutti_tls_resumed_total")
for suite in ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"):
    ctx = ssl.create_default_context(cafile=cert)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(suite)
    try:
        st1, _, sess, reused1 = tls_exchange("/api/health", ctx)
        st2, _, _, reused2 = tls_exchange("/api/health", ctx, sess)
        st3, _, _, reused3 = tls_exchange("/api/health")
    except (OSError, ssl.SSLError) as e:
        st1 = st2 = st3 = "error: %r" % e
        sess = reused1 = reused2 = reused3 = None
    t.ok(st1 == "HTTP/1.1 200 OK" and not reused1 and sess is not None and sess.has_ticket,
         "%s: a full handshake hands the client a session ticket" % suite, (st1, reused1))
    t.ok(st2 == "HTTP/1.1 200 OK" and reused2 is True,
         "%s: the client comes back with it: the session is resumed and served" % suite,
         (st2, reused2))
    t.ok(st3 == "HTTP/1.1 200 OK" and reused3 is False,
         "%s: a client without the ticket gets a full handshake" % suite, (st3, reused3))
resumed = tls_metric("tutti_tls_resumed_total")
t.ok(resumed0 is not None and resumed == resumed0 + 2,
     "tutti_tls_resumed_total counts the two resumptions (%s then %s)" % (resumed0, resumed))

refused = tls_metric("tutti_tls_refused_total")
t.ok(refused0 is not None and refused is not None and refused >= refused0 + 1,
     "tutti_tls_refused_total counts the refused connection (%s then %s)" % (refused0, refused))

rc = srv.stop()
t.ok(rc == 0 and any("stopped cleanly" in l for l in srv.log), "SIGTERM stops the TLS server cleanly",
     srv.log[-5:])
shutil.rmtree(tmp, ignore_errors=True)
t.done()
