"""The Neovim plugin (clients/nvim) in a real Neovim (nvim --headless,
Debian's neovim) against a real tuttid, with a Python peer editing the
same document at the same time: the same checks as tests/editors/emacs.py
(tests/editors/driver.py); the Neovim side is tests/editors/nvim-test.lua."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from driver import run, SRCDIR  # noqa: E402

run("nvim", ["nvim", "--headless", "-u", "NONE", "-i", "NONE", "-n",
             "--cmd", "set rtp^=" + os.path.join(SRCDIR, "clients", "nvim"),
             "-c", "luafile " + os.path.join(SRCDIR, "tests", "editors", "nvim-test.lua")],
    "nvim-ed")
