"""A userspace TCP proxy on loopback that delays, jitters and stalls what
passes through it, for tests/load/chaos.py when the kernel has no netem
(tc qdisc ... netem: "Specified qdisc kind is unknown").

Every chunk read from one side is forwarded to the other after
delay_ms + uniform(0, jitter_ms), never before the chunk read before it
(TCP keeps order, so jitter cannot reorder bytes; it bunches them), and
not while a stall is on (stall(seconds) holds both directions). Packet
loss cannot be shown this way: TCP below the proxy has already recovered
every lost segment before the proxy sees the bytes; only the delay a
retransmission causes can be imitated, which is what a stall does."""
import random
import socket
import threading
import time


class NetProxy:
    def __init__(self, upstream_port, delay_ms=40, jitter_ms=30, seed=5):
        self.up = upstream_port
        self.delay, self.jitter = delay_ms / 1000.0, jitter_ms / 1000.0
        self.rng = random.Random(seed)
        self.stall_until = 0.0
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(128)
        self.port = self.lsock.getsockname()[1]
        self.closed = False
        self.conns = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def stall(self, seconds):
        self.stall_until = time.monotonic() + seconds

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.up), timeout=10)
                u.settimeout(None)
            except OSError:
                c.close()
                continue
            self.conns += 1
            for a, b in ((c, u), (u, c)):
                self._pipe(a, b)

    def _pipe(self, src, dst):
        q = []
        cv = threading.Condition()
        done = [False]

        def reader():
            last = 0.0
            while True:
                try:
                    d = src.recv(65536)
                except OSError:
                    d = b""
                with self.lock:
                    due = time.monotonic() + self.delay + self.rng.random() * self.jitter
                due = max(due, last)
                last = due
                with cv:
                    q.append((due, d))
                    cv.notify()
                if not d:
                    return

        def writer():
            while True:
                with cv:
                    while not q:
                        cv.wait()
                    due, d = q.pop(0)
                while True:
                    wait = max(due, self.stall_until) - time.monotonic()
                    if wait <= 0:
                        break
                    time.sleep(min(wait, 0.05))
                if not d:
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    return
                try:
                    dst.sendall(d)
                except OSError:
                    try:
                        src.close()
                    except OSError:
                        pass
                    return

        threading.Thread(target=reader, daemon=True).start()
        threading.Thread(target=writer, daemon=True).start()

    def close(self):
        self.closed = True
        self.lsock.close()


def netem_available():
    """True when tc's netem qdisc can be used in a fresh network namespace
    (the kernel module sch_netem is present): the test then uses netem on
    the namespace's loopback instead of this proxy."""
    import subprocess
    ns = "tutti-netem-probe-%d" % random.randrange(1 << 30)
    try:
        if subprocess.run(["ip", "netns", "add", ns], capture_output=True).returncode != 0:
            return False
        r = subprocess.run(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root",
                            "netem", "delay", "10ms"], capture_output=True)
        return r.returncode == 0
    except OSError:
        return False
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
