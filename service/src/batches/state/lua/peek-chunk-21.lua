--[[
  A look at a chunk before its dispatch is paced by a limiter: how many of its items are due
  now. Nothing is leased, so a dispatch waiting for tokens holds no lease and no slot. Expired
  leases of the batch are settled first (in-doubt policy), so what it counts is what is due.
  KEYS    every key of the batch (BATCH_KEY_PARTS)
  ARGV[1] chunk index   ARGV[2] generation of the job
  Reply   JSON {kind, due, wakeAt, now}; kind: 'stop' (batch ended, or an older generation),
          'paused', 'done' (nothing left), 'busy' (no free slot; wakeAt = first slot expiry),
          'wait' (nothing due before wakeAt), 'ready' (due items now)
          or {err: 'no_batch'}
]]
--- @include "batch"
if not loadBatch() then
  return fail_with('no_batch')
end
if expireLeases(100) > 0 then
  finishBatch()
end
local index = tonumber(ARGV[1])
local c = chunk(index)
batch.state = redis.call('HGET', K.batch, 'state')
if TERMINAL[batch.state] or not c or tostring(c.gen) ~= ARGV[2] then
  return cjson.encode({ kind = 'stop', tally = tally, now = NOW })
end
if c.left <= 0 then
  return cjson.encode({ kind = 'done', tally = tally, now = NOW })
end
if batch.state == 'paused' then
  return cjson.encode({ kind = 'paused', tally = tally, now = NOW })
end
redis.call('ZREMRANGEBYSCORE', K.slots, '-inf', NOW)
if num('concurrency') - redis.call('ZCARD', K.slots) <= 0 then
  local first = redis.call('ZRANGE', K.slots, 0, 0, 'WITHSCORES')
  return cjson.encode({ kind = 'busy', wakeAt = tonumber(first[2]), tally = tally, now = NOW })
end
local keys = redis.call('LRANGE', K.order, c.start, c.stop - 1)
loadItems(keys)
local due, wakeAt = 0, false
for _, key in ipairs(keys) do
  local it = cache[key]
  if it.st == 'p' or (it.st == 'r' and it.due <= NOW) then
    due = due + 1
  elseif it.st == 'r' or it.st == 'l' then
    local at = it.st == 'r' and it.due or it.leaseExp
    if not wakeAt or at < wakeAt then
      wakeAt = at
    end
  end
end
if due > 0 then
  return cjson.encode({ kind = 'ready', due = due, tally = tally, now = NOW })
end
return cjson.encode({ kind = 'wait', wakeAt = wakeAt or (NOW + 1000), tally = tally, now = NOW })
