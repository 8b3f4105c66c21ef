#!/usr/bin/env python3
"""Pattern-core conformance beyond the public corpus, as TAP.

pattern_extra_corpus.jsonl holds cases written for the pattern core
(patterned arguments, randomness, signals, tonal, controls, edge values
and errors; ids x, y, z, w, t, e) and random programs (ids r: chains of
combinators made by pattern_extra_gen.py; ids a: value operators made by
pattern_extra_gen_values.py), and
pattern_extra_expected.jsonl what Strudel 1.2.6 makes of them (generated
with ../shared/conformance/oracle). Each case runs through
`$TT_BUILDDIR/clients/cli/tutti query --cycles N`; events (whole, part,
value) must equal Strudel's as multisets, numbers within 1e-9, and source
locations must match too. A case whose expectation is an error passes when
tutti rejects the code.
"""
import json
import os
import subprocess
import sys
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("TT_BUILDDIR", os.path.join(HERE, "..", ".."))
TUTTI = os.path.join(BUILD, "clients", "cli", "tutti")


def span(s):
    return None if s is None else (Fraction(s[0]), Fraction(s[1]))


def norm(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return round(float(v), 9) + 0.0
    if isinstance(v, dict):
        return tuple(sorted((k, norm(x)) for k, x in v.items()))
    if isinstance(v, list):
        return tuple(norm(x) for x in v)
    return v


def key(h, with_locs):
    k = (span(h.get("whole")), span(h.get("part")), norm(h.get("value")))
    if with_locs:
        k += (tuple(sorted(tuple(l) for l in h.get("locs") or [])),)
    return k


def canon(haps, with_locs):
    return sorted((key(h, with_locs) for h in haps), key=repr)


def run(code, cycles):
    p = subprocess.run([TUTTI, "query", "--cycles", str(cycles)],
                       input=code.encode(), capture_output=True, timeout=60)
    if p.returncode != 0:
        return None, p.stderr.decode(errors="replace").strip()
    return [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()], ""


def main():
    cases = [json.loads(l) for l in open(os.path.join(HERE, "pattern_extra_corpus.jsonl"))]
    want = {}
    for l in open(os.path.join(HERE, "pattern_extra_expected.jsonl")):
        d = json.loads(l)
        want[d["id"]] = d
    print("1..%d" % len(cases))
    failed = 0
    for i, c in enumerate(cases, 1):
        exp = want[c["id"]]
        got, err = run(c["code"], c.get("cycles", 2))
        if "error" in exp:
            good, why = got is None, "expected an error"
        elif got is None:
            good, why = False, err
        elif canon(got, False) != canon(exp["haps"], False):
            good, why = False, "events differ: got %d, want %d" % (len(got), len(exp["haps"]))
        elif canon(got, True) != canon(exp["haps"], True):
            good, why = False, "locations differ"
        else:
            good, why = True, ""
        failed += not good
        print("%s %d - %s %s" % ("ok" if good else "not ok", i, c["id"], c["code"]))
        if not good:
            print("#   " + why)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
