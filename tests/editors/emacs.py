"""tutti.el in a real Emacs (emacs --batch, Debian's emacs-nox) against a
real tuttid, with a Python peer editing the same document at the same time:
the texts converge (a non-BMP character and a two-byte one included), the
database holds both authors' ops, an evaluation lands, an erroneous one
shows its error where it is, annotations light up, hush reaches the others.
The checks are in tests/editors/driver.py; the Emacs side is
tests/editors/emacs-test.el."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from driver import run, SRCDIR  # noqa: E402

run("emacs", ["emacs", "--batch", "-Q",
              "-l", os.path.join(SRCDIR, "clients", "emacs", "tutti.el"),
              "-l", os.path.join(SRCDIR, "tests", "editors", "emacs-test.el")], "emacs-ed")
