--[[
  Opens one dispatch of a chunk: takes a slot of the batch's concurrency and leases up to
  `maxItems` of the chunk's due items (never tried, or retry due). Expired leases of the batch are
  settled first (in-doubt policy). Items that reported are never leased again. Re-running it with
  the same lease id (a command resent after a lost reply) answers the same dispatch.
  KEYS    every key of the batch (BATCH_KEY_PARTS)
  ARGV[1] chunk index   ARGV[2] generation of the job   ARGV[3] lease id   ARGV[4] lease ms
  ARGV[5] most items to lease (tokens paid for; 0 = no limit)
  Reply   { header JSON, then itemKey, attempt, json per leased item }
          header {kind, now, ...}: 'leased' {leaseExp, unqueued, notices}; 'stop' (batch ended or an
          older generation); 'paused'; 'done' {wake}; 'busy' {wakeAt}; 'wait' {wakeAt, wake}
          (wake: parked chunks to wake, since this one leaves its free slot unused)
          or { {err: 'no_batch'} }
]]
--- @include "batch"
if not loadBatch() then
  return { fail_with('no_batch') }
end
local index = tonumber(ARGV[1])
local leaseId = ARGV[3]
local function reply(header)
  header.now = NOW
  header.tally = tally
  return { cjson.encode(header) }
end
local function leasedReply(keys, leaseExp)
  local out = { cjson.encode({ kind = 'leased', leaseExp = leaseExp, unqueued = #unqueue, notices = notices,
    tally = tally, now = NOW }) }
  for i = 1, #keys, 1000 do
    local group = { unpack(keys, i, math.min(i + 999, #keys)) }
    local jsons = redis.call('HMGET', K.items, unpack(group))
    for j, key in ipairs(group) do
      out[#out + 1] = key
      out[#out + 1] = item(key).att
      out[#out + 1] = jsons[j]
    end
  end
  return out
end

local slotExp = redis.call('ZSCORE', K.slots, leaseId)
if slotExp then
  local keys = leaseKeys(leaseId) or {}
  loadItems(keys)
  return leasedReply(keys, tonumber(slotExp))
end

local c = chunk(index)
if TERMINAL[batch.state] or not c or tostring(c.gen) ~= ARGV[2] then
  return reply({ kind = 'stop' })
end
-- Running now, so no longer parked (a stale entry would swallow a wake-up).
redis.call('SREM', K.parked, index)
if expireLeases(100) > 0 then
  batch.state = finishBatch()
  if TERMINAL[batch.state] then
    return reply({ kind = 'stop' })
  end
end
-- A chunk that does not use its turn hands it to a parked one while a slot is free.
local function handOver(header)
  header.wake = {}
  if batch.state ~= 'paused' and freeSlots() > 0 then
    header.wake = unpark(1)
  end
  return reply(header)
end
if c.left <= 0 then
  return handOver({ kind = 'done' })
end
if batch.state == 'paused' then
  return reply({ kind = 'paused' })
end
if freeSlots() <= 0 then
  -- The earliest slot expiry: a dispatch of a dead process frees its slot only then, unwoken.
  local first = redis.call('ZRANGE', K.slots, 0, 0, 'WITHSCORES')
  return reply({ kind = 'busy', wakeAt = tonumber(first[2]) })
end
local leaseExp = NOW + tonumber(ARGV[4])
local limit = tonumber(ARGV[5])
if limit <= 0 then
  limit = math.huge
end
local keys = redis.call('LRANGE', K.order, c.start, c.stop - 1)
loadItems(keys)
local taken, wakeAt = {}, false
for _, key in ipairs(keys) do
  local it = cache[key]
  if #taken < limit and (it.st == 'p' or (it.st == 'r' and it.due <= NOW)) then
    lease(key, it, leaseId, leaseExp)
    taken[#taken + 1] = key
  elseif it.st == 'p' or it.st == 'r' or it.st == 'l' then
    local at = (it.st == 'l' and it.leaseExp) or (it.st == 'r' and it.due) or NOW
    if not wakeAt or at < wakeAt then
      wakeAt = at
    end
  end
end
if #taken == 0 then
  return handOver({ kind = 'wait', wakeAt = wakeAt or (NOW + 1000) })
end
recordLease(leaseId, index, taken, leaseExp)
redis.call('ZADD', K.slots, leaseExp, leaseId)
if c.started == '0' then
  c.started = '1'
  chunkChanged(index)
  setField('chunksStarted', num('chunksStarted') + 1)
  cutChunks(batch.sealed == '1')
end
finishBatch()
return leasedReply(taken, leaseExp)
