"""A session exported from one tuttid and imported into a second one with a
fresh database: the timeline, the texts at several revisions and times,
the diffs and the blame are the same (modulo ids), and a second export is
the first one (modulo ids). Bad files are refused with what and where, and
nothing of them is kept; the body limit of the import (TT_MAX_IMPORT_BYTES)
holds at N and N+1."""
import copy
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server  # noqa: E402

MAX_IMPORT = 32 * 1024 * 1024    # TT_MAX_IMPORT_BYTES
MAX_CHAT = 2000                  # TT_MAX_CHAT_BYTES

t = Tap()


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def script_session(srv):
    """Two documents (and a third, deleted), edits by two performers,
    evaluations good and bad, a tempo change, hush and mute, chat."""
    st, sess = srv.json("POST", "/api/sessions", {"name": "exported set"})
    sid, owner = sess["id"], sess["owner_token"]
    st, _, data = srv.request("POST", "/api/sessions/%s/invites" % sid,
                              json.dumps({"role": "performer"}), bearer(owner))
    perf = json.loads(data)["token"]
    ann, bo = srv.ws(), srv.ws()
    ann.call({"type": "hello", "id": 0, "name": "ann", "client_id": "ann-laptop"})
    bo.call({"type": "hello", "id": 0, "name": "bo"})
    ann.call({"type": "join", "id": 1, "session": sid, "token": owner})
    bo.call({"type": "join", "id": 1, "session": sid, "token": perf})
    drums = ann.call({"type": "doc.create", "id": 2, "name": "drums"})["doc"]["id"]
    bass = bo.call({"type": "doc.create", "id": 2, "name": "bass"})["doc"]["id"]
    gone = ann.call({"type": "doc.create", "id": 3, "name": "scratch"})["doc"]["id"]
    for c in (ann, bo):
        for i, d in enumerate((drums, bass, gone)):
            c.call({"type": "doc.open", "id": 10 + i, "doc": d})
    seq = [0]

    def op(c, doc, rev, o):
        seq[0] += 1
        r = c.call({"type": "op", "id": 100 + seq[0], "doc": doc, "rev": rev, "op": o, "seq": seq[0]})
        assert r.get("type") == "ack", r
        return r["rev"]

    op(ann, drums, 0, ['drums: s("bd sd")\n'])
    op(bo, drums, 1, [15, " hh", 3])                         # drums: s("bd sd hh")\n
    op(ann, bass, 0, ['bass: note("c2 eb2").s("sawtooth")\n'])
    op(ann, gone, 0, ["scratch that"])
    ann.call({"type": "doc.delete", "id": 20, "doc": gone})
    evs = [ann.call({"type": "eval", "id": 21, "doc": drums, "quantum": "now"}),
           bo.call({"type": "eval", "id": 22, "doc": bass, "quantum": "now"})]
    time.sleep(0.3)
    op(bo, bass, 1, [34, ".lpf(800)", 1])
    evs.append(bo.call({"type": "eval", "id": 23, "doc": bass}))
    evs.append(ann.call({"type": "eval", "id": 24, "doc": drums, "range": [0, 5]}))  # fails
    ann.call({"type": "tempo", "id": 25, "cps": 0.6})
    ann.call({"type": "mute", "id": 26, "track": "drums", "on": True})
    ann.call({"type": "hush", "id": 27})
    time.sleep(0.1)
    ann.call({"type": "hush", "id": 28, "on": False})
    ann.call({"type": "chat", "id": 29, "text": "bass in"})
    bo.call({"type": "chat", "id": 30, "text": "drop at 32 ✓"})
    op(ann, drums, 2, [21, "$: s(\"hh*8\")\n"])
    evs.append(ann.call({"type": "eval", "id": 31, "doc": drums}))
    time.sleep(1.5)  # some sound after the last change, for the render check
    ann.close()
    bo.close()
    return sid, owner, perf, evs


def docs_by_name(exp):
    return {d["name"]: d for d in exp["documents"]}


def normalise_export(exp):
    """The export with every id replaced by its index in its table, and
    references through the same map: what must survive an import."""
    e = copy.deepcopy(exp)
    maps = {}
    for table in ("documents", "runs", "evaluations", "tempo", "controls", "chat", "direct_events"):
        maps[table] = {row["id"]: i for i, row in enumerate(e[table])}
        for row in e[table]:
            row["id"] = maps[table][row["id"]]
    for ev in e["evaluations"]:
        ev["doc_id"] = maps["documents"][ev["doc_id"]]
    for table in ("evaluations", "tempo", "controls", "chat", "direct_events"):
        for row in e[table]:
            if row.get("run_id") is not None:
                row["run_id"] = maps["runs"][row["run_id"]]
    evids = sorted(maps["evaluations"])
    for run in e["runs"]:
        below = [maps["evaluations"][x] for x in evids if x <= run["restore_upto"]]
        run["restore_upto"] = below[-1] if below else None
    return e


def normalise_timeline(tl, doc_names):
    """The timeline with document ids as names and evaluation ids dropped."""
    tl = copy.deepcopy(tl)
    tl.pop("session", None)
    for ev in tl["evaluations"]:
        ev.pop("id", None)
        ev["doc"] = doc_names[ev["doc"]]
    for e in tl["edits"]:
        e["doc"] = doc_names[e["doc"]]
    return tl


def check_same_render(t, a, sid_a, b, sid_b):
    """Exact replay: the imported session renders what the original does
    (GET /api/sessions/ID/render.wav, docs/replay.md)."""
    st_b, hdrs, wav_b = b.request("GET", "/api/sessions/%s/render.wav" % sid_b, timeout=120)
    # The original is still live and goes on; render the span the
    # imported copy holds.
    end = hdrs.get("x-tutti-session-end", "0")
    st, _, wav_a = a.request("GET", "/api/sessions/%s/render.wav?from=0&to=%s" % (sid_a, end), timeout=120)
    t.ok(st == 200 and st_b == 200 and len(wav_a) > 44 and wav_a == wav_b,
         "the imported session renders the same PCM as the original (%d bytes of WAV)" % len(wav_a),
         (st, st_b, len(wav_a), len(wav_b), wav_a[:300] if st != 200 else b"", wav_b[:300] if st_b != 200 else b""))
    t.ok(any(wav_a[44:]), "and it is not silence")


def post_import(srv, body):
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    st, hdrs, data = srv.request("POST", "/api/sessions/import", body,
                                 {"Content-Type": "application/json"}, timeout=60)
    try:
        return st, json.loads(data), hdrs
    except ValueError:
        return st, None, hdrs


with Server() as a, Server() as b:
    sid, owner, perf, evs = script_session(a)
    t.ok([e.get("ok") for e in evs] == [True, True, True, False, True],
         "the scripted session: four evaluations landed, one failed", evs)

    # ---- export ----
    st, hdrs, data = a.request("GET", "/api/sessions/%s/export" % sid)
    t.eq(st, 200, "export answers 200")
    t.eq(hdrs.get("content-disposition"), 'attachment; filename="tutti-%s.json"' % sid,
         "as a download named after the session")
    exp = json.loads(data)
    t.ok(exp["format"] == "tutti-session" and exp["version"] == 1 and
         exp["session"]["name"] == "exported set" and exp["session"]["listen_public"] is True,
         "the file says what it is and names the session", exp["session"])
    by = docs_by_name(exp)
    t.eq(sorted(by), ["bass", "drums", "scratch"], "every document, the deleted one too")
    t.ok(by["scratch"]["deleted_at"] is not None and by["drums"]["deleted_at"] is None,
         "the deleted one marked so")
    t.eq([(o["revision"], o["author"]) for o in by["drums"]["ops"]], [(1, "ann"), (2, "bo"), (3, "ann")],
         "ops with revision and author")
    t.eq(by["drums"]["ops"][1]["op"], [15, " hh", 3], "an op as its JSON")
    t.ok(by["drums"]["ops"][0]["client_id"] == "ann-laptop" and by["drums"]["ops"][0]["client_seq"] == 1,
         "with its client_id and client_seq", by["drums"]["ops"][0])
    t.eq(len(exp["evaluations"]), 5, "every evaluation")
    t.ok(all(k in exp["evaluations"][0] for k in ("code", "landing_frame", "cycle_n", "cps_d", "run_id",
                                                   "applied_frame", "built_frame", "result")),
         "with all of its columns", sorted(exp["evaluations"][0]))
    t.ok(len(exp["tempo"]) == 1 and exp["tempo"][0]["cps_n"] * 5 == exp["tempo"][0]["cps_d"] * 3,
         "the tempo change", exp["tempo"])
    t.eq([c["text"] for c in exp["chat"]], ["bass in", "drop at 32 ✓"], "the chat")
    t.ok(all(isinstance(exp[k], list) for k in ("runs", "controls", "direct_events")),
         "runs, controls and direct events")
    t.diag("export: %d bytes, %d runs, %d controls" % (len(data), len(exp["runs"]), len(exp["controls"])))
    t.ok(owner.split(".")[1].encode() not in data and perf.split(".")[1].encode() not in data,
         "no token in the file")

    # ---- import into a second server with a fresh database ----
    st, made, hdrs = post_import(b, data)
    t.ok(st == 201 and made["id"] != "" and made["name"] == "exported set" and
         made["owner_token"].startswith("t"), "import answers 201 with a new session and its owner token",
         made)
    nid = made["id"]
    t.eq(hdrs.get("location"), "/api/sessions/" + nid, "and its Location")
    st, _, _ = b.request("GET", "/api/sessions/%s/invites" % nid, None, bearer(made["owner_token"]))
    t.eq(st, 200, "the owner token owns the new session")
    st, lst = b.json("GET", "/api/sessions")
    t.eq([s["id"] for s in lst["sessions"]], [nid], "the second server has that session only")

    st, exp2_data, _ = None, None, None
    st, _, exp2_data = b.request("GET", "/api/sessions/%s/export" % nid)
    exp2 = json.loads(exp2_data)
    t.eq(normalise_export(exp2), normalise_export(exp), "exporting the import gives the same file, modulo ids")

    # Ids are remapped consistently.
    by2 = docs_by_name(exp2)
    ids2 = {d["id"] for d in exp2["documents"]}
    t.ok(all(e["doc_id"] in ids2 for e in exp2["evaluations"]), "evaluations point at the new documents")

    # ---- the history API agrees ----
    names_a = {d["id"]: d["name"] for d in exp["documents"]}
    names_b = {d["id"]: d["name"] for d in exp2["documents"]}
    st, tla = a.json("GET", "/api/sessions/%s/timeline" % sid)
    st2, tlb = b.json("GET", "/api/sessions/%s/timeline" % nid)
    t.ok(st == 200 and st2 == 200 and len(tla["evaluations"]) == 5, "both timelines answer", (st, st2))
    t.eq(normalise_timeline(tlb, names_b), normalise_timeline(tla, names_a),
         "the same timeline: evaluations, tempo, chat, edit activity")
    same = True
    for name in ("drums", "bass", "scratch"):
        da, db = by[name]["id"], by2[name]["id"]
        head = len(by[name]["ops"])
        if name == "scratch":
            continue  # deleted: the text routes serve live documents only
        for rev in range(head + 1):
            ra = a.json("GET", "/api/docs/%d/text?rev=%d" % (da, rev))[1]
            rb = b.json("GET", "/api/docs/%d/text?rev=%d" % (db, rev))[1]
            same &= ra["text"] == rb["text"] and ra["rev"] == rb["rev"]
        for o in by[name]["ops"]:
            for dt in (-1, 0):
                ra = a.json("GET", "/api/docs/%d/text?time=%d" % (da, o["time_ms"] + dt))[1]
                rb = b.json("GET", "/api/docs/%d/text?time=%d" % (db, o["time_ms"] + dt))[1]
                same &= ra["text"] == rb["text"] and ra["rev"] == rb["rev"]
        ra = a.json("GET", "/api/docs/%d/blame" % da)[1]
        rb = b.json("GET", "/api/docs/%d/blame" % db)[1]
        same &= ra["lines"] == rb["lines"] and len(ra["lines"]) > 0
        ra = a.json("GET", "/api/docs/%d/diff?from=0&to=%d" % (da, head))[1]
        rb = b.json("GET", "/api/docs/%d/diff?from=0&to=%d" % (db, head))[1]
        same &= ra["op"] == rb["op"] and ra["authors"] == rb["authors"]
    t.ok(same, "texts at every revision and at op times, blame and diffs are equal")
    st, r = b.json("GET", "/api/docs/%d/text" % by2["drums"]["id"])
    t.eq(r["text"], 'drums: s("bd sd hh")\n$: s("hh*8")\n', "the imported drums text, by hand")
    st, r = b.json("GET", "/api/docs/%d/blame" % by2["drums"]["id"])
    t.eq([(x["author"], x["rev"]) for x in r["lines"]], [("bo", 2), ("ann", 3)],
         "its blame, by hand")

    check_same_render(t, a, sid, b, nid)

    # ---- permission ----
    a.request("PATCH", "/api/sessions/" + sid, json.dumps({"listen": "token"}), bearer(owner))
    st, r = a.json("GET", "/api/sessions/%s/export" % sid)
    t.eq(st, 403, "a token-only session's export needs a token")
    st, _, _ = a.request("GET", "/api/sessions/%s/export?t=%s" % (sid, perf))
    t.eq(st, 200, "a performer's token is enough")
    st, r = a.json("GET", "/api/sessions/abcdefghij/export")
    t.eq(st, 404, "an unknown session is 404")
    st, r = a.json("POST", "/api/sessions/%s/export" % sid, {})
    t.eq(st, 405, "export is GET only")

    # ---- bad files: 400 with what and where, nothing kept ----
    def bad(mutate, want, name):
        e = copy.deepcopy(exp)
        mutate(e)
        st, r, _ = post_import(b, e)
        msg = r["error"]["message"] if r and "error" in r else r
        t.ok(st == 400 and isinstance(msg, str) and want in msg, name, (st, msg))

    def set_(path, value):
        def m(e):
            o = e
            for k in path[:-1]:
                o = o[k]
            o[path[-1]] = value
        return m

    di = [d["name"] for d in exp["documents"]].index("drums")
    bad(set_(["evaluations", 3, "doc_id"], 999999), "evaluations[3].doc_id: no such document",
        "an evaluation of no document")
    bad(set_(["documents", di, "ops", 1, "op"], [99, "x"]),
        "documents[%d].ops[1].op: does not apply to revision 1" % di, "an op that does not fit its text")
    bad(set_(["documents", di, "ops", 1, "op"], [16, {"x": 1}]),
        "documents[%d].ops[1].op: not an operation" % di, "an op that is not one")
    bad(set_(["documents", di, "ops", 2, "revision"], 7),
        "documents[%d].ops[2].revision: must be 3" % di, "a gap in revisions")
    bad(lambda e: e["documents"][di]["snapshots"].append({"revision": 1, "text": "wrong"}),
        "documents[%d].snapshots[0].text: is not the document's text at revision 1" % di,
        "a snapshot that is not the text at its revision")
    bad(lambda e: e["documents"][di]["snapshots"].append({"revision": 1, "text": 'drums: s("bd sd")\n',
                                                         "extra": 1}),
        "documents[%d].snapshots[0].extra: unknown field" % di, "an unknown field")
    bad(lambda e: e["tempo"][0].pop("cps_n"), "tempo[0].cps_n: missing", "a missing field")
    bad(set_(["tempo", 0, "cps_n"], 0), "tempo[0]: cycle_d, cps_n and cps_d must be > 0", "a zero tempo")
    bad(set_(["evaluations", 1, "id"], exp["evaluations"][0]["id"]), "evaluations[1].id: ids must increase",
        "ids out of order")
    bad(set_(["evaluations", 0, "revision"], 99), "evaluations[0].revision: 99 is not a revision",
        "an evaluation of a revision the document never had")
    bad(set_(["evaluations", 0, "ok"], 1), "evaluations[0].ok: must be true or false", "a wrong type")
    bad(set_(["evaluations", 0, "run_id"], 424242), "evaluations[0].run_id: no such run", "a run that is not")
    bad(set_(["chat", 0, "text"], "x" * (MAX_CHAT + 1)), "chat[0].text: longer than 2000 bytes (TT_MAX_CHAT_BYTES)",
        "a chat message past TT_MAX_CHAT_BYTES")
    bad(lambda e: e["controls"].append({"id": 10 ** 9, "run_id": None, "applied_frame": 0, "kind": "loud",
                                        "track": "", "on": True, "author": "x", "time_ms": 0}),
        "controls[%d].run_id: must not be null" % len(exp["controls"]), "a control without a run")
    if exp["runs"]:
        bad(lambda e: e["controls"].append({"id": 10 ** 9, "run_id": e["runs"][0]["id"], "applied_frame": 0,
                                            "kind": "loud", "track": "", "on": True, "author": "x",
                                            "time_ms": 0}),
            "controls[%d].kind: must be" % len(exp["controls"]), "a control of no kind")
    bad(set_(["documents", di, "name"], "bass"), "name: 'bass' is also", "two live documents with one name")
    bad(set_(["format"], "something"), "format: must be", "another format")
    bad(set_(["version"], 2), "version: this server reads version 1", "another version")
    bad(lambda e: e.pop("chat"), "chat: must be an array", "a missing table")
    bad(set_(["session", "name"], "n" * 201), "session.name: longer than 200 bytes", "a session name too long")
    # Two ops claiming one client_id and client_seq: the schema refuses it
    # while writing, and the transaction takes everything back.
    def dup_seq(e):
        ops = e["documents"][di]["ops"]
        ops[2]["client_id"], ops[2]["client_seq"] = ops[0]["client_id"], ops[0]["client_seq"]
    bad(dup_seq, "documents[%d].ops[2]: the database refused it" % di, "a duplicate (client_id, client_seq)")
    st, r, _ = post_import(b, "{\"format\": ")
    t.ok(st == 400 and r["error"]["code"] == "bad_json" and "line 1" in r["error"]["message"],
         "not JSON: 400 with line and column", r)
    st, r, _ = post_import(b, "[]")
    t.ok(st == 400 and "must be a JSON object" in r["error"]["message"], "not an object", r)
    st, lst = b.json("GET", "/api/sessions")
    t.eq([s["id"] for s in lst["sessions"]], [nid], "no bad file left anything behind")
    t.eq(b.get("/api/health")[0], 200, "and the server still answers")

    # ---- the body limit: TT_MAX_IMPORT_BYTES at N and N+1 ----
    pad = MAX_IMPORT - len(data)
    body = data + b" " * pad
    st, made2, _ = post_import(b, body)
    t.ok(st == 201 and len(body) == MAX_IMPORT, "an import of exactly TT_MAX_IMPORT_BYTES is accepted",
         (st, made2))
    body += b" "
    resp = b.raw(b"POST /api/sessions/import HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body, timeout=60)
    t.ok(resp.startswith(b"HTTP/1.1 413") and b"TT_MAX_IMPORT_BYTES" in resp, "N+1 bytes is 413",
         resp[:300])
    big = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    st, r, _ = None, None, None
    resp = b.raw(b"POST /api/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(big) + big)
    t.ok(resp.startswith(b"HTTP/1.1 413") and b"TT_MAX_HTTP_BODY" in resp,
         "other routes keep TT_MAX_HTTP_BODY", resp[:300])
t.done()
