# tests/editors/: the Emacs and Neovim plugins, each in the real editor
# (emacs --batch, nvim --headless) against a real tuttid with a Python peer
# editing the same document; and `tutti attach`, the pipe they connect by.
EDITOR_TESTS = tests/editors/attach.py tests/editors/ot_check.py tests/editors/emacs.py \
	tests/editors/nvim.py
TESTS += $(EDITOR_TESTS)
EXTRA_DIST += $(EDITOR_TESTS) tests/editors/driver.py tests/editors/emacs-test.el \
	tests/editors/nvim-test.lua clients/emacs/tutti.el clients/nvim/plugin/tutti.lua \
	clients/nvim/lua/tutti/init.lua clients/nvim/lua/tutti/ot.lua
