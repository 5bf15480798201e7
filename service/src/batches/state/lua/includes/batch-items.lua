-- Item and chunk state of a batch script: decoded on first use, written back once (flush).
-- Items: decoded on first use, written back once by flush().
local cache, dirty = {}, {}
local PACK = '^(%a)|(%d+)|(%-?%d+)|(%d+)|([^|]*)|(%d+)|(%d+)|(%d+)|(%w)$'
local function decode(v)
  local st, att, chunk, first, lease, leaseAt, leaseExp, due, rep = string.match(v, PACK)
  return { st = st, att = tonumber(att), chunk = tonumber(chunk), first = tonumber(first), lease = lease,
    leaseAt = tonumber(leaseAt), leaseExp = tonumber(leaseExp), due = tonumber(due), rep = rep }
end
local function encode(it)
  return table.concat({ it.st, it.att, it.chunk, it.first, it.lease, it.leaseAt, it.leaseExp, it.due, it.rep }, '|')
end
local function newItem()
  return { st = 'p', att = 0, chunk = -1, first = 0, lease = '', leaseAt = 0, leaseExp = 0, due = 0, rep = '0' }
end
local function loadItems(keys)
  local wanted = {}
  for _, key in ipairs(keys) do
    if cache[key] == nil then
      wanted[#wanted + 1] = key
    end
  end
  for i = 1, #wanted, 1000 do
    local group = { unpack(wanted, i, math.min(i + 999, #wanted)) }
    local values = redis.call('HMGET', K.item, unpack(group))
    for j, key in ipairs(group) do
      cache[key] = values[j] and decode(values[j]) or false
    end
  end
end
local function item(key)
  if cache[key] == nil then
    local v = redis.call('HGET', K.item, key)
    cache[key] = v and decode(v) or false
  end
  return cache[key]
end
local function changed(key)
  dirty[key] = true
  touched = true
end
local function move(it, to)
  if it.st ~= nil then
    bump(COUNTER[it.st], -1)
  end
  bump(COUNTER[to], 1)
  it.st = to
end

-- Chunks: same pattern.
local chunkCache, chunkDirty = {}, {}
local function chunk(index)
  index = tonumber(index)
  if index == nil or index < 0 then
    return nil
  end
  if chunkCache[index] == nil then
    local v = redis.call('HGET', K.chunks, index)
    if v then
      local s, e, left, gen, started = string.match(v, '^(%d+)|(%d+)|(%-?%d+)|(%d+)|(%d)$')
      chunkCache[index] = { start = tonumber(s), stop = tonumber(e), left = tonumber(left), gen = tonumber(gen),
        started = started }
    else
      chunkCache[index] = false
    end
  end
  return chunkCache[index] or nil
end
local function chunkChanged(index)
  chunkDirty[tonumber(index)] = true
  touched = true
end
