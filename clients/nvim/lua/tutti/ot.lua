-- tutti/ot.lua: tutti's operations (docs/collab.md) for the Neovim plugin.
--
-- An operation is a list walking the whole text: a positive integer keeps
-- that many UTF-16 code units, a negative one deletes that many, a string
-- inserts itself. Lua strings are UTF-8 bytes, so this module also counts
-- and cuts text in UTF-16 units (a character of 4 UTF-8 bytes, above
-- U+FFFF, is two units; every other character one). Written from the wire
-- format like tests/lib/otclient.py, and checked against it.
local M = {}

-- The length of UTF-8 string s in UTF-16 units.
function M.units(s)
  local _, cont = s:gsub("[\128-\191]", "")
  local _, four = s:gsub("[\240-\247]", "")
  return #s - cont + four
end

local function char_len(b)
  if b < 0xC0 then return 1 elseif b < 0xE0 then return 2 elseif b < 0xF0 then return 3 end
  return 4
end

-- The byte index (1-based) reached from byte i of s after n UTF-16 units.
-- A count ending inside a surrogate pair stops after the whole character.
function M.advance(s, i, n)
  while n > 0 and i <= #s do
    local len = char_len(s:byte(i))
    n = n - (len == 4 and 2 or 1)
    i = i + len
  end
  return i
end

-- Byte offset (0-based) of UTF-16 offset u in s.
function M.byte_offset(s, u)
  return M.advance(s, 1, u) - 1
end

-- The operation in canonical form: no empty parts, neighbours of one kind
-- merged, an insert before a delete at the same place.
function M.norm(op)
  local out = {}
  for _, c in ipairs(op) do
    local last = out[#out]
    if c == "" or c == 0 then
      -- nothing
    elseif type(c) == "string" then
      if type(last) == "string" then
        out[#out] = last .. c
      elseif type(last) == "number" and last < 0 then
        local before = out[#out - 1]
        if type(before) == "string" then
          out[#out - 1] = before .. c
        else
          out[#out] = c
          out[#out + 1] = last
        end
      else
        out[#out + 1] = c
      end
    elseif type(last) == "number" and (last > 0) == (c > 0) then
      out[#out] = last + c
    else
      out[#out + 1] = c
    end
  end
  return out
end

local function reader(op)
  local i = 0
  return function()
    i = i + 1
    return op[i]
  end
end

-- a', b' with apply(apply(s, a), b') == apply(apply(s, b), a'); a's
-- inserts go first at a tie (the server's rule: the op applied first).
function M.transform(a, b)
  local na, nb = reader(a), reader(b)
  local ap, bp = {}, {}
  local x, y = na(), nb()
  while x ~= nil or y ~= nil do
    if type(x) == "string" then
      ap[#ap + 1] = x
      bp[#bp + 1] = M.units(x)
      x = na()
    elseif type(y) == "string" then
      ap[#ap + 1] = M.units(y)
      bp[#bp + 1] = y
      y = nb()
    else
      assert(x ~= nil and y ~= nil, "tutti: ops of different lengths")
      local m
      if x > 0 and y > 0 then
        m = math.min(x, y)
        ap[#ap + 1] = m
        bp[#bp + 1] = m
      elseif x < 0 and y < 0 then
        m = math.min(-x, -y)
      elseif x < 0 then
        m = math.min(-x, y)
        ap[#ap + 1] = -m
      else
        m = math.min(x, -y)
        bp[#bp + 1] = -m
      end
      x = x > 0 and x - m or x + m
      y = y > 0 and y - m or y + m
      if x == 0 then x = na() end
      if y == 0 then y = nb() end
    end
  end
  return M.norm(ap), M.norm(bp)
end

-- One operation with the effect of a, then b.
function M.compose(a, b)
  local na, nb = reader(a), reader(b)
  local out = {}
  local x, y = na(), nb()
  while x ~= nil or y ~= nil do
    if type(x) == "number" and x < 0 then
      out[#out + 1] = x
      x = na()
    elseif type(y) == "string" then
      out[#out + 1] = y
      y = nb()
    else
      assert(x ~= nil and y ~= nil, "tutti: compose of ops of different lengths")
      if type(x) == "string" then
        local m = math.min(M.units(x), math.abs(y))
        local k = M.advance(x, 1, m)
        if y > 0 then out[#out + 1] = x:sub(1, k - 1) end
        if k <= #x then x = x:sub(k) else x = na() end
        y = y > 0 and y - m or y + m
      else
        local m = math.min(x, math.abs(y))
        out[#out + 1] = y > 0 and m or -m
        x = x - m
        y = y > 0 and y - m or y + m
        if x == 0 then x = na() end
      end
      if y == 0 then y = nb() end
    end
  end
  return M.norm(out)
end

-- The text op makes of s (both UTF-8); errors when op does not fit s.
function M.apply(s, op)
  local out, i = {}, 1
  for _, c in ipairs(op) do
    if type(c) == "string" then
      out[#out + 1] = c
    elseif c > 0 then
      local j = M.advance(s, i, c)
      out[#out + 1] = s:sub(i, j - 1)
      i = j
    else
      i = M.advance(s, i, -c)
    end
  end
  assert(i == #s + 1, "tutti: op does not cover the text")
  return table.concat(out)
end

-- UTF-16 offset u moved through op (an insert at u pushes it right).
function M.move_index(u, op)
  local i, nu = 0, u
  for _, c in ipairs(op) do
    if i > u then break end
    if type(c) == "string" then
      nu = nu + M.units(c)
    elseif c > 0 then
      i = i + c
    else
      if i < u then nu = nu - math.min(-c, u - i) end
      i = i - c
    end
  end
  return nu
end

-- The op turning UTF-8 text a into b: the common prefix (at most hint
-- bytes, where the editor says the change starts) and suffix retained,
-- cut at character starts.
function M.diff(a, b, hint)
  local p, la, lb = 0, #a, #b
  local maxp = math.min(la, lb, hint or la)
  while p < maxp and a:byte(p + 1) == b:byte(p + 1) do p = p + 1 end
  while p > 0 and p < la and char_len(a:byte(p + 1)) == 1 and a:byte(p + 1) >= 0x80 do p = p - 1 end
  local s = 0
  while s < la - p and s < lb - p and a:byte(la - s) == b:byte(lb - s) do s = s + 1 end
  while s > 0 and a:byte(la - s + 1) >= 0x80 and a:byte(la - s + 1) < 0xC0 do s = s - 1 end
  return M.norm({ M.units(a:sub(1, p)), b:sub(p + 1, lb - s), -M.units(a:sub(p + 1, la - s)),
    M.units(a:sub(la - s + 1)) })
end

return M
