"""A session's past through the history API: the timeline (evaluations,
tempo, chat, edit activity per performer), a document's text at any
revision or time, diffs between revisions, and blame, on a scripted
session whose expectations are worked out by hand."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, Server  # noqa: E402
from otclient import apply  # noqa: E402

t = Tap()

with Server() as srv:
    st, sess = srv.json("POST", "/api/sessions", {"name": "history"})
    sid, owner = sess["id"], sess["owner_token"]
    st, _, data = srv.request("POST", "/api/sessions/%s/invites" % sid, json.dumps({"role": "performer"}),
                              {"Authorization": "Bearer " + owner})
    perf = json.loads(data)["token"]
    ann, bo = srv.ws(), srv.ws()
    ann.call({"type": "hello", "id": 0, "name": "ann"})
    bo.call({"type": "hello", "id": 0, "name": "bo"})
    ann.call({"type": "join", "id": 1, "session": sid, "token": owner})
    bo.call({"type": "join", "id": 1, "session": sid, "token": perf})
    doc = ann.call({"type": "doc.create", "id": 2, "name": "main"})["doc"]["id"]
    ann.call({"type": "doc.open", "id": 3, "doc": doc})
    bo.call({"type": "doc.open", "id": 3, "doc": doc})
    t0 = int(time.time() * 1000)
    time.sleep(0.05)
    r1 = ann.call({"type": "op", "id": 4, "doc": doc, "rev": 0, "op": ["one\ntwo\nthree\n"]})
    r2 = bo.call({"type": "op", "id": 4, "doc": doc, "rev": 1, "op": [4, "2", 10]})
    r3 = ann.call({"type": "op", "id": 5, "doc": doc, "rev": 2, "op": [9, -5, 1]})
    t.ok([r1.get("rev"), r2.get("rev"), r3.get("rev")] == [1, 2, 3], "three edits by two performers",
         (r1, r2, r3))
    texts = {0: "", 1: "one\ntwo\nthree\n", 2: "one\n2two\nthree\n", 3: "one\n2two\n\n"}
    ann.call({"type": "eval", "id": 6, "doc": doc, "range": [0, 0]})
    ann.call({"type": "op", "id": 7, "doc": doc, "rev": 3, "op": [9, 's("bd")', 1]})
    ev = ann.call({"type": "eval", "id": 8, "doc": doc, "range": [9, 16], "quantum": "now"})
    t.ok(ev.get("ok") is True, "a range is evaluated", ev)
    bad = bo.call({"type": "eval", "id": 9, "doc": doc, "range": [0, 3]})
    t.ok(bad.get("ok") is False, "and a range that is not code fails", bad)
    ann.call({"type": "tempo", "id": 10, "cps": 0.625})
    ann.call({"type": "chat", "id": 11, "text": "from the top"})

    for rev, text in texts.items():
        st, r = srv.json("GET", "/api/docs/%d/text?rev=%d" % (doc, rev))
        t.ok(st == 200 and r["text"] == text and r["rev"] == rev, "text at revision %d" % rev, r)
    st, r = srv.json("GET", "/api/docs/%d/text?time=%d" % (doc, t0))
    t.ok(st == 200 and r["rev"] == 0 and r["text"] == "", "text at a time before any edit", r)
    st, r = srv.json("GET", "/api/docs/%d/text" % doc)
    t.ok(st == 200 and r["rev"] == 4 and r["text"] == 'one\n2two\ns("bd")\n', "the latest text by default", r)
    st, r = srv.json("GET", "/api/docs/%d/text?rev=5" % doc)
    t.eq(st, 400, "a revision past the head is 400")
    st, r = srv.json("GET", "/api/docs/999/text")
    t.eq(st, 404, "an unknown document is 404")

    st, r = srv.json("GET", "/api/docs/%d/diff?from=1&to=3" % doc)
    t.ok(st == 200 and apply(texts[1], r["op"]) == texts[3] and sorted(r["authors"]) == ["ann", "bo"],
         "the diff from 1 to 3 turns the one text into the other, by ann and bo", r)
    st, r = srv.json("GET", "/api/docs/%d/diff?from=2&to=2" % doc)
    t.ok(st == 200 and apply(texts[2], r["op"]) == texts[2], "an empty diff keeps the text", r)
    st, r = srv.json("GET", "/api/docs/%d/diff?from=3&to=1" % doc)
    t.eq(st, 400, "from after to is 400")

    st, r = srv.json("GET", "/api/docs/%d/blame?rev=3" % doc)
    who = [(l["author"], l["rev"]) for l in r["lines"]]
    t.eq(who, [("ann", 1), ("bo", 2), ("ann", 3)],
         "blame at 3: line 1 ann's, line 2 changed by bo, line 3 emptied by ann")
    st, r = srv.json("GET", "/api/docs/%d/blame" % doc)
    t.eq([(l["author"], l["rev"]) for l in r["lines"]], [("ann", 1), ("bo", 2), ("ann", 4)], "blame at the head")

    st, tl = srv.json("GET", "/api/sessions/%s/timeline" % sid)
    evs = tl["evaluations"]
    t.ok(st == 200 and len(evs) == 3, "the timeline has every evaluation", evs)
    t.ok(evs[1]["ok"] and evs[1]["author"] == "ann" and evs[1]["rev"] == 4 and
         "frame" in evs[1]["landing"] and evs[1]["landing"]["cps"] == "1/2",
         "an evaluation: who, which revision, where it landed, at what tempo", evs[1])
    t.ok(not evs[2]["ok"] and evs[2]["author"] == "bo" and evs[2]["error"], "a failed one: who and why", evs[2])
    t.ok(len(tl["tempo"]) == 1 and tl["tempo"][0]["cps"] == "5/8" and tl["tempo"][0]["author"] == "ann",
         "the tempo change", tl["tempo"])
    t.ok([c["text"] for c in tl["chat"]] == ["from the top"], "the chat", tl["chat"])
    by = {}
    for e in tl["edits"]:
        by[e["author"]] = by.get(e["author"], 0) + e["ops"]
    t.eq(by, {"ann": 3, "bo": 1}, "edit activity per performer")

    srv.request("PATCH", "/api/sessions/" + sid, json.dumps({"listen": "token"}),
                {"Authorization": "Bearer " + owner})
    st, r = srv.json("GET", "/api/sessions/%s/timeline" % sid)
    t.eq(st, 403, "a token-only session's history needs a token")
    st, _, data = srv.request("GET", "/api/docs/%d/blame" % doc, None, {"Authorization": "Bearer " + perf})
    t.eq(st, 200, "with one it is there")
    ann.close()
    bo.close()
t.done()
