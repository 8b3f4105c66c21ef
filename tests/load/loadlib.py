"""Shared parts of the load tests (tests/load/*.py): performers that edit
and evaluate on a schedule and recover from a lost connection as
docs/protocol.md says, the multi-listener probe (tests/load/listeners),
and samplers of tuttid's /metrics and RSS.

A performer is a thread with one WebSocket connection and two documents:
its own, holding a small valid program it changes one digit at a time and
evaluates every few seconds, and a shared one that every performer edits
at random places at once (never evaluated). Every acknowledgement is kept
as (doc, client_id, seq, rev) so a test can compare them with the
database, and the time from sending an op to its ack is kept for the ack
latency figures."""
import collections
import os
import queue
import random
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import BUILDDIR, WsClient, WsClosed  # noqa: E402
from otclient import Client, make_edit  # noqa: E402

LISTENERS = os.path.join(BUILDDIR, "tests", "load", "listeners")
OGGCHECK = os.path.join(BUILDDIR, "tests", "server", "oggcheck")

# One small program per performer: together a light eight-part piece.
PROGRAMS = [
    's("bd*2 [~ bd] sd [bd hh]").gain(0.%d)',
    's("hh*8").gain(0.%d)',
    'note("<c3 eb3 g3 bb2>*4").s("sawtooth").lpf(900).gain(0.%d)',
    'note("c5 eb5 g5 bb5").s("triangle").slow(2).gain(0.%d)',
    'note("c4 g4").s("sine").gain(0.%d)',
    's("~ sd ~ sd").gain(0.%d)',
    'note("eb4 ~ bb4 ~").s("square").lpf(1200).gain(0.%d)',
    's("bd ~ ~ bd").gain(0.%d)',
]


# Seconds drain() waits for an acknowledgement before it reconnects and resends.
DRAIN_QUIET_S = 10

class TimedClient(Client):
    """otclient's Client that also times each op from send to ack."""

    def __init__(self, ws, doc, client_id):
        super().__init__(ws, doc, client_id)
        self.sent_at = None
        self.latencies = []

    def send_outstanding(self):
        self.sent_at = time.monotonic()
        super().send_outstanding()

    def on_ack(self, msg):
        if self.sent_at is not None:
            self.latencies.append(time.monotonic() - self.sent_at)
            self.sent_at = None
        super().on_ack(msg)


class Performer(threading.Thread):
    """Edits and evaluates until stop() on the server at port_fn(); on a
    lost connection reconnects with a back-off and recovers its documents
    (resend the unacknowledged op with its seq, reopen from the last
    revision, resend when it was not stored)."""

    def __init__(self, idx, port_fn, sid, token, own_doc, shared_doc, seed=0,
                 edit_interval=0.25, eval_interval=3.0, shared_edits=True):
        super().__init__(daemon=True)
        self.idx = idx
        self.port_fn = port_fn
        self.sid, self.token = sid, token
        self.client_id = "load-%d" % idx
        self.rng = random.Random(seed * 1000 + idx)
        self.edit_interval, self.eval_interval = edit_interval, eval_interval
        self.shared_edits = shared_edits
        self.ws = None
        self.docs = {own_doc: TimedClient(None, own_doc, self.client_id)}
        if shared_doc is not None:
            self.docs[shared_doc] = TimedClient(None, shared_doc, self.client_id)
        self.own, self.shared = own_doc, shared_doc
        self.stop_flag = threading.Event()
        self.pause_flag = threading.Event()
        self.errors = []          # unexpected error replies
        self.rate_limited = 0
        self.store_failed = 0
        self.evals = {"sent": 0, "ok": 0, "failed": 0}
        self.eval_latencies = []
        self.eval_sent = {}
        self.reconnects = 0
        self.backlog = []         # messages that came while _call waited
        self.resent = {"stored": 0, "lost": 0}
        self.lock = threading.Lock()
        self.n = 0

    # ---- connection and recovery ----
    def _call(self, ws, obj, timeout=30):
        """Sends obj and returns its reply. What arrives meanwhile is kept
        in self.backlog, handled once recovery is done: while one document
        is being reopened, the ack of an op just sent for another may come
        (dropping it left that op unacknowledged for ever)."""
        ws.send_json(obj)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = ws.recv_json()
            if m.get("id") == obj["id"]:
                return m
            self.backlog.append(m)
        raise WsClosed("no reply to %r" % obj.get("type"))

    def _connect(self):
        ws = WsClient(self.port_fn(), timeout=30)
        if ws.status != 101:
            ws.close()
            raise WsClosed("upgrade answered %s" % ws.status)
        self._call(ws, {"type": "hello", "id": "h", "name": "p%d" % self.idx,
                        "client_id": self.client_id})
        r = self._call(ws, {"type": "join", "id": "j", "session": self.sid, "token": self.token})
        if r.get("type") != "joined":
            raise WsClosed("join: %r" % r)
        return ws

    def open_first(self):
        """Connects and opens both documents (before the thread starts)."""
        self.ws = self._connect()
        for doc, oc in self.docs.items():
            oc.ws = self.ws
            oc.opened(self._call(self.ws, {"type": "doc.open", "id": "o%d" % doc, "doc": doc}))
        self._handle_backlog()

    def _recover(self):
        self.backlog = []
        ws = self._connect()
        for doc, oc in self.docs.items():
            oc.ws = ws
            own_rev = None
            if oc.outstanding is not None:
                op, seq = oc.outstanding
                r = self._call(ws, {"type": "op", "id": "resend-%d" % doc, "doc": doc,
                                    "rev": oc.rev, "op": op, "seq": seq})
                if r.get("type") == "ack":
                    own_rev = r["rev"]
                    self.resent["stored"] += 1
                elif r.get("error", {}).get("code") != "not_open":
                    self.errors.append(r)
            m = self._call(ws, {"type": "doc.open", "id": "reopen-%d" % doc, "doc": doc,
                                "rev": oc.rev})
            if m.get("type") == "doc.snapshot":
                # Too far behind for the window: start again from the text
                # (an unacknowledged op is then sent again on top of it).
                self.errors.append({"note": "resync by snapshot", "doc": doc})
                oc.text, oc.rev = m["text"], m["rev"]
            elif m.get("type") == "doc.ops":
                for k, op in enumerate(m["ops"]):
                    r = m["from"] + 1 + k
                    if r == own_rev:
                        oc.on_ack({"rev": r})
                    else:
                        oc.on_op({"op": op, "rev": r})
            else:
                self.errors.append(m)
            if oc.outstanding is not None and own_rev is None:
                self.resent["lost"] += 1
                oc.send_outstanding()
        self.ws = ws
        self._handle_backlog()

    def _handle_backlog(self):
        """Handles what _call kept, in arrival order; acks among it are
        counted in self.resent["held_acks"]."""
        backlog, self.backlog = self.backlog, []
        for m in backlog:
            if m.get("type") == "ack":
                self.resent["held_acks"] = self.resent.get("held_acks", 0) + 1
            self._handle(m)

    def _reconnect(self):
        if self.ws:
            self.ws.close()
        backoff = 0.1
        while not self.stop_flag.is_set():
            try:
                self._recover()
                self.reconnects += 1
                return True
            except (OSError, WsClosed, ValueError, KeyError):
                time.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
        return False

    # ---- the schedule ----
    def _own_edit(self):
        oc = self.docs[self.own]
        m = re.search(r"gain\(0\.(\d)\)", oc.text)
        if not m:
            return
        d = str(self.rng.choice([x for x in "3456789" if x != m.group(1)]))
        n = len(oc.text.encode("utf-16-le")) // 2
        pos = len(oc.text[:m.start(1)].encode("utf-16-le")) // 2
        oc.edit([x for x in (pos, -1, d, n - pos - 1) if x != 0])

    def _shared_edit(self):
        oc = self.docs[self.shared]
        oc.edit(make_edit(oc.text, self.rng))

    def _handle(self, m):
        t = m.get("type")
        if t == "eval.result":
            sent = self.eval_sent.pop(m.get("id"), None)
            if sent is not None:
                self.eval_latencies.append(time.monotonic() - sent)
            self.evals["ok" if m.get("ok") else "failed"] += 1
            if not m.get("ok"):
                self.errors.append(m)
            return
        if t == "error":
            code = m.get("error", {}).get("code")
            if code == "rate_limited":
                self.rate_limited += 1
            elif code == "store_failed":
                self.store_failed += 1
            else:
                self.errors.append(m)
            return
        doc = m.get("doc")
        if isinstance(doc, int) and doc in self.docs and t in ("ack", "ops"):
            self.docs[doc].handle(m)

    def run(self):
        next_edit = time.monotonic()
        next_eval = time.monotonic() + self.rng.random() * self.eval_interval
        while not self.stop_flag.is_set():
            if self.pause_flag.is_set():
                time.sleep(0.05)
                continue
            try:
                now = time.monotonic()
                if now >= next_edit:
                    if self.shared is not None and self.shared_edits and self.rng.random() < 0.6:
                        self._shared_edit()
                    else:
                        self._own_edit()
                    next_edit = now + self.edit_interval * (0.5 + self.rng.random())
                if now >= next_eval and self.eval_interval > 0:
                    self.n += 1
                    rid = "e%d" % self.n
                    self.eval_sent[rid] = now
                    self.evals["sent"] += 1
                    self.ws.send_json({"type": "eval", "id": rid, "doc": self.own, "quantum": "now"})
                    next_eval = now + self.eval_interval
                self.ws.sock.settimeout(0.05)
                try:
                    while True:
                        self._handle(self.ws.recv_json())
                except socket.timeout:
                    pass
            except (OSError, WsClosed, ValueError) as e:
                if isinstance(e, socket.timeout):
                    continue
                self.eval_sent.clear()
                if not self._reconnect():
                    return

    def drain(self, timeout=60):
        """After stop(): waits until every op is acknowledged (reconnecting
        when needed); True when all are. A client whose op goes
        unacknowledged for DRAIN_QUIET_S reconnects and resends it, as docs/protocol.md says a client recovers (the server answers
        a stored one with its ack); such resends are counted in
        self.resent["quiet"] and reported by the tests."""
        end = time.monotonic() + timeout
        heard = time.monotonic()
        acks = len(self.acked())
        while time.monotonic() < end:
            if all(oc.idle() for oc in self.docs.values()):
                return True
            if len(self.acked()) != acks:
                acks, heard = len(self.acked()), time.monotonic()
            try:
                if time.monotonic() - heard > DRAIN_QUIET_S:
                    self.resent["quiet"] = self.resent.get("quiet", 0) + 1
                    heard = time.monotonic()
                    raise WsClosed("nothing heard for %d s with an op unacknowledged"
                                   % DRAIN_QUIET_S)
                self.ws.sock.settimeout(0.1)
                try:
                    self._handle(self.ws.recv_json())
                except socket.timeout:
                    pass
            except (OSError, WsClosed, ValueError):
                self.stop_flag.clear()
                ok = self._reconnect()
                self.stop_flag.set()
                if not ok:
                    return False
        return all(oc.idle() for oc in self.docs.values())

    def pending(self):
        """{doc: (seq of the op awaiting its ack, whether edits wait behind
        it)} of every document not idle (for reports)."""
        return {doc: (oc.outstanding[1] if oc.outstanding else None, oc.buffer is not None)
                for doc, oc in self.docs.items() if not oc.idle()}

    def pump(self, seconds=0.1):
        """Handles what arrives for a moment (after stop())."""
        try:
            self.ws.sock.settimeout(seconds)
            while True:
                self._handle(self.ws.recv_json())
        except (OSError, WsClosed, ValueError):
            pass

    def stop(self):
        self.stop_flag.set()
        self.join(30)


    def acked(self):
        """[(doc, client_id, seq, rev)] of every acknowledgement."""
        return [(doc, oc.client_id, seq, rev) for doc, oc in self.docs.items()
                for seq, rev in oc.acked]

    def latencies(self):
        return [x for oc in self.docs.values() for x in oc.latencies]


def setup_session(srv_json, ws_factory, n_performers, name="load"):
    """A session with a document per performer (its program) and a shared
    one; returns (sid, token, own_docs, shared_doc)."""
    st, sess = srv_json("POST", "/api/sessions", {"name": name})
    sid, tok = sess["id"], sess["owner_token"]
    ws = ws_factory()
    ws.call({"type": "hello", "id": 0, "name": "setup"})
    ws.call({"type": "join", "id": 1, "session": sid, "token": tok})
    docs = []
    for i in range(n_performers):
        d = ws.call({"type": "doc.create", "id": "c%d" % i, "name": "part%d.js" % i})["doc"]["id"]
        ws.call({"type": "doc.open", "id": "o%d" % i, "doc": d})
        text = PROGRAMS[i % len(PROGRAMS)] % 5
        r = ws.call({"type": "op", "id": "w%d" % i, "doc": d, "rev": 0, "op": [text], "seq": i + 1})
        assert r.get("type") == "ack", r
        docs.append(d)
    shared = ws.call({"type": "doc.create", "id": "cs", "name": "notes.txt"})["doc"]["id"]
    ws.close()
    return sid, tok, docs, shared


def check_acked(db, performers, setup_ops=0):
    """Compares every acknowledgement with the database: returns a dict of
    findings (missing: acked but not stored at that revision; strays:
    stored from a load client but never acknowledged; dup; gaps: docs whose
    revisions do not run 1..N; integrity)."""
    con = sqlite3.connect(db, timeout=30)
    rows = con.execute("SELECT doc_id, revision, client_id, client_seq FROM ops").fetchall()
    integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
    con.close()
    stored = {}
    revs = {}
    dup = 0
    for doc, rev, cid, seq in rows:
        if cid is not None and (doc, cid, seq) in stored:
            dup += 1
        stored[(doc, cid, seq)] = rev
        revs.setdefault(doc, []).append(rev)
    gaps = [d for d, rs in revs.items() if sorted(rs) != list(range(1, len(rs) + 1))]
    acked = {}
    for p in performers:
        for doc, cid, seq, rev in p.acked():
            acked[(doc, cid, seq)] = rev
    missing = [(k, v, stored.get(k)) for k, v in acked.items() if stored.get(k) != v]
    strays = [k for k in stored if k[1] and k[1].startswith("load-") and k not in acked]
    return {"acked": len(acked), "stored": len(rows), "missing": missing, "strays": strays,
            "dup": dup, "gaps": gaps, "integrity": integrity}


def metrics(srv):
    """tuttid's /metrics as a dict of floats ({} when it does not answer)."""
    try:
        st, _, body = srv.request("GET", "/metrics", timeout=5)
    except OSError:
        return {}
    out = {}
    for line in body.decode(errors="replace").splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.partition(" ")
            try:
                out[k] = float(v)
            except ValueError:
                pass
    return out


def steal_ms():
    """CPU time the hypervisor gave to others, all CPUs, since boot (the
    'steal' field of /proc/stat), in ms; None where it cannot be read."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
        return int(fields[8]) * 1000 // os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


# One Sampler reading: seconds since start, tuttid's RSS, /metrics' late and
# rendered blocks, listeners, heap, documents' and SQLite's bytes, and the
# machine's steal time (steal_ms). Any may be None where it cannot be read;
# heap is where /metrics has no tutti_heap_bytes (AddressSanitizer).
Sample = collections.namedtuple("Sample", "t rss_kb late blocks listeners heap docs sqlite steal_ms")


class Sampler(threading.Thread):
    """Every `every` seconds a Sample of tuttid, in self.samples."""

    def __init__(self, srv, every=2.0):
        super().__init__(daemon=True)
        self.srv, self.every = srv, every
        self.samples = []
        self.stop_flag = threading.Event()
        self.t0 = time.monotonic()

    def run(self):
        while not self.stop_flag.wait(self.every):
            m = metrics(self.srv)
            pid = self.srv.proc.pid if self.srv.proc else None
            self.samples.append(Sample(time.monotonic() - self.t0, rss_kb(pid) if pid else None,
                                       m.get("tutti_render_late_blocks_total"),
                                       m.get("tutti_render_blocks_total"), m.get("tutti_listeners"),
                                       m.get("tutti_heap_bytes"), m.get("tutti_docs_memory_bytes"),
                                       m.get("tutti_sqlite_memory_bytes"), steal_ms()))

    def late_intervals(self):
        """The sampling intervals in which render blocks were late:
        (seconds since start, late blocks, ms the hypervisor stole from
        this machine's CPUs in that interval)."""
        out = []
        for a, b in zip(self.samples, self.samples[1:]):
            if a.late is not None and b.late is not None and b.late > a.late:
                stolen = (b.steal_ms - a.steal_ms
                          if a.steal_ms is not None and b.steal_ms is not None else None)
                out.append((round(b.t), int(b.late - a.late), stolen))
        return out

    def stop(self):
        self.stop_flag.set()
        self.join(10)


def run_listeners(port, path, n, seconds, rate=1000, buffer_ms=200, reconnect=False,
                  save=None, save_count=0, save_pages=250):
    """Starts tests/load/listeners; returns the Popen (its stdout is the
    result line: parse it with parse_kv)."""
    cmd = [LISTENERS, "--port", str(port), "--path", path, "--listeners", str(n),
           "--seconds", str(seconds), "--rate", str(rate), "--buffer-ms", str(buffer_ms),
           "--reconnect", "1" if reconnect else "0"]
    if save:
        cmd += ["--save", save, "--save-count", str(save_count), "--save-pages", str(save_pages)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def parse_kv(line):
    out = {}
    for part in line.split():
        k, _, v = part.partition("=")
        try:
            out[k] = float(v) if "." in v else int(v)
        except ValueError:
            out[k] = v
    return out


def decodes(path, min_windows=50):
    """True when oggcheck (libopusfile) decodes the file into at least
    min_windows 20 ms windows."""
    p = subprocess.run([OGGCHECK, "ogg", path], capture_output=True, text=True)
    return p.returncode == 0 and len(p.stdout.splitlines()) >= min_windows


def percentile(xs, q):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def settle(performers, timeout=30):
    """After every performer drained: lets their connections deliver the
    last ops until everyone holding a document is at the same revision."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        revs = {}
        for p in performers:
            for doc, oc in p.docs.items():
                revs.setdefault(doc, set()).add(oc.rev)
        if all(len(v) == 1 for v in revs.values()):
            return True
        for p in performers:
            p.pump(0.05)
    return False
