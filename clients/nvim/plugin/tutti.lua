-- plugin/tutti.lua: the commands of the tutti plugin (lua/tutti/init.lua).
--
--   :TuttiConnect SESSION [DOC] [SERVER] [TOKEN]   share DOC (default "main")
--   :TuttiEval          the block at the cursor     (<C-c><C-c>)
--   :'<,'>TuttiEvalRange   the lines of the range   (<C-c><C-r> in visual mode)
--   :TuttiEvalBuffer    the whole document          (<C-c><C-b>)
--   :TuttiHush[!]       silence the session; ! lets it sound again (<C-c><C-h>)
--   :TuttiDisconnect
if vim.g.loaded_tutti then return end
vim.g.loaded_tutti = true

local function tutti() return require("tutti") end

local function guard(fn)
  return function(opts)
    local ok, err = pcall(fn, opts)
    if not ok then vim.notify(tostring(err), vim.log.levels.ERROR) end
  end
end

vim.api.nvim_create_user_command("TuttiConnect", guard(function(opts)
  local a = opts.fargs
  local buf = tutti().connect(a[3], a[1], a[2] or "main", a[4])
  vim.api.nvim_set_current_buf(buf)
end), { nargs = "+" })
vim.api.nvim_create_user_command("TuttiEval", guard(function() tutti().eval_block() end), {})
vim.api.nvim_create_user_command("TuttiEvalRange",
  guard(function(o) tutti().eval_lines(o.line1, o.line2) end), { range = true })
vim.api.nvim_create_user_command("TuttiEvalBuffer", guard(function() tutti().eval_buffer() end), {})
vim.api.nvim_create_user_command("TuttiHush", guard(function(o) tutti().hush(o.bang) end), { bang = true })
vim.api.nvim_create_user_command("TuttiDisconnect", guard(function() tutti().disconnect() end), {})

vim.api.nvim_set_hl(0, "TuttiAnnotation", { default = true, link = "IncSearch" })
vim.api.nvim_set_hl(0, "TuttiError", { default = true, undercurl = true, sp = "Red" })
vim.api.nvim_set_hl(0, "TuttiErrorText", { default = true, link = "ErrorMsg" })
