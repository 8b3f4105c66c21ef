"""Shared helpers for tutti's integration tests (python3 stdlib only).

Starts the real tuttid on a free loopback port with a temporary database,
speaks HTTP and WebSocket to it, and reports TAP. Every test script does:

    from tuttitest import Tap, Server
    t = Tap()
    with Server() as srv:
        t.ok(srv.get("/api/health")[0] == 200, "health answers")
    t.done()
"""
import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

BUILDDIR = os.environ.get("TT_BUILDDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "build"))
SRCDIR = os.environ.get("TT_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
TUTTID = os.path.join(BUILDDIR, "server", "tuttid")
TUTTI = os.path.join(BUILDDIR, "clients", "cli", "tutti")


def limit(name):
    """The value of a limit in common/limits.h: an integer, or a product of
    integers such as (64 * 1024 * 1024)."""
    with open(os.path.join(SRCDIR, "common", "limits.h")) as f:
        m = re.search(r"^#define %s \(?([0-9][0-9 *]*)\)?\s*$" % name, f.read(), re.M)
    if not m:
        raise KeyError(name)
    value = 1
    for factor in m.group(1).split("*"):
        value *= int(factor)
    return value


class Tap:
    """TAP output; failures print diagnostics but never stop the script."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, name), flush=True)
        if not cond and diag is not None:
            for line in str(diag).splitlines()[:20]:
                print("#   " + line, flush=True)
        return bool(cond)

    def eq(self, got, want, name):
        return self.ok(got == want, name, "got  %r\nwant %r" % (got, want))

    def diag(self, msg):
        print("# " + msg, flush=True)

    def done(self):
        print("1..%d" % self.n, flush=True)
        sys.exit(1 if self.failed else 0)


class Server:
    """A real tuttid on 127.0.0.1 with port 0 (the kernel picks a free one);
    the port is read from its 'listening on' log line."""

    def __init__(self, args=(), db=None, tmpdir=None, web=None, demo=False):
        self.own_tmp = tmpdir is None
        self.tmp = tmpdir or tempfile.mkdtemp(prefix="tutti-test-")
        self.db = db or os.path.join(self.tmp, "tutti.db")
        self.web = web or os.path.join(SRCDIR, "clients", "web", "dist")
        self.args = list(args) + ([] if demo else ["--no-demo"])
        self.proc = None
        self.port = None
        self.log = []
        self._reader = None

    def start(self, timeout=10):
        cmd = [TUTTID, "--listen", "127.0.0.1:0", "--db", self.db, "--web", self.web,
               "--log-level", "debug"] + self.args
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        found = threading.Event()

        def read():
            for line in self.proc.stderr:
                self.log.append(line.rstrip("\n"))
                m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", line)
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

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def under_asan(self):
        """True when the running tuttid has AddressSanitizer built in
        (--enable-sanitizers: gcc links libasan)."""
        with open("/proc/%d/maps" % self.proc.pid) as f:
            return any("libasan" in l for l in f)

    def wait_log(self, match, timeout=10):
        """True once a line of the log contains match (a str) or satisfies
        it (a callable). The log is read by a thread of its own, so what
        tuttid wrote just before a client saw its effect may not be here
        yet when the test looks."""
        test = match if callable(match) else (lambda l: match in l)
        end = time.time() + timeout
        while True:
            if any(test(l) for l in list(self.log)):
                return True
            if time.time() >= end or not self.alive():
                return any(test(l) for l in list(self.log))
            time.sleep(0.05)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Stops tuttid; returns its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._reader:
            self._reader.join(2)
        rc = self.proc.returncode
        self.proc = None
        # Under --enable-sanitizers a report must fail the test, whatever
        # the test itself checked.
        bad = [i for i, l in enumerate(self.log) if "AddressSanitizer" in l or
               "LeakSanitizer" in l or "runtime error:" in l]
        if bad:
            # The whole report from its first line: the stacks say where.
            raise RuntimeError("tuttid reported a sanitizer error:\n" +
                               "\n".join(self.log[bad[0]:bad[0] + 80]))
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if self.own_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- HTTP ----
    def request(self, method, path, body=None, headers=None, timeout=10):
        """Returns (status, headers dict (lower-case), body bytes)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, hdrs, data

    def raw(self, data, timeout=10):
        """Sends raw bytes (tolerating the server closing early, as it does
        after refusing an oversized body) and returns all it answers."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        try:
            sock.sendall(data)
        except OSError:
            pass
        resp = b""
        try:
            while True:
                d = sock.recv(65536)
                if not d:
                    break
                resp += d
        except OSError:
            pass
        sock.close()
        return resp

    def get(self, path):
        return self.request("GET", path)

    def json(self, method, path, body=None):
        """Returns (status, parsed JSON body or None)."""
        st, _, data = self.request(method, path, body,
                                   {"Content-Type": "application/json"} if body is not None else None)
        try:
            return st, json.loads(data)
        except ValueError:
            return st, None

    def ws(self, **kw):
        return WsClient(self.port, **kw)


# ---- A raw WebSocket client, so tests can also send what no library would ----

def ws_frame(opcode, payload=b"", fin=True, mask=True, rsv=0, length=None):
    """One client frame; length overrides the encoded payload length."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    m = 0x80 if mask else 0
    if n < 126:
        hdr = struct.pack("!BB", b0, m | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", b0, m | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, m | 127, n)
    if not mask:
        return hdr + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload)) if len(payload) < 4096 \
        else _mask_fast(payload, key)
    return hdr + key + masked


def _mask_fast(payload, key):
    n = len(payload)
    k = int.from_bytes(key * ((n + 3) // 4), "little")
    p = int.from_bytes(payload, "little")
    return (p ^ (k & ((1 << (8 * n)) - 1))).to_bytes(n, "little")


class WsClosed(Exception):
    pass


def recv_all(sock):
    """What sock receives until the peer closes (errors are the caller's)."""
    data = b""
    while True:
        d = sock.recv(65536)
        if not d:
            return data
        data += d


def read_into(ws, q):
    """Starts a thread that puts every JSON message of ws into queue q, then
    None when the connection ends; returns q."""
    def run():
        try:
            while True:
                q.put(ws.recv_json())
        except (WsClosed, OSError, ValueError):
            q.put(None)
    threading.Thread(target=run, daemon=True).start()
    return q


class WsClient:
    def __init__(self, port, path="/ws", headers=None, timeout=10, handshake=True):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.status = None
        self.response_headers = {}
        if handshake:
            self.key = base64.b64encode(os.urandom(16)).decode()
            hdrs = {"Host": "127.0.0.1:%d" % port, "Upgrade": "websocket",
                    "Connection": "Upgrade", "Sec-WebSocket-Key": self.key,
                    "Sec-WebSocket-Version": "13"}
            hdrs.update(headers or {})
            req = "GET %s HTTP/1.1\r\n" % path + "".join(
                "%s: %s\r\n" % (k, v) for k, v in hdrs.items() if v is not None) + "\r\n"
            self.sock.sendall(req.encode())
            self._read_response()

    def _read_response(self):
        while b"\r\n\r\n" not in self.buf:
            d = self.sock.recv(4096)
            if not d:
                raise WsClosed("closed during handshake")
            self.buf += d
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        for l in lines[1:]:
            k, v = l.split(":", 1)
            self.response_headers[k.strip().lower()] = v.strip()
        if self.status != 101:
            n = int(self.response_headers.get("content-length", "0"))
            while len(self.buf) < n:
                d = self.sock.recv(4096)
                if not d:
                    break
                self.buf += d
            self.body = self.buf[:n]

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, opcode, payload=b"", **kw):
        self.sock.sendall(ws_frame(opcode, payload, **kw))

    def send_text(self, s):
        self.send(1, s.encode() if isinstance(s, str) else s)

    def send_json(self, obj):
        self.send_text(json.dumps(obj))

    def _need(self, n):
        while len(self.buf) < n:
            d = self.sock.recv(65536)
            if not d:
                raise WsClosed("connection closed by server")
            self.buf += d

    def recv_frame(self):
        """Returns (fin, opcode, payload) of the next server frame."""
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        if b1 & 0x80:
            raise AssertionError("server frame is masked")
        n = b1 & 0x7F
        off = 2
        if n == 126:
            self._need(4)
            n = struct.unpack("!H", self.buf[2:4])[0]
            off = 4
        elif n == 127:
            self._need(10)
            n = struct.unpack("!Q", self.buf[2:10])[0]
            off = 10
        self._need(off + n)
        payload = self.buf[off:off + n]
        self.buf = self.buf[off + n:]
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def recv_message(self):
        """Next data message as (opcode, payload), answering nothing; control
        frames other than close are returned too, as their own message."""
        fin, op, payload = self.recv_frame()
        while not fin:
            fin, _, more = self.recv_frame()
            payload += more
        return op, payload

    def recv_json(self):
        while True:
            op, payload = self.recv_message()
            if op == 1:
                return json.loads(payload)
            if op == 8:
                raise WsClosed("close frame: %r" % payload)

    def request(self, obj):
        """Sends obj and returns the next message (for exchanges where
        nothing else can arrive in between)."""
        self.send_json(obj)
        return self.recv_json()

    def call(self, obj):
        """Sends obj (which has an id) and returns the reply with that id,
        skipping messages the server sends meanwhile."""
        self.send_json(obj)
        while True:
            m = self.recv_json()
            if m.get("id") == obj["id"]:
                return m

    def expect_close(self):
        """Reads until a close frame; returns (code, reason) or (None, '')
        when the TCP connection ends without one."""
        try:
            while True:
                op, payload = self.recv_message()
                if op == 8:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                    return code, payload[2:].decode(errors="replace")
        except (WsClosed, ConnectionResetError, socket.timeout):
            return None, ""

    def eof(self, timeout=5):
        """True when the server closes the TCP connection within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
