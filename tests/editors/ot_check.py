"""The plugins' OT code (tutti.el's and lua/tutti/ot.lua's transform,
compose and UTF-16 counting) against the Python reference client
(tests/lib/otclient.py) on random operations over text with é, 🎶 and
newlines: every answer must be the same, in canonical form."""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, SRCDIR  # noqa: E402
from otclient import apply, compose, make_edit, transform, units  # noqa: E402

N_CASES = 400
SEED = int(os.environ.get("TT_SEED", "20261121"))

t = Tap()
t.diag("seed %d (set TT_SEED to repeat)" % SEED)
rng = random.Random(SEED)
cases, want = [], []
for _ in range(N_CASES):
    text = "".join(rng.choice("ab é🎶\n(x)") for _ in range(rng.randint(0, 12)))
    a, b = make_edit(text, rng), make_edit(text, rng)
    c = make_edit(apply(text, a), rng)
    cases.append({"text": text, "a": a, "b": b, "c": c})
    want.append({"units": units(text), "transform": list(transform(a, b)), "compose": compose(a, c)})

tmp = tempfile.mkdtemp(prefix="tutti-otcheck-")
cases_path = os.path.join(tmp, "cases.json")
with open(cases_path, "w", encoding="utf-8") as f:
    json.dump(cases, f, ensure_ascii=False)

ELISP = r"""
(let* ((cases (with-temp-buffer
                (insert-file-contents (getenv "TT_CASES"))
                (json-parse-buffer :object-type 'alist :array-type 'list)))
       (vec (lambda (op) (vconcat op)))
       (out (mapcar (lambda (c)
                      (let ((tr (tutti--transform (alist-get 'a c) (alist-get 'b c))))
                        `((units . ,(tutti--units (alist-get 'text c)))
                          (transform . ,(vector (funcall vec (car tr)) (funcall vec (cdr tr))))
                          (compose . ,(funcall vec (tutti--compose (alist-get 'a c)
                                                                   (alist-get 'c c)))))))
                    cases)))
  (with-temp-file (getenv "TT_OUT")
    (set-buffer-file-coding-system 'utf-8-unix)
    (insert (json-serialize (vconcat out)))))
"""

LUA = r"""
local ot = require("tutti.ot")
local f = io.open(os.getenv("TT_CASES")); local cases = vim.json.decode(f:read("*a")); f:close()
local out = {}
for i, c in ipairs(cases) do
  local a1, b1 = ot.transform(c.a, c.b)
  out[i] = { units = ot.units(c.text), transform = { a1, b1 }, compose = ot.compose(c.a, c.c) }
end
f = io.open(os.getenv("TT_OUT"), "w"); f:write(vim.json.encode(out)); f:close()
vim.cmd("qall!")
"""


def fix(v):
    """Lua encodes an empty list as {}: read it as []."""
    if isinstance(v, dict) and not v:
        return []
    if isinstance(v, list):
        return [fix(x) for x in v]
    if isinstance(v, dict):
        return {k: fix(x) for k, x in v.items()}
    return v


def check(name, cmd):
    out = os.path.join(tmp, name + ".json")
    env = dict(os.environ, TT_CASES=cases_path, TT_OUT=out, HOME=tmp)
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        t.ok(False, "%s answers within 120 s" % name)
        return
    try:
        with open(out, encoding="utf-8") as f:
            got = fix(json.load(f))
    except (OSError, ValueError) as e:
        t.ok(False, "%s answers" % name, "%s\n%s" % (e, p.stderr.decode(errors="replace")[-1500:]))
        return
    t.eq(len(got), N_CASES, "%s answers every case" % name)
    for key in ("units", "transform", "compose"):
        bad = [(cases[i], got[i][key], want[i][key]) for i in range(min(len(got), N_CASES))
               if got[i][key] != want[i][key]]
        t.ok(not bad, "%s: %s agrees with otclient.py on %d cases" % (name, key, N_CASES),
             bad[:1] and "case %r\ngot  %r\nwant %r" % bad[0])


check("emacs", ["emacs", "--batch", "-Q", "-l", os.path.join(SRCDIR, "clients", "emacs", "tutti.el"),
                "--eval", ELISP])
check("nvim", ["nvim", "--headless", "-u", "NONE", "-i", "NONE", "-n",
               "--cmd", "set rtp^=" + os.path.join(SRCDIR, "clients", "nvim"), "-c", "lua " + LUA.replace("\n", " ")])
shutil.rmtree(tmp, ignore_errors=True)
t.done()
