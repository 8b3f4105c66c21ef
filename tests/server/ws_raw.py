"""tuttid's WebSocket endpoint, spoken to byte by byte: the handshake, the
JSON request/reply layer, control frames, and every kind of malformed input,
after each of which the server must still answer."""
import base64
import hashlib
import json
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server, WsClosed, ws_frame  # noqa: E402

MAX_MESSAGE = 4 * 1024 * 1024   # TT_MAX_WS_MESSAGE
MAX_SENDQ = 2 * MAX_MESSAGE     # TT_MAX_WS_SENDQ
MAX_REQUEST_ID = 128            # TT_MAX_REQUEST_ID
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3

t = Tap()


def still_answers(srv, what):
    ws = srv.ws()
    try:
        r = ws.request({"type": "ping", "id": "alive"})
        t.ok(r.get("type") == "pong" and r.get("id") == "alive", "server still answers after " + what)
    except Exception as e:  # noqa: BLE001
        t.ok(False, "server still answers after " + what, e)
    ws.close()


def expect_close(srv, frames, code, what, split=False):
    ws = srv.ws()
    data = b"".join(frames)
    if split:
        for i in range(len(data)):
            ws.send_raw(data[i:i + 1])
    else:
        ws.send_raw(data)
    got, reason = ws.expect_close()
    t.ok(got == code, "%s: close %d" % (what, code), "got %r %r" % (got, reason))
    t.ok(ws.eof(), "%s: then the server closes TCP" % what)
    ws.close()


with Server() as srv:
    # ---- handshake ----
    ws = srv.ws()
    want = base64.b64encode(hashlib.sha1((ws.key + GUID).encode()).digest()).decode()
    t.eq(ws.status, 101, "upgrade answered 101")
    t.eq(ws.response_headers.get("sec-websocket-accept"), want, "Sec-WebSocket-Accept is right")

    # ---- the JSON layer: ids echoed, unsolicited messages have none ----
    r = ws.request({"type": "hello", "id": 1, "client": "test"})
    t.ok(r.get("type") == "hello" and r.get("id") == 1 and r.get("server") == "tuttid" and
         "ping" in r.get("capabilities", []) and isinstance(r.get("version"), str) and
         r.get("protocol") == 1, "hello answers version and capabilities, echoes id", r)
    r = ws.request({"type": "ping", "id": "abc"})
    t.ok(r.get("type") == "pong" and r.get("id") == "abc" and isinstance(r.get("time"), int),
         "ping answers pong with the string id", r)
    r = ws.request({"type": "ping"})
    t.ok(r.get("type") == "pong" and "id" not in r, "request without id: reply without id", r)
    r = ws.request({"type": "fsat", "id": 7})
    t.ok(r.get("type") == "error" and r.get("id") == 7 and r["error"]["code"] == "unknown_type" and
         "fsat" in r["error"]["message"], "unknown type is an error naming it", r)
    ws.send_text("{broken")
    r = ws.recv_json()
    t.ok(r.get("type") == "error" and r["error"]["code"] == "bad_json" and "column" in r["error"]["message"],
         "bad JSON is an error saying where", r)
    for bad, what in [("[1]", "a JSON array"), ('"x"', "a JSON string"), ('{"id": 2}', "no type"),
                      ('{"type": 5}', "a numeric type"), ('{"type":"ping","id":1.5}', "a float id"),
                      ('{"type":"ping","id":{"a":1}}', "an object id")]:
        ws.send_text(bad)
        r = ws.recv_json()
        t.ok(r.get("type") == "error" and r["error"]["code"] == "bad_request",
             "%s is a bad_request error" % what, r)
    r = ws.request({"type": "ping", "id": "i" * MAX_REQUEST_ID})
    t.ok(r.get("type") == "pong" and r.get("id") == "i" * MAX_REQUEST_ID, "id of TT_MAX_REQUEST_ID bytes echoed")
    r = ws.request({"type": "ping", "id": "i" * (MAX_REQUEST_ID + 1)})
    t.ok(r.get("type") == "error" and "id" not in r, "id of N+1 bytes refused", r)

    # ---- binary messages are echoed (round-trip measurement) ----
    ws.send(2, b"\x00\x01\x02\xff")
    op, payload = ws.recv_message()
    t.ok(op == 2 and payload == b"\x00\x01\x02\xff", "binary message echoed")

    # ---- control frames ----
    ws.send(9, b"are you there")
    op, payload = ws.recv_message()
    t.ok(op == 10 and payload == b"are you there", "ping answered by pong with its payload")
    ws.send(10, b"unsolicited")
    r = ws.request({"type": "ping", "id": 3})
    t.ok(r.get("id") == 3, "an unsolicited pong is ignored")

    # ---- fragmentation, with a ping between fragments ----
    msg = json.dumps({"type": "ping", "id": "frag"}).encode()
    ws.send_raw(ws_frame(1, msg[:5], fin=False) + ws_frame(9, b"mid") +
                ws_frame(0, msg[5:12], fin=False) + ws_frame(0, msg[12:], fin=True))
    op, payload = ws.recv_message()
    t.ok(op == 10 and payload == b"mid", "ping inside a fragmented message answered first")
    r = ws.recv_json()
    t.ok(r.get("id") == "frag", "fragmented text message reassembled", r)
    # A 4-byte character split across fragments is still valid UTF-8.
    ws.send_raw(ws_frame(1, b'{"type":"ping","id":"\xf0\x9f', fin=False) +
                ws_frame(0, b'\x8e\xb6"}', fin=True))
    r = ws.recv_json()
    t.eq(r.get("id"), "\U0001F3B6", "UTF-8 character split across fragments accepted")

    # ---- close handshake ----
    ws.send(8, struct.pack("!H", 1000) + b"bye")
    code, reason = ws.expect_close()
    t.eq(code, 1000, "client close 1000 is echoed with 1000")
    t.ok(ws.eof(), "server closes TCP after the close handshake")
    ws.close()
    ws = srv.ws()
    ws.send(8, b"")
    code, _ = ws.expect_close()
    t.eq(code, 1005, "an empty close is answered with an empty close")
    ws.close()

    # ---- malformed handshakes: the right status, a JSON reason ----
    def handshake(headers, what, status):
        c = srv.ws(headers=headers)
        t.ok(c.status == status, "%s: %d" % (what, status), "got %s %r" % (c.status, getattr(c, "body", b"")))
        c.close()

    handshake({"Sec-WebSocket-Key": None}, "no Sec-WebSocket-Key", 400)
    handshake({"Sec-WebSocket-Key": "c2hvcnQ="}, "a key of 5 bytes", 400)
    handshake({"Upgrade": None}, "no Upgrade header", 400)
    handshake({"Upgrade": "h2c"}, "Upgrade: h2c", 400)
    handshake({"Connection": "keep-alive"}, "Connection without upgrade", 400)
    c = srv.ws(headers={"Sec-WebSocket-Version": "8"})
    t.ok(c.status == 426 and c.response_headers.get("sec-websocket-version") == "13",
         "version 8: 426 with Sec-WebSocket-Version: 13")
    c.close()
    c = srv.ws(headers={"Connection": "keep-alive, Upgrade"})
    t.eq(c.status, 101, "Connection: keep-alive, Upgrade is accepted")
    c.close()
    resp = srv.raw(b"POST /ws HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    t.ok(resp.startswith(b"HTTP/1.1 405") or resp.startswith(b"HTTP/1.1 400"), "POST /ws refused", resp[:100])
    still_answers(srv, "bad handshakes")

    # ---- malformed frames: each closes with its code, nothing else breaks ----
    expect_close(srv, [ws_frame(1, '{"type":"ping"}', mask=False)], 1002, "unmasked client frame")
    expect_close(srv, [ws_frame(1, "x", rsv=4)], 1002, "reserved bit set")
    expect_close(srv, [ws_frame(3, "x")], 1002, "reserved opcode 3")
    expect_close(srv, [ws_frame(9, "p" * 126)], 1002, "ping of 126 bytes")
    expect_close(srv, [ws_frame(9, "p", fin=False)], 1002, "fragmented ping")
    expect_close(srv, [ws_frame(0, "x")], 1002, "continuation without a message")
    expect_close(srv, [ws_frame(1, "a", fin=False), ws_frame(1, "b")], 1002, "new message inside a fragmented one")
    expect_close(srv, [ws_frame(8, b"\x03")], 1002, "close payload of one byte")
    expect_close(srv, [ws_frame(8, struct.pack("!H", 1005))], 1002, "close code 1005 on the wire")
    expect_close(srv, [ws_frame(1, b'{"type":"\xc0\xaf"}')], 1007, "overlong UTF-8 in text")
    expect_close(srv, [ws_frame(1, b"\xed\xa0\x80")], 1007, "UTF-16 surrogate in text")
    expect_close(srv, [ws_frame(1, b"ok", fin=False), ws_frame(0, b"\xff", fin=False)], 1007,
                 "invalid UTF-8 in an unfinished fragment")
    expect_close(srv, [ws_frame(8, struct.pack("!H", 1000) + b"\xff")], 1007, "invalid UTF-8 close reason")
    expect_close(srv, [ws_frame(2, b"", length=2 ** 63 - 1)], 1009, "a length field of 2^63-1")
    expect_close(srv, [ws_frame(2, b"", length=MAX_MESSAGE + 1)], 1009, "a message of TT_MAX_WS_MESSAGE+1 bytes")
    expect_close(srv, [ws_frame(2, b"x" * 1000, fin=False), ws_frame(0, b"", length=MAX_MESSAGE)], 1009,
                 "fragments adding up past TT_MAX_WS_MESSAGE")
    still_answers(srv, "malformed frames")

    # A frame fed one byte at a time is the same frame.
    ws = srv.ws()
    for b in ws_frame(1, b'{"type":"ping","id":"bytes"}'):
        ws.send_raw(bytes([b]))
    r = ws.recv_json()
    t.eq(r.get("id"), "bytes", "a frame sent one byte at a time is understood")
    ws.close()

    # A truncated frame, then the client vanishes: nothing is stuck.
    ws = srv.ws()
    ws.send_raw(ws_frame(1, b'{"type":"ping"}')[:5])
    ws.close()
    still_answers(srv, "a truncated frame and a vanished client")

    # ---- limit: a message of exactly TT_MAX_WS_MESSAGE bytes is accepted ----
    ws = srv.ws(timeout=60)
    big = os.urandom(MAX_MESSAGE)
    ws.send(2, big)
    op, payload = ws.recv_message()
    t.ok(op == 2 and payload == big, "binary message of exactly TT_MAX_WS_MESSAGE bytes echoed")
    ws.close()

    # ---- a client that never reads is dropped; the others go on ----
    slow = srv.ws()
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    good = srv.ws()
    chunk = os.urandom(1024 * 1024)
    dropped = False
    sent = 0
    slow.sock.settimeout(5)
    try:
        for i in range(64):      # up to 64 MiB, far past TT_MAX_WS_SENDQ
            slow.send(2, chunk)
            sent += 1
            r = good.request({"type": "ping", "id": i})
            if r.get("id") != i:
                break
    except (OSError, socket.timeout):
        dropped = True
    t.ok(dropped, "a client that never reads is dropped (after %d MiB sent)" % sent)
    t.ok(sent * len(chunk) > MAX_SENDQ, "not before its queue passed TT_MAX_WS_SENDQ", sent)
    t.ok(srv.wait_log("not reading"), "the drop is logged")
    r = good.request({"type": "ping", "id": "after"})
    t.eq(r.get("id"), "after", "another client was never held up")
    slow.close()
    good.close()

    # ---- shutdown: open connections get 1001 ----
    ws = srv.ws()
    ws.request({"type": "hello", "id": 1})
    srv.proc.send_signal(15)
    code, reason = ws.expect_close()
    t.eq(code, 1001, "on SIGTERM an open connection gets close 1001")
    rc = srv.stop()
    t.eq(rc, 0, "and tuttid exits 0")

t.done()
