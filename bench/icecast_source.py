"""bench/icecast_source.py: feeds an Icecast mount from a tuttid stream.

Usage: icecast_source.py FROM_URL ICECAST_PORT MOUNT PASSWORD [PACKETS_PER_PAGE]

Reads FROM_URL (tuttid's /s/ID/live.ogg, which arrives at real-time pace
after its short start-up burst) and writes the same bytes to Icecast as a
source client: `PUT MOUNT` with `Content-Type: audio/ogg`, basic auth
`source:PASSWORD` and `Ice-Public: 0` (Icecast 2.4's HTTP source protocol).
Runs until either side closes or it is sent SIGTERM; loopback only.

With PACKETS_PER_PAGE > 1 the audio is repaginated on the way: that many
Opus packets per Ogg page (tuttid writes one 20 ms packet per page), as
file encoders do, so the same sound reaches Icecast in fewer, larger
pages. That shows what Icecast's cost per listener owes to pages, not
bytes.
"""
import base64
import http.client
import signal
import struct
import socket
import sys
import urllib.parse


def crc32_ogg(data):
    """The Ogg page checksum: CRC-32, polynomial 0x04c11db7, not reflected."""
    crc = 0
    for b in data:
        crc ^= b << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


class Repaginator:
    """Reads whole Ogg pages from a byte stream; passes the header pages
    through and regroups audio packets `per_page` to a page."""

    def __init__(self, per_page):
        self.per_page, self.buf, self.pages_in = per_page, b"", 0
        self.packets, self.partial, self.granule, self.serial, self.seq = [], b"", 0, 0, 0

    def feed(self, data):
        self.buf += data
        out = b""
        while len(self.buf) >= 27 and len(self.buf) >= 27 + self.buf[26]:
            nseg = self.buf[26]
            lacing = self.buf[27:27 + nseg]
            size = 27 + nseg + sum(lacing)
            if len(self.buf) < size:
                break
            page, self.buf = self.buf[:size], self.buf[size:]
            self.pages_in += 1
            if self.pages_in <= 2:
                self.serial = struct.unpack("<I", page[14:18])[0]
                self.seq = self.pages_in
                out += page
                continue
            off = 27 + nseg
            for lv in lacing:
                self.partial += page[off:off + lv]
                off += lv
                if lv < 255:
                    self.packets.append(self.partial)
                    self.partial = b""
            self.granule = struct.unpack("<q", page[6:14])[0]
            if len(self.packets) >= self.per_page:
                out += self.page()
        return out

    def page(self):
        lacing = b""
        for p in self.packets:
            lacing += b"\xff" * (len(p) // 255) + bytes([len(p) % 255])
        hdr = b"OggS\x00\x00" + struct.pack("<qIII", self.granule, self.serial, self.seq, 0)
        page = hdr + bytes([len(lacing)]) + lacing + b"".join(self.packets)
        self.seq += 1
        self.packets = []
        return page[:22] + struct.pack("<I", crc32_ogg(page)) + page[26:]


def main():
    if len(sys.argv) not in (5, 6):
        sys.stderr.write(__doc__)
        return 2
    src_url, port, mount, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    per_page = min(50, int(sys.argv[5])) if len(sys.argv) > 5 else 1
    rp = Repaginator(per_page) if per_page > 1 else None
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    u = urllib.parse.urlsplit(src_url)
    up = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    up.request("GET", u.path + ("?" + u.query if u.query else ""))
    r = up.getresponse()
    if r.status != 200:
        sys.stderr.write("icecast_source: %s answered %d\n" % (src_url, r.status))
        return 1
    out = socket.create_connection(("127.0.0.1", port), timeout=10)
    auth = base64.b64encode(("source:%s" % password).encode()).decode()
    out.sendall(("PUT %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Basic %s\r\n"
                 "Content-Type: audio/ogg\r\nIce-Public: 0\r\nIce-Name: tutti fanout\r\n"
                 "User-Agent: tutti-bench\r\n\r\n" % (mount, port, auth)).encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = out.recv(4096)
        if not chunk:
            break
        answer += chunk
    status = answer.split(b"\r\n", 1)[0]
    if b" 200" not in status:
        sys.stderr.write("icecast_source: Icecast answered %r\n" % status)
        return 1
    out.settimeout(None)
    while True:
        data = r.read1(65536)
        if not data:
            return 0
        if rp:
            data = rp.feed(data)
        if data:
            out.sendall(data)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, http.client.HTTPException) as e:
        sys.stderr.write("icecast_source: %s\n" % e)
        sys.exit(1)
