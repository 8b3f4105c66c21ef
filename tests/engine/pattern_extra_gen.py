#!/usr/bin/env python3
"""Generates random pattern programs for tests/engine/pattern_extra_*.jsonl.

Usage: pattern_extra_gen.py SEED COUNT [--long] > cases.jsonl
then run the cases through Strudel 1.2.6 (../shared/conformance/oracle) to
make the expected events. --long makes chains of two to five methods
instead of one to three. The committed r1_* cases came from an earlier,
smaller method list with seed 1; the r11_* cases from this one with
"11 120 --long".
"""
import random, json, sys
LONG = '--long' in sys.argv
sys.argv = [a for a in sys.argv if a != '--long']
R = random.Random(int(sys.argv[1]))
N = int(sys.argv[2])
def mini_num():
    return R.choice(["0 1 2 3", "0 [1 2]", "<0 2> 1", "0 1 . 2 3 4", "0*2 <1 3>", "[0,4] 2", "0 ~ 2", "0@3 1", "0 1?", "<0 1 2>*2", "0 .. 3", "{0 1 2}%4", "0(3,8)", "[0|1|2] 3", "0!3 1", "0 _ 1", "0 1/2"])
def mini_s():
    return R.choice(["bd sd", "bd*2 [~ sd]", "<bd sd> hh", "bd(3,8)", "[bd, hh*3]", "bd? sd hh?", "bd:1 sd:2", "bd [sd|cp]", "hh*4", "bd@2 sd", "<bd [sd sd]>"])
def num_arg(lo=1, hi=4):
    k = R.random()
    if k < 0.6: return str(R.choice([lo, hi, (lo+hi)/2, 2, 3, 0.5, 1.5]))
    if k < 0.85: return '"<%s %s>"' % (R.choice([lo, 2, 3]), R.choice([hi, 1, 4]))
    return '"%s %s"' % (R.choice([1, 2]), R.choice([3, 4]))
def frac_arg():
    return R.choice(["0.25", "0.125", "1/3", '"<0 0.25>"', "0.5", '"0.25 0.5"'])
def fn():
    return R.choice(["x => x.fast(2)", "rev", "x => x.add(n(7))", "x => x.speed(2)", "x => x.late(0.25)", "x => x.ply(2)", "x => x.degradeBy(0.5)", "x => x.rev().fast(2)", "fast(2)", "x => x.gain(0.5)"])
def base():
    k = R.random()
    if k < 0.35: return 'n("%s")' % mini_num()
    if k < 0.6: return 's("%s")' % mini_s()
    if k < 0.7: return 'note("%s")' % R.choice(["c3 e3 g3", "<c3 a2> [e3 g3]", "c3(3,8)", "[c3,e3,g3]"])
    if k < 0.8: return 'n(%s.segment(%d))' % (R.choice(["sine", "saw", "rand", "perlin", "tri", "square", "cosine", "isaw", "irand(8)"]), R.choice([2, 3, 4, 8]))
    if k < 0.9: return 'stack(%s, %s)' % ('s("%s")' % mini_s(), 'n("%s")' % mini_num())
    return 'cat(%s, %s)' % ('n("%s")' % mini_num(), 's("%s")' % mini_s())
def method(e):
    m = R.choice([
      lambda: '.fast(%s)' % num_arg(), lambda: '.slow(%s)' % num_arg(), lambda: '.early(%s)' % frac_arg(),
      lambda: '.late(%s)' % frac_arg(), lambda: '.rev()', lambda: '.iter(%s)' % num_arg(2, 4), lambda: '.iterBack(%s)' % num_arg(2, 4),
      lambda: '.palindrome()', lambda: '.ply(%s)' % num_arg(2, 3), lambda: '.off(%s, %s)' % (frac_arg(), fn()),
      lambda: '.superimpose(%s)' % fn(), lambda: '.layer(%s, %s)' % (fn(), fn()), lambda: '.jux(%s)' % fn(),
      lambda: '.juxBy(%s, %s)' % (R.choice(["0.5", "0.25"]), fn()), lambda: '.chunk(%s, %s)' % (R.choice(["2", "4", '"<2 4>"']), fn()),
      lambda: '.every(%s, %s)' % (num_arg(2, 3), fn()), lambda: '.lastOf(%s, %s)' % (num_arg(2, 3), fn()),
      lambda: '.linger(%s)' % R.choice(["0.25", "0.5", '"<0.25 0.5>"']), lambda: '.compress(0.25, 0.75)', lambda: '.zoom(0.25, 0.75)',
      lambda: '.fastGap(%s)' % num_arg(2, 3), lambda: '.inside(2, %s)' % fn(), lambda: '.outside(2, %s)' % fn(),
      lambda: '.swingBy(1/3, %s)' % num_arg(2, 4), lambda: '.brak()', lambda: '.segment(%s)' % num_arg(2, 4),
      lambda: '.struct("x ~ x x")', lambda: '.mask("<1 [0 1]>")', lambda: '.euclid(3, 8)', lambda: '.euclidRot(3, 8, 2)',
      lambda: '.degradeBy(%s)' % R.choice(["0.3", '"<0.2 0.7>"']), lambda: '.sometimesBy(%s, %s)' % (R.choice(["0.3", "0.7"]), fn()),
      lambda: '.sometimes(%s)' % fn(), lambda: '.often(%s)' % fn(), lambda: '.someCyclesBy(0.5, %s)' % fn(),
      lambda: '.shuffle(%s)' % num_arg(2, 4), lambda: '.scramble(%s)' % num_arg(2, 4), lambda: '.hurry(%s)' % num_arg(1, 2),
      lambda: '.add(n("%s"))' % mini_num(), lambda: '.gain("%s")' % R.choice(["1 0.5", "<0.8 1>", "0.5"]),
      lambda: '.pan(%s)' % R.choice(["sine", "saw.range(0.2, 0.8)", '"0 1"', "rand"]), lambda: '.speed("%s")' % R.choice(["1 2", "<1 -1>"]),
      lambda: '.s("%s")' % R.choice(["piano", "bd sd"]), lambda: '.lpf(%s)' % R.choice(["800", 'sine.range(200, 2000)', '"<400 800>"']),
      lambda: '.repeatCycles(2)', lambda: '.add.squeeze("0 %s")' % R.choice(["1", "<2 3>"]), lambda: '.mul.out("1 2 3")',
      lambda: '.n(irand(4))', lambda: '.scale("%s")' % R.choice(["C:major", "<D:minor E:phrygian>", "A2:minor:pentatonic"]),
      lambda: '.arp("0 <1 2>")', lambda: '.transpose(%s)' % R.choice(["3", '"<0 7>"', '"5P"']),
      lambda: '.set(s("%s"))' % R.choice(["x", "a b"]), lambda: '.struct(square.segment(4))', lambda: '.mask(rand.round().segment(4))',
      lambda: '.velocity(perlin)', lambda: '.room("0.3:2")', lambda: '.chunkBack(%s, %s)' % (R.choice(["2", "3"]), fn()),
      lambda: '.fastChunk(2, %s)' % fn(), lambda: '.euclidLegato(3, 8)', lambda: '.undegradeBy(0.4)', lambda: '.rarely(%s)' % fn(),
      lambda: '.almostNever(%s)' % fn(), lambda: '.someCycles(%s)' % fn(), lambda: '.linger("<0.25 0.5 1>")', lambda: '.fast(1.5).slow(2.5)', lambda: '.cpm(%s)' % R.choice(["30", "90"]), lambda: '.swing(2)',
    ])
    return e + m()
cases = []
for i in range(N):
    e = base()
    for _ in range(R.randint(2, 5) if LONG else R.randint(1, 3)):
        e = method(e)
    cases.append({"id": "r%d_%d" % (int(sys.argv[1]), i), "code": e, "cycles": R.choice([2, 3, 4])})
for c in cases: print(json.dumps(c))
