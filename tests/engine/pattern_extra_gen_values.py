#!/usr/bin/env python3
"""Generates random value-operator programs for tests/engine/pattern_extra_*.jsonl
(add, lt, set... with .out/.mix/.squeeze variants over controls and signals).

Usage: pattern_extra_gen_values.py SEED COUNT > cases.jsonl; expected events
come from Strudel 1.2.6 (../shared/conformance/oracle). The a21_* cases came
from "21 150", the a41_* cases from "41 120".
"""
import random, json, sys
R = random.Random(int(sys.argv[1])); N = int(sys.argv[2])
ops = ["add", "sub", "mul", "div", "mod", "set", "keep", "lt", "gt", "eq"]
hows = ["", ".out", ".mix", ".squeeze", ".squeezeout"]
def numpat(): return R.choice(['"0 1 2"', '"<1 2> 3"', '"2 [3 4]"', '"0 .. 3"', '1', '"1.5 -2"', 'sine.range(0, 4).segment(4)', 'irand(5).segment(2)', '"<0 12>"'])
def ctl(): return R.choice(["n", "note", "gain", "speed", "pan"])
def base():
    k = R.random()
    if k < 0.3: return 'n(%s)' % numpat().replace('1', '1', 1)
    if k < 0.5: return '%s(%s).s("%s")' % (ctl(), numpat(), R.choice(["bd", "x y"]))
    if k < 0.7: return 'note("%s")' % R.choice(["c3 e3", "c3 <e3 g3>", "a2 [c3 e3]", "60 64 67"])
    return 's("%s").n(%s)' % (R.choice(["bd sd", "bd*3", "<bd sd>"]), numpat())
def arith(e):
    op = R.choice(ops); how = R.choice(hows)
    arg = R.choice([numpat(), '%s(%s)' % (R.choice(["n", "note", "gain"]), numpat()), 's("q")', 'n(%s).gain(0.5)' % numpat()])
    if op in ("mod", "div") and arg == '0': arg = '2'
    return '%s.%s%s(%s)' % (e, op, how, arg)
def other(e):
    return e + R.choice(['.struct("x ~ x")', '.mask("1 0 1")', '.segment(2)', '.round()', '.floor()', '.range(1, 2)', '.fast(2)', '.lpf("100 200")', '.s("p")', '.gain(rand)', '.pan(saw)', '.velocity("<0.5 1>")', '.legato(0.5)', '.struct("<1 [1 0]>")'])
out = []
for i in range(N):
    e = base()
    for _ in range(R.randint(1, 3)):
        e = arith(e) if R.random() < 0.6 else other(e)
    out.append({"id": "a%d_%d" % (int(sys.argv[1]), i), "code": e, "cycles": R.choice([2, 3])})
for c in out: print(json.dumps(c))
