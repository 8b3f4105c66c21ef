"""An independent OT client for tests: operations in tutti's wire format
(positive int = retain, string = insert, negative int = delete; lengths in
UTF-16 code units), apply/transform/compose, and the client state machine
(synchronized / awaiting an ack / awaiting with a buffer).

Written from the wire format, not from the server's C, so the tests check
that two independent implementations agree."""


def units(s):
    return len(s.encode("utf-16-le")) // 2


def _u16(s):
    return s.encode("utf-16-le")


def _from16(b):
    return b.decode("utf-16-le")  # raises on a split surrogate pair


def apply(text, op):
    b = _u16(text)
    out = []
    pos = 0
    for c in op:
        if isinstance(c, str):
            out.append(_u16(c))
        elif c > 0:
            out.append(b[2 * pos:2 * (pos + c)])
            pos += c
        else:
            pos += -c
    if pos * 2 != len(b):
        raise ValueError("op base length %d != text length %d" % (pos, len(b) // 2))
    return _from16(b"".join(out))


def base_len(op):
    return sum(c if c > 0 else -c for c in op if not isinstance(c, str))


def _norm(op):
    out = []
    for c in op:
        if isinstance(c, str):
            if c == "":
                continue
            if out and isinstance(out[-1], str):
                out[-1] += c
                continue
            # canonical: insert before delete at the same place
            if out and not isinstance(out[-1], str) and out[-1] < 0:
                d = out.pop()
                if out and isinstance(out[-1], str):
                    out[-1] += c
                else:
                    out.append(c)
                out.append(d)
                continue
            out.append(c)
        elif c == 0:
            continue
        elif out and not isinstance(out[-1], str) and (out[-1] > 0) == (c > 0):
            out[-1] += c
        else:
            out.append(c)
    return out


def _split16(s, n):
    """First n UTF-16 units of s and the rest (n never splits a pair here)."""
    b = _u16(s)
    return _from16(b[:2 * n]), _from16(b[2 * n:])


def transform(a, b):
    """(a', b') with apply(apply(s, a), b') == apply(apply(s, b), a');
    a's inserts go first at a tie (the server's rule: earlier op first)."""
    a = list(a)
    b = list(b)
    ap, bp = [], []
    i = j = 0
    x = a[0] if a else None
    y = b[0] if b else None
    while x is not None or y is not None:
        if isinstance(x, str):
            ap.append(x)
            bp.append(units(x))
            i += 1
            x = a[i] if i < len(a) else None
            continue
        if isinstance(y, str):
            ap.append(units(y))
            bp.append(y)
            j += 1
            y = b[j] if j < len(b) else None
            continue
        if x is None or y is None:
            raise ValueError("ops of different base lengths")
        if x > 0 and y > 0:
            m = min(x, y)
            ap.append(m)
            bp.append(m)
        elif x < 0 and y < 0:
            m = min(-x, -y)
        elif x < 0:  # a deletes, b retains
            m = min(-x, y)
            ap.append(-m)
        else:        # a retains, b deletes
            m = min(x, -y)
            bp.append(-m)
        x = (x - m if x > 0 else x + m)
        y = (y - m if y > 0 else y + m)
        if x == 0:
            i += 1
            x = a[i] if i < len(a) else None
        if y == 0:
            j += 1
            y = b[j] if j < len(b) else None
    return _norm(ap), _norm(bp)


def compose(a, b):
    a = list(a)
    b = list(b)
    out = []
    i = j = 0
    x = a[0] if a else None
    y = b[0] if b else None
    while x is not None or y is not None:
        if isinstance(x, int) and x < 0:
            out.append(x)
            i += 1
            x = a[i] if i < len(a) else None
            continue
        if isinstance(y, str):
            out.append(y)
            j += 1
            y = b[j] if j < len(b) else None
            continue
        if x is None or y is None:
            raise ValueError("compose: length mismatch")
        if isinstance(x, str):
            n = units(x)
            if y > 0:
                m = min(n, y)
                head, tail = _split16(x, m)
                out.append(head)
                x = tail if tail else None
                y -= m
            else:
                m = min(n, -y)
                _, tail = _split16(x, m)
                x = tail if tail else None
                y += m
            if x is None:
                i += 1
                x = a[i] if i < len(a) else None
        else:  # x retain
            if y > 0:
                m = min(x, y)
                out.append(m)
            else:
                m = min(x, -y)
                out.append(-m)
            x -= m
            y = y - m if y > 0 else y + m
            if x == 0:
                i += 1
                x = a[i] if i < len(a) else None
        if y == 0:
            j += 1
            y = b[j] if j < len(b) else None
    return _norm(out)


def make_edit(text, rng, alphabet="abc xyz\n(){}.é🎶"):
    """A random edit of text: an insert or a delete at a random place."""
    n = units(text)
    b = _u16(text)

    def boundary(p):  # never inside a surrogate pair
        while 0 < p < n and 0xDC00 <= int.from_bytes(b[2 * p:2 * p + 2], "little") <= 0xDFFF:
            p -= 1
        return p

    pos = boundary(rng.randint(0, n))
    if n > 0 and rng.random() < 0.35:
        end = boundary(min(n, pos + rng.randint(1, 4)))
        if end > pos:
            return _norm([pos, -(end - pos), n - end])
    s = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5)))
    return _norm([pos, s, n - pos])


class Client:
    """The client side of tutti's editing protocol for one document."""

    def __init__(self, ws, doc, client_id):
        self.ws = ws
        self.doc = doc
        self.client_id = client_id
        self.text = ""
        self.rev = 0
        self.outstanding = None   # sent, not acknowledged: (op, seq)
        self.buffer = None        # local edits made meanwhile
        self.seq = 0
        self.acked = []           # (seq, rev) of every acknowledgement
        self.errors = []

    def opened(self, msg):
        if msg["type"] == "doc.snapshot":
            self.text = msg["text"]
        else:
            for op in msg["ops"]:
                self.text = apply(self.text, op)
        self.rev = msg["rev"]

    def send_outstanding(self):
        op, seq = self.outstanding
        self.ws.send_json({"type": "op", "id": "op-%d" % seq, "doc": self.doc, "rev": self.rev,
                           "op": op, "seq": seq})

    def edit(self, op):
        self.text = apply(self.text, op)
        if self.outstanding is None:
            self.seq += 1
            self.outstanding = (op, self.seq)
            self.send_outstanding()
        elif self.buffer is None:
            self.buffer = op
        else:
            self.buffer = compose(self.buffer, op)

    def on_ack(self, msg):
        self.rev = msg["rev"]
        self.acked.append((self.outstanding[1], msg["rev"]))
        self.outstanding = None
        if self.buffer is not None:
            self.seq += 1
            self.outstanding = (self.buffer, self.seq)
            self.buffer = None
            self.send_outstanding()

    def on_op(self, msg):
        s = msg["op"]
        if self.outstanding is not None:
            s, o = transform(s, self.outstanding[0])
            self.outstanding = (o, self.outstanding[1])
            if self.buffer is not None:
                s, self.buffer = transform(s, self.buffer)
        self.text = apply(self.text, s)
        self.rev = msg["rev"]

    def handle(self, msg):
        """Feeds one server message; returns its type."""
        t = msg.get("type")
        if t == "ack" and msg.get("doc") == self.doc:
            self.on_ack(msg)
        elif t == "ops" and msg.get("doc") == self.doc:
            for op in msg["ops"]:
                self.on_op(op)
        elif t == "error":
            self.errors.append(msg)
        return t

    def idle(self):
        return self.outstanding is None and self.buffer is None
