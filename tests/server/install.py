"""make install DESTDIR=...: tuttid and tutti, the man pages tuttid(8) and
tutti(1) (each renders with man -l, without groff warnings), the web
client under $(pkgdatadir)/web, which is where the installed tuttid's
default --web points; and the installed programs run."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from tuttitest import Tap, BUILDDIR, SRCDIR  # noqa: E402

t = Tap()
tmp = tempfile.mkdtemp(prefix="tutti-install-")
dest = os.path.join(tmp, "root")
env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
r = subprocess.run(["make", "-s", "-C", BUILDDIR, "install", "DESTDIR=" + dest],
                   capture_output=True, text=True, timeout=600, env=env)
t.ok(r.returncode == 0, "make install DESTDIR=... succeeds", r.stderr[-2000:])

files = {}
for root, _, names in os.walk(dest):
    for n in names:
        p = os.path.join(root, n)
        files[os.path.relpath(p, dest)] = p


def find(suffix):
    return [p for rel, p in files.items() if rel.endswith(suffix)]


for prog in ("bin/tuttid", "bin/tutti"):
    got = find(prog)
    t.ok(len(got) == 1 and os.access(got[0], os.X_OK), "%s is installed, executable" % prog, sorted(files)[:20])
for page, words in (("man8/tuttid.8", ["tuttid backup", "--pbkdf2-iterations", "SIGTERM"]),
                    ("man1/tutti.1", ["tutti login", "credentials", "TUTTI_TOKEN"])):
    got = find(page)
    t.ok(len(got) == 1, "%s is installed" % page)
    if got:
        r = subprocess.run(["man", "--warnings", "-l", got[0]], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, MANWIDTH="100", MAN_KEEP_FORMATTING="0", PAGER="cat"))
        text = re.sub(".\b", "", r.stdout)
        t.ok(r.returncode == 0 and "NAME" in text and all(w in text for w in words),
             "man -l %s renders it (NAME, %s)" % (page, ", ".join(words)), r.stderr[-500:])
        t.eq(r.stderr.strip(), "", "with no groff warnings")

web = find("share/tutti/web/index.html")
t.ok(len(web) == 1, "the web client is installed under $(pkgdatadir)/web")
src_web = os.path.join(SRCDIR, "clients", "web", "dist")
for name in sorted(os.listdir(src_web)) if os.path.isdir(src_web) else []:
    if os.path.isfile(os.path.join(src_web, name)) and not find("share/tutti/web/" + name):
        t.ok(False, "web file %s is installed" % name)
        break
else:
    t.ok(True, "every file of clients/web/dist is installed")

tuttid = find("bin/tuttid")[0]
tutti = find("bin/tutti")[0]
r = subprocess.run([tuttid, "--help"], capture_output=True, text=True, cwd=tmp, timeout=30)
m = re.search(r"installed copy in\s+(\S+)\)", r.stdout)
t.ok(m is not None and os.path.isfile(dest + m.group(1) + "/index.html"),
     "the installed tuttid's default web directory is where make install put the web client",
     r.stdout)
r = subprocess.run([tuttid, "--version"], capture_output=True, text=True, timeout=30)
t.ok(r.returncode == 0 and r.stdout.startswith("tuttid "), "the installed tuttid runs")
r = subprocess.run([tutti, "--version"], capture_output=True, text=True, timeout=30)
t.ok(r.returncode == 0 and r.stdout.startswith("tutti "), "the installed tutti runs")
shutil.rmtree(tmp, ignore_errors=True)
t.done()
