-- tutti/init.lua: live-code in a tutti session from Neovim (0.7 or later).
--
-- A client of tuttid's WebSocket protocol (docs/protocol.md): a buffer
-- shared live with the session's other performers, evaluation of the block
-- at the cursor, a range or the buffer, errors marked where they are,
-- annotations (the tokens sounding now) lit up, and hush. docs/editors.md
-- is the user's guide.
--
-- Neovim has no WebSocket client (and no TLS), so the connection is the
-- `tutti attach` job (clients/cli/attach.c): one JSON line per message on
-- its stdout and stdin; it holds the token and reconnects.
--
-- Invariants (as in clients/emacs/tutti.el):
--  1. Wire positions count UTF-16 units; buffer positions are (row, byte
--     column). Conversions go through the document's text (st.shadow) and
--     tutti.ot's units/advance.
--  2. The OT client is the protocol's: one op in flight (st.out), later
--     local edits composed into st.buf, remote ops transformed over both
--     (the remote op first at a tie); st.rev is the server revision the
--     buffer is based on.
--  3. st.shadow is the buffer's text as the OT client knows it: lines
--     joined by "\n". A local change is the difference between it and the
--     buffer, found on every change (on_bytes), so none is lost.
--  4. An evaluation waits until nothing is unacknowledged, so the text the
--     server evaluates at st.rev is the buffer's.
--  5. Annotations are lit on arrival (plus config.annotation_delay ms) for
--     their duration clamped to 0.1 .. 4 s; their ranges move from their
--     revision to the buffer's through st.history.
local ot = require("tutti.ot")

local M = {}

M.config = {
  program = "tutti",
  server = "http://127.0.0.1:8080",
  token = os.getenv("TUTTI_TOKEN"),
  name = os.getenv("USER") or "nvim",
  annotation_delay = 0, -- ms; about 350 to match the live.ogg stream
  timeout = 10000,      -- ms to wait for the server while connecting
}

M.last_result = nil -- the last eval.result (a table), for scripts and tests

local ns_anno = vim.api.nvim_create_namespace("tutti_annotations")
local ns_err = vim.api.nvim_create_namespace("tutti_errors")
local HISTORY_MAX = 500

local conns = {} -- "server session" -> connection
local docs = {}  -- buffer number -> document state

local function notify(msg, level)
  vim.notify("tutti: " .. msg, level or vim.log.levels.INFO)
end

local function is_nil(v)
  return v == nil or v == vim.NIL
end

-- The connection --------------------------------------------------------

local function send(conn, msg)
  if conn.job then
    vim.fn.chansend(conn.job, vim.json.encode(msg) .. "\n")
  end
end

local function call(conn, msg, cb)
  conn.next_id = conn.next_id + 1
  msg.id = "nv-" .. conn.next_id
  conn.pending[msg.id] = cb
  send(conn, msg)
end

local function wait(conn, pred, what)
  local ok = vim.wait(M.config.timeout, function() return pred() or conn.job == nil end, 20)
  if not pred() then
    error(string.format("tutti: no answer to %s%s", what,
      conn.last_error and (": " .. conn.last_error) or ""), 0)
  end
  return ok
end

local function call_sync(conn, msg, what)
  local reply
  call(conn, msg, function(m) reply = m end)
  wait(conn, function() return reply ~= nil end, what)
  if reply.type == "error" then
    error("tutti: " .. what .. ": " .. tostring(reply.error.message), 0)
  end
  return reply
end

local function doc_state(conn, doc)
  for buf, st in pairs(docs) do
    if st.conn == conn and st.doc == doc and vim.api.nvim_buf_is_valid(buf) then
      return st
    end
  end
end

-- Buffer text and positions (invariant 1) -------------------------------

local function buffer_text(buf)
  return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
end

-- (row, col) of 0-based byte offset b of text s.
local function rowcol(s, b)
  local row, last = 0, 0
  for i in s:sub(1, b):gmatch("()\n") do
    row = row + 1
    last = i
  end
  return row, b - last
end

local function byte_of_cursor(st, row, col)
  local lines = vim.api.nvim_buf_get_lines(st.buf, 0, row, false)
  local b = col
  for _, l in ipairs(lines) do b = b + #l + 1 end
  return b
end

local function units_at(st, row, col)
  return ot.units(st.shadow:sub(1, byte_of_cursor(st, row, col)))
end

-- Applies op to the buffer, part by part, so marks and cursors stay.
local function apply_to_buffer(st, op)
  local cur, b = st.shadow, 0
  st.applying = true
  local ok, err = pcall(function()
    for _, c in ipairs(op) do
      if type(c) == "string" then
        local r, col = rowcol(cur, b)
        vim.api.nvim_buf_set_text(st.buf, r, col, r, col, vim.split(c, "\n", { plain = true }))
        cur = cur:sub(1, b) .. c .. cur:sub(b + 1)
        b = b + #c
      elseif c > 0 then
        b = ot.advance(cur, b + 1, c) - 1
      else
        local e = ot.advance(cur, b + 1, -c) - 1
        local r1, c1 = rowcol(cur, b)
        local r2, c2 = rowcol(cur, e)
        vim.api.nvim_buf_set_text(st.buf, r1, c1, r2, c2, { "" })
        cur = cur:sub(1, b) .. cur:sub(e + 1)
      end
    end
  end)
  st.applying = false
  st.shadow = buffer_text(st.buf)
  if not ok then error(err, 0) end
end

-- The OT client (invariant 2) -------------------------------------------

local function send_out(st)
  send(st.conn, { type = "op", id = "op-" .. st.out_seq, doc = st.doc, rev = st.rev,
    op = st.out, seq = st.out_seq })
end

local flush_evals

local function remember(st, rev, op)
  table.insert(st.history, 1, { rev = rev, op = op })
  if #st.history > HISTORY_MAX then st.history[#st.history] = nil end
end

local function local_edit(st, op)
  if st.out then
    st.buf_op = st.buf_op and ot.compose(st.buf_op, op) or op
  else
    st.seq = st.seq + 1
    st.out, st.out_seq = op, st.seq
    send_out(st)
  end
end

local function acked(st, rev)
  remember(st, rev, st.out)
  st.rev, st.out = rev, nil
  if st.buf_op then
    st.seq = st.seq + 1
    st.out, st.out_seq, st.buf_op = st.buf_op, st.seq, nil
    send_out(st)
  end
  flush_evals(st)
end

local function on_remote(st, op, rev)
  if st.out then op, st.out = ot.transform(op, st.out) end
  if st.buf_op then op, st.buf_op = ot.transform(op, st.buf_op) end
  remember(st, rev, op)
  apply_to_buffer(st, op)
  st.rev = rev
end

local function snapshot(st, msg)
  st.out, st.buf_op, st.history, st.evals = nil, nil, {}, {}
  st.rev = msg.rev
  st.applying = true
  vim.api.nvim_buf_set_lines(st.buf, 0, -1, false, vim.split(msg.text, "\n", { plain = true }))
  st.applying = false
  st.shadow = buffer_text(st.buf)
end

local function reload(st)
  call(st.conn, { type = "doc.open", doc = st.doc }, function(m)
    if m.type == "doc.snapshot" then snapshot(st, m) end
  end)
end

-- on_bytes: the difference from the shadow is the local op (invariant 3).
local function on_change(st, start_byte)
  if st.applying or not st.conn then return end
  local now = buffer_text(st.buf)
  local op = ot.diff(st.shadow, now, start_byte)
  st.shadow = now
  if #op > 1 or type(op[1]) ~= "number" or op[1] < 0 then
    local ok, err = pcall(local_edit, st, op)
    if not ok then notify(tostring(err), vim.log.levels.ERROR) end
  end
end

-- Reconnecting (docs/protocol.md, "Losing the connection") --------------

local function reopened(st, msg)
  local own, lost = st.recovery.own_rev, st.recovery.lost
  st.recovery = nil
  if msg.type ~= "doc.ops" then
    notify("too long away: reloaded, unsent edits dropped", vim.log.levels.WARN)
    return snapshot(st, msg)
  end
  local rev = msg.from
  for _, op in ipairs(msg.ops) do
    rev = rev + 1
    if own == rev and st.out then acked(st, rev) else on_remote(st, op, rev) end
  end
  if lost and st.out then send_out(st) end
end

local function reconnected(conn)
  notify("reconnected")
  for _, st in pairs(docs) do
    if st.conn == conn then
      st.recovery = {}
      if st.out then send_out(st) end
      call(conn, { type = "doc.open", doc = st.doc, rev = st.rev }, function(m) reopened(st, m) end)
    end
  end
end

-- Annotations (invariant 5) ---------------------------------------------

local function map_range(st, rev, from, to)
  local ops = {}
  for _, h in ipairs(st.history) do
    if h.rev <= rev then break end
    table.insert(ops, 1, h.op)
  end
  if #ops ~= st.rev - rev then return nil end
  if st.out then ops[#ops + 1] = st.out end
  if st.buf_op then ops[#ops + 1] = st.buf_op end
  for _, op in ipairs(ops) do
    from, to = ot.move_index(from, op), ot.move_index(to, op)
  end
  if from < to then return from, to end
end

local function light(st, from, to, dur)
  local b1, b2 = ot.byte_offset(st.shadow, from), ot.byte_offset(st.shadow, to)
  local r1, c1 = rowcol(st.shadow, b1)
  local r2, c2 = rowcol(st.shadow, b2)
  local ok, id = pcall(vim.api.nvim_buf_set_extmark, st.buf, ns_anno, r1, c1,
    { end_row = r2, end_col = c2, hl_group = "TuttiAnnotation", priority = 200 })
  if ok then
    vim.defer_fn(function()
      if vim.api.nvim_buf_is_valid(st.buf) then
        pcall(vim.api.nvim_buf_del_extmark, st.buf, ns_anno, id)
      end
    end, math.floor(1000 * math.max(0.1, math.min(4, tonumber(dur) or 0.1))))
  end
end

local function on_anno(conn, msg)
  for _, ev in ipairs(msg.events or {}) do
    local st = doc_state(conn, ev.doc)
    if st and not st.recovery then
      local from, to = map_range(st, ev.rev, ev.range[1], ev.range[2])
      if from then
        if M.config.annotation_delay > 0 then
          vim.defer_fn(function()
            if vim.api.nvim_buf_is_valid(st.buf) then light(st, from, to, ev.dur) end
          end, M.config.annotation_delay)
        else
          light(st, from, to, ev.dur)
        end
      end
    end
  end
end

-- Evaluation -------------------------------------------------------------

local function mark_error(st, line, col, text)
  local row = math.max(0, (tonumber(line) or 1) - 1)
  local l = vim.api.nvim_buf_get_lines(st.buf, row, row + 1, false)[1]
  if not l then return end
  local ok, c = pcall(vim.str_byteindex, l, math.max(0, (tonumber(col) or 1) - 1))
  c = ok and c or 0
  local e = c
  while e < #l and l:sub(e + 1, e + 1):match("[%w_$]") do e = e + 1 end
  if e == c then e = math.min(#l, c + 1) end
  vim.api.nvim_buf_set_extmark(st.buf, ns_err, row, c, { end_row = row, end_col = e,
    hl_group = "TuttiError", virt_text = { { text, "TuttiErrorText" } } })
end

local function on_result(st, msg)
  M.last_result = msg
  vim.api.nvim_buf_clear_namespace(st.buf, ns_err, 0, -1)
  if msg.type == "error" then
    notify(tostring(msg.error.message), vim.log.levels.ERROR)
  elseif msg.ok then
    notify(string.format("lands at cycle %s (frame %s)", msg.landing.cycle, msg.landing.frame))
  else
    local e = msg.error or {}
    mark_error(st, e.line, e.col, tostring(e.message))
    notify(string.format("%s:%s:%s: %s", st.name, e.line, e.col, e.message), vim.log.levels.ERROR)
  end
  if M.on_result then M.on_result(msg) end
end

flush_evals = function(st)
  if st.out or st.buf_op then return end
  local evals = st.evals
  st.evals = {}
  for _, msg in ipairs(evals) do
    msg.rev = st.rev
    call(st.conn, msg, function(m) on_result(st, m) end)
  end
end

local function current()
  local st = docs[vim.api.nvim_get_current_buf()]
  if not st or not st.conn or not st.conn.job then
    error("tutti: this buffer is not connected (:TuttiConnect)", 0)
  end
  return st
end

local function eval(fields)
  local st = current()
  local msg = { type = "eval", doc = st.doc }
  for k, v in pairs(fields) do msg[k] = v end
  st.evals[#st.evals + 1] = msg
  flush_evals(st)
end

-- Evaluates the block (lines between blank lines) at the cursor.
function M.eval_block()
  local st = current()
  local pos = vim.api.nvim_win_get_cursor(0)
  eval({ at = units_at(st, pos[1] - 1, pos[2]) })
end

-- Evaluates lines first..last (1-based, inclusive).
function M.eval_lines(first, last)
  local st = current()
  local n = vim.api.nvim_buf_line_count(st.buf)
  local to = last < n and units_at(st, last, 0) or ot.units(st.shadow)
  eval({ range = { units_at(st, first - 1, 0), to } })
end

function M.eval_buffer()
  eval({})
end

function M.hush(off)
  local st = current()
  send(st.conn, { type = "hush", on = not off })
end

function M.is_idle(buf)
  local st = docs[buf or vim.api.nvim_get_current_buf()]
  return st ~= nil and st.out == nil and st.buf_op == nil and #st.evals == 0
end

function M.state(buf)
  return docs[buf or vim.api.nvim_get_current_buf()]
end

-- Messages --------------------------------------------------------------

local function on_op_error(conn, msg)
  for _, st in pairs(docs) do
    if st.conn == conn and st.out and msg.id == "op-" .. st.out_seq then
      local code = msg.error and msg.error.code
      if st.recovery and code == "not_open" then
        st.recovery.lost = true
      elseif code == "retry" or code == "rate_limited" then
        vim.defer_fn(function() if st.out then send_out(st) end end, 500)
      else
        notify("edit refused (" .. tostring(msg.error and msg.error.message) .. "): reloading",
          vim.log.levels.WARN)
        reload(st)
      end
    end
  end
end

local function dispatch(conn, msg)
  local t = msg.type
  local cb = type(msg.id) == "string" and conn.pending[msg.id]
  if cb then conn.pending[msg.id] = nil end
  if t == "ack" then
    local st = doc_state(conn, msg.doc)
    if st and st.out then
      if st.recovery then st.recovery.own_rev = msg.rev else acked(st, msg.rev) end
    end
  elseif t == "ops" then
    local st = doc_state(conn, msg.doc)
    if st then
      for _, o in ipairs(msg.ops) do on_remote(st, o.op, o.rev) end
    end
  elseif t == "anno" then
    on_anno(conn, msg)
  elseif t == "error" and type(msg.id) == "string" and msg.id:sub(1, 3) == "op-" then
    on_op_error(conn, msg)
  elseif cb then
    cb(msg)
  elseif t == "joined" then
    conn.joined = msg
  elseif t == "eval" then
    notify(string.format("%s evaluated %s (lands at cycle %s)", msg.name, msg.what,
      msg.landing and msg.landing.cycle))
  elseif t == "hush" then
    notify(string.format("%s %s", msg.name, msg.on and "hushed" or "un-hushed"))
  elseif t == "attach.lost" then
    notify("connection lost (" .. tostring(msg.message) .. "); reconnecting", vim.log.levels.WARN)
  elseif t == "attach.reconnected" then
    reconnected(conn)
  elseif t == "attach.error" then
    conn.last_error = msg.message
    notify(tostring(msg.message), vim.log.levels.ERROR)
  elseif t == "error" then
    notify(tostring(msg.error and msg.error.message), vim.log.levels.ERROR)
  end
end

local function on_stdout(conn, data)
  -- data: lines; the first continues the last partial one.
  data[1] = conn.partial .. data[1]
  conn.partial = table.remove(data)
  for _, line in ipairs(data) do
    if line ~= "" then
      local ok, msg = pcall(vim.json.decode, line)
      if ok and type(msg) == "table" then
        local ok2, err = pcall(dispatch, conn, msg)
        if not ok2 then notify(tostring(err), vim.log.levels.ERROR) end
      end
    end
  end
end

local function start(server, session, token)
  local key = server .. " " .. session
  local conn = conns[key]
  if conn and conn.job then return conn end
  conn = { key = key, next_id = 0, pending = {}, partial = "" }
  local cmd = { M.config.program, "attach", "--server", server, "--session", session,
    "--client", "nvim", "--name", M.config.name }
  if token and token ~= "" then vim.list_extend(cmd, { "--token", token }) end
  local job = vim.fn.jobstart(cmd, {
    on_stdout = function(_, data) on_stdout(conn, data) end,
    on_stderr = function(_, data)
      local s = table.concat(data, "\n")
      if s:match("%S") then conn.last_error = s end
    end,
    on_exit = function(_, code)
      conn.job = nil
      conns[key] = nil
      notify("the connection ended (tutti attach exit " .. code .. ")", vim.log.levels.WARN)
    end,
  })
  if job <= 0 then error("tutti: cannot run " .. M.config.program, 0) end
  conn.job = job
  conns[key] = conn
  wait(conn, function() return conn.joined ~= nil end, "join")
  return conn
end

local function find_doc(conn, name)
  for _, d in ipairs(call_sync(conn, { type = "doc.list" }, "doc.list").docs) do
    if d.name == name then return d.id end
  end
  return call_sync(conn, { type = "doc.create", name = name }, "doc.create").doc.id
end

-- Joins session on server and opens its document name (created when
-- missing) in a new shared buffer; returns the buffer number.
function M.connect(server, session, name, token)
  server = server or M.config.server
  local conn = start(server, session, token or M.config.token)
  local id = find_doc(conn, name)
  local buf = vim.api.nvim_create_buf(true, false)
  vim.api.nvim_buf_set_name(buf, string.format("tutti://%s/%s", session, name))
  vim.bo[buf].buftype = "acwrite"
  vim.bo[buf].swapfile = false
  vim.bo[buf].filetype = "javascript"
  local st = { conn = conn, buf = buf, doc = id, name = name, rev = 0, seq = 0, shadow = "",
    history = {}, evals = {} }
  docs[buf] = st
  -- The snapshot is applied as it arrives, before the ops that follow it.
  local opened
  call(conn, { type = "doc.open", doc = id }, function(m)
    if m.type == "doc.snapshot" then snapshot(st, m) end
    opened = m
  end)
  wait(conn, function() return opened ~= nil end, "doc.open")
  if opened.type ~= "doc.snapshot" then
    docs[buf] = nil
    error("tutti: doc.open: " .. tostring(opened.error and opened.error.message), 0)
  end
  vim.api.nvim_buf_attach(buf, false, {
    on_bytes = function(_, _, _, _, _, start_byte)
      if docs[buf] ~= st then return true end
      on_change(st, start_byte)
    end,
  })
  vim.api.nvim_create_autocmd("BufWriteCmd", { buffer = buf, callback = function()
    vim.bo[buf].modified = false -- the server keeps the text; nothing to write
  end })
  local map = function(lhs, fn) vim.keymap.set("n", lhs, fn, { buffer = buf }) end
  map("<C-c><C-c>", M.eval_block)
  map("<C-c><C-b>", M.eval_buffer)
  map("<C-c><C-h>", function() M.hush(false) end)
  vim.keymap.set("x", "<C-c><C-r>", ":TuttiEvalRange<CR>", { buffer = buf, silent = true })
  return buf
end

function M.disconnect(buf)
  local st = docs[buf or vim.api.nvim_get_current_buf()]
  if not st then return end
  local conn = st.conn
  docs[st.buf] = nil
  for _, o in pairs(docs) do
    if o.conn == conn then return end
  end
  if conn and conn.job then vim.fn.jobstop(conn.job) end
end

return M
