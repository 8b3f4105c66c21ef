-- nvim-test.lua: drives the tutti Neovim plugin as a user would, for
-- tests/editors/nvim.py. Run by tests/editors/driver.py as
--   nvim --headless -u NONE --cmd 'set rtp^=clients/nvim' -c 'luafile tests/editors/nvim-test.lua'
-- with TT_SERVER, TT_SESSION, TT_TOKEN, TT_TUTTI, TT_DIR and TT_SEED in the
-- environment. Reports "T: WORD ..." lines on stderr (the driver's
-- docstring lists them); every wait has a bound.
vim.cmd("runtime plugin/tutti.lua")
local tutti = require("tutti")
local api = vim.api

local function out(fmt, ...)
  io.stderr:write("T: " .. string.format(fmt, ...) .. "\n")
  io.stderr:flush()
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
-- Messages for the user go to stderr too: one line each, apart from ours.
vim.notify = function(msg) io.stderr:write("# " .. tostring(msg) .. "\n") end

local function b64(s)
  local r = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    for k = 3, 0, -1 do
      local idx = math.floor(n / 64 ^ k) % 64
      r[#r + 1] = B64:sub(idx + 1, idx + 1)
    end
    if not b then r[#r], r[#r - 1] = "=", "=" elseif not c then r[#r] = "=" end
  end
  return table.concat(r)
end

local function wait(pred, secs)
  vim.wait(secs * 1000, pred, 20)
  return pred()
end

local function exists(name)
  return vim.loop.fs_stat(os.getenv("TT_DIR") .. "/" .. name) ~= nil
end

local function text(buf)
  return table.concat(api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
end

local alphabet = { "a", "b", " ", "x", "\n", "(", ")", ".", "é", "🥁", "🎶", 's("bd")' }

-- An insert or a delete at a random place, as typing would make.
local function random_edit(buf)
  local lines = api.nvim_buf_get_lines(buf, 0, -1, false)
  local row = math.random(#lines) - 1
  local l = lines[row + 1]
  local chars = vim.fn.strchars(l)
  local ci = math.random(0, chars)
  local col = vim.str_byteindex(l, ci)
  if chars > 0 and math.random(100) <= 35 and ci < chars then
    local e = vim.str_byteindex(l, math.min(chars, ci + math.random(3)))
    api.nvim_buf_set_text(buf, row, col, row, e, { "" })
  else
    local s = alphabet[math.random(#alphabet)]
    api.nvim_buf_set_text(buf, row, col, row, col, vim.split(s, "\n", { plain = true }))
  end
end

local function eval_at_line(line)
  api.nvim_win_set_cursor(0, { line, 0 })
  tutti.last_result = nil
  vim.cmd("TuttiEval")
  return wait(function() return tutti.last_result ~= nil end, 10) and tutti.last_result
end

local function extmark_text(buf, ns_name)
  local ns = api.nvim_get_namespaces()[ns_name]
  for _, m in ipairs(api.nvim_buf_get_extmarks(buf, ns, 0, -1, { details = true })) do
    local d = m[4]
    local t = api.nvim_buf_get_text(buf, m[2], m[3], d.end_row, d.end_col, {})
    return table.concat(t, "\n")
  end
end

local function main()
  tutti.config.program = os.getenv("TT_TUTTI")
  tutti.config.name = "nvim-ed"
  vim.cmd(string.format("TuttiConnect %s main %s %s", os.getenv("TT_SESSION"),
    os.getenv("TT_SERVER"), os.getenv("TT_TOKEN")))
  local buf = api.nvim_get_current_buf()
  if not tutti.state(buf) then error("TuttiConnect did not connect") end
  math.randomseed(tonumber(os.getenv("TT_SEED")) or 1)
  out("READY")
  for _ = 1, 40 do
    random_edit(buf)
    vim.wait(20)
  end
  -- One change typed in normal mode, too.
  api.nvim_win_set_cursor(0, { 1, 0 })
  vim.cmd("normal! i🥁é:")
  out("EDITS-DONE")
  if wait(function() return tutti.is_idle(buf) end, 20) then out("IDLE") end
  wait(function() return exists("peer-done") end, 30)
  local f = io.open(os.getenv("TT_DIR") .. "/peer-done")
  local rev = tonumber(f:read("*a"))
  f:close()
  wait(function() return tutti.is_idle(buf) and tutti.state(buf).rev >= rev end, 20)
  out("TEXT %s", b64(text(buf)))
  wait(function() return exists("checked") end, 30)
  -- Typing while the server is down; tutti attach reconnects.
  wait(function() return exists("down") end, 30)
  for _ = 1, 5 do
    random_edit(buf)
    vim.wait(20)
  end
  api.nvim_buf_set_text(buf, 0, 0, 0, 0, { "OFFLINE🥁 " })
  out("OFFLINE-DONE")
  wait(function() return exists("up") end, 30)
  wait(function() return tutti.is_idle(buf) end, 40)
  out("TEXT2 %s", b64(text(buf)))
  wait(function() return exists("checked2") end, 30)

  api.nvim_buf_set_lines(buf, 0, -1, false, { 's("bd sd")', "", 'note("c3")', "  .fsat(2)", "" })
  local r = eval_at_line(1)
  out("EVAL1 %s %s", r and r.ok and "t" or "nil", r and r.landing and r.landing.cycle)
  r = eval_at_line(3)
  local e = r and r.error or {}
  out("EVAL2 %s %s %s %s %s", r and r.ok and "t" or "nil", e.line, e.col,
    b64(tostring(e.message or "")), b64(extmark_text(buf, "tutti_errors") or ""))
  local lit = wait(function() return extmark_text(buf, "tutti_annotations") end, 20)
  if lit then out("ANNO %s", b64(lit)) end
  vim.cmd("TuttiHush")
  out("HUSHED")
  vim.wait(500)
  vim.cmd("TuttiDisconnect")
  out("DONE")
end

local ok, err = pcall(main)
if not ok then
  out("ERROR %s", b64(tostring(err)))
  io.stderr:write("nvim-test: " .. tostring(err) .. "\n")
  vim.cmd("cquit 1")
end
vim.cmd("qall!")
