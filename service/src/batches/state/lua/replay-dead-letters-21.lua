--[[
  Puts dead letters (all, or one error class) back to pending with fresh attempts; chunks that had
  finished are reopened under a new generation and queued again; a finished batch runs again (its
  keys stop expiring, and its notices start a new round).
  KEYS    every key of the batch (BATCH_KEY_PARTS)
  ARGV[1] error class ('' all)
  Reply   JSON {replayed, state, unqueued, notices, now}
          or {err: 'no_batch' | 'invalid_state'} (batch cancelled or aborted)
]]
--- @include "batch"
if not loadBatch() then
  return fail_with('no_batch')
end
local state = batch.state
if state == 'cancelled' or state == 'aborted' then
  return fail_with('invalid_state', state)
end
local wanted = ARGV[1]
local keys = {}
if wanted == '' then
  keys = redis.call('ZRANGE', K['dead-order'], 0, -1)
else
  for _, key in ipairs(redis.call('ZRANGE', K['dead-order'], 0, -1)) do
    local raw = redis.call('HGET', K.dead, key)
    if raw and cjson.decode(raw).class == wanted then
      keys[#keys + 1] = key
    end
  end
end
loadItems(keys)
local replayed = 0
for _, key in ipairs(keys) do
  local it = cache[key]
  if it and it.st == 'd' then
    undead(key, it)
    it.att, it.lease, it.leaseAt, it.leaseExp, it.due, it.rep = 0, '', 0, 0, 0, '0'
    move(it, 'p')
    changed(key)
    replayed = replayed + 1
  end
end
if replayed > 0 and TERMINAL[state] then
  redis.call('HSET', K.batch, 'state', 'running', 'lastMilestone', 0)
  redis.call('HDEL', K.batch, 'finishedAt')
  redis.call('HINCRBY', K.batch, 'round', 1)
  retain(false)
end
state = finishBatch()
return cjson.encode({ replayed = replayed, state = state, unqueued = #unqueue, notices = notices, now = NOW })
