"""bench/fanout_client_test.py: bench/fanout_client counts what it is sent.

A small HTTP server on loopback serves a synthetic Ogg stream (two header
pages, then audio pages of known packet sizes, one with a packet of 600
bytes that needs 255-lacing) three ways: HTTP/1.1 chunked with chunk
boundaries cutting through page headers, HTTP/1.0 unframed as Icecast
sends it, and 503. The client's Opus payload count must be exactly the
audio packets' bytes, its byte count exactly what was sent, and refused or
early-closed listeners must count as dropped. No timing is asserted.
"""
import os
import socketserver
import struct
import subprocess
import sys
import threading
import time

BUILDDIR = os.environ.get("TT_BUILDDIR", ".")
CLIENT = os.path.join(BUILDDIR, "bench", "fanout_client")
n_test = 0


def ok(cond, name, diag=None):
    global n_test
    n_test += 1
    print("%sok %d - %s" % ("" if cond else "not ", n_test, name))
    if not cond and diag is not None:
        print("# %s" % diag)


def page(packets, granule, seq):
    lacing = b""
    for p in packets:
        lacing += b"\xff" * (len(p) // 255) + bytes([len(p) % 255])
    hdr = b"OggS\x00\x00" + struct.pack("<qIII", granule, 0x74757474, seq, 0)
    return hdr + bytes([len(lacing)]) + lacing + b"".join(packets)


HEADERS = page([b"OpusHead" + bytes(11)], 0, 0) + page([b"OpusTags" + bytes(8)], 0, 1)
SIZES = [320, 600, 1, 255, 510, 77]
AUDIO = b"".join(page([bytes(n)], 960 * (i + 1), i + 2) for i, n in enumerate(SIZES))
AUDIO += page([bytes(100), bytes(200)], 960 * 8, 8)  # two packets in a page
PAYLOAD = sum(SIZES) + 300
STREAM = HEADERS + AUDIO


def chunked(data, cut=37):
    out = b""
    for i in range(0, len(data), cut):
        part = data[i:i + cut]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return out


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        req = b""
        while b"\r\n\r\n" not in req:
            d = self.request.recv(4096)
            if not d:
                return
            req += d
        path = req.split(b" ")[1]
        if path == b"/chunked":
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: audio/ogg\r\n"
                                 b"Transfer-Encoding: chunked\r\n\r\n" + chunked(STREAM))
        elif path in (b"/plain", b"/early"):
            self.request.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: audio/ogg\r\n\r\n" + STREAM)
            if path == b"/early":
                return  # closes before the run ends
        else:
            self.request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            return
        time.sleep(4)  # hold the stream open past the client's window


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def run(port, path, n=3):
    p = subprocess.run([CLIENT, "--port", str(port), "--path", path, "--listeners", str(n),
                        "--seconds", "0.5", "--rate", "0"],
                       capture_output=True, text=True, timeout=60)
    fields = dict(kv.split("=", 1) for kv in p.stdout.split())
    return p.returncode, fields


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    print("1..9")
    head_chunked = len(b"HTTP/1.1 200 OK\r\nContent-Type: audio/ogg\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n") + len(chunked(STREAM))
    rc, f = run(port, "/chunked")
    ok(rc == 0 and f.get("alive") == "3" and f.get("dropped") == "0",
       "chunked: three listeners, none dropped", f)
    ok(f.get("payload_per_listener") == str(PAYLOAD),
       "chunked: the Opus payload is the audio packets' bytes (%d)" % PAYLOAD, f)
    ok(f.get("bytes_per_listener") == str(head_chunked),
       "chunked: every byte read is counted (%d)" % head_chunked, f)
    ok(float(f.get("wire_overhead", 0)) > float(f.get("body_overhead", 0)) > 1,
       "the wire costs more than the body, which costs more than the payload", f)
    rc, f = run(port, "/plain")
    ok(rc == 0 and f.get("alive") == "3" and f.get("payload_per_listener") == str(PAYLOAD),
       "HTTP/1.0 without framing (Icecast): the same payload", f)
    rc, f = run(port, "/busy")
    ok(rc == 0 and f.get("dropped") == "3" and f.get("alive") == "0",
       "503: every listener counts as dropped", f)
    rc, f = run(port, "/early")
    ok(rc == 0 and f.get("dropped") == "3", "closed before the end: dropped", f)
    p = subprocess.run([CLIENT, "--port", "0", "--path", "x"], capture_output=True, text=True)
    ok(p.returncode == 2 and "usage" in p.stderr, "bad arguments: usage, exit 2", p.stderr)
    p = subprocess.run([CLIENT, "--port", str(port), "--path", "/plain", "--listeners", "100001"],
                       capture_output=True, text=True)
    ok(p.returncode == 2, "more listeners than the client's bound: refused", p.stderr)
    srv.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
