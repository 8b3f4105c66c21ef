#!/usr/bin/env python3
"""Euclidean rhythms against a transcription of Strudel's _bjorklund, as TAP.

engine/pattern_signal.c does Bjorklund with one sequence and a count per
list and a run of steps of one kind as a division (Strudel zips two lists
of sequences a step at a time). This compares its bits with the list form,
written out below from Strudel's description, for every k in -n..n and n
up to 32, and a few long ones, in a few `tutti query` runs (each under
the events-per-cycle limit, counting every step): case i is n("i(k,n)"), so an event's n says
which case it belongs to.
"""
import json
import os
import subprocess
import sys
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("TT_BUILDDIR", os.path.join(HERE, "..", ".."))
TUTTI = os.path.join(BUILD, "clients", "cli", "tutti")


def bjorklund(k, n):
    """The list form: xs and ys are lists of sequences."""
    ons, offs = abs(k), n - abs(k)
    xs, ys = [[1]] * ons, [[0]] * offs
    while min(ons, offs) > 1:
        if ons > offs:
            xs, ys = [a + b for a, b in zip(xs[:offs], ys)], xs[offs:]
            ons, offs = offs, ons - offs
        else:
            xs, ys = [a + b for a, b in zip(xs, ys[:ons])], ys[ons:]
            offs -= ons
    bits = [v for s in xs + ys for v in s]
    return [1 - v for v in bits] if k < 0 else bits


CASES = [(k, n) for n in range(1, 33) for k in range(-n, n + 1)]
CASES += [(3, 200), (5, 301), (7, 1000), (13, 997), (-9, 256), (250, 256),
          (3, 8212)]
# a query's steps, all cases together, under TT_MAX_EVENTS_PER_CYCLE
MAX_STEPS = 9000


def main():
    onsets = [set() for _ in CASES]
    chunks, steps = [[]], 0
    for i, (k, n) in enumerate(CASES):
        if steps + n > MAX_STEPS:
            chunks.append([])
            steps = 0
        chunks[-1].append(i)
        steps += n
    for chunk in chunks:
        code = "stack(" + ",".join('n("%d(%d,%d)")' % (i, *CASES[i])
                                   for i in chunk) + ")"
        out = subprocess.run([TUTTI, "query", "--cycles", "1"], input=code,
                             capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            e = json.loads(line)
            i = int(e["value"]["n"])
            onsets[i].add(Fraction(e["whole"][0]) * CASES[i][1])
    print("1..%d" % len(CASES))
    bad = 0
    for i, (k, n) in enumerate(CASES):
        got = [1 if Fraction(j) in onsets[i] else 0 for j in range(n)]
        want = bjorklund(k, n)
        ok = got == want
        bad += not ok
        print("%s %d - euclid(%d,%d)%s" % ("ok" if ok else "not ok", i + 1, k, n,
              "" if ok else ": got %s, want %s" % (got, want)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
