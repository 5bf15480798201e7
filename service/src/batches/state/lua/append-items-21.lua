--[[
  Appends a page of items; a key seen before (in this page or earlier) is counted as skipped.
  Chunks are cut as items arrive, so dispatch starts while pages still come. A page with an id
  that was applied before is answered from memory: a page re-sent after a lost answer counts once.
  KEYS    every key of the batch (BATCH_KEY_PARTS)
  ARGV[1] page id ('' none)   ARGV[2..] itemKey, json, itemKey, json, ...
  Reply   JSON {accepted, duplicates, replayed, state, unqueued, notices, now}
          or {err: 'no_batch' | 'batch_sealed' | 'batch_finished'}
]]
--- @include "batch"
if not loadBatch() then
  return fail_with('no_batch')
end
local pageId = ARGV[1]
if pageId ~= '' then
  local seen = redis.call('HGET', K.pages, pageId)
  if seen then
    local answer = cjson.decode(seen)
    answer.replayed = true
    answer.state = batch.state
    answer.now = NOW
    return cjson.encode(answer)
  end
end
if TERMINAL[batch.state] then
  return fail_with('batch_finished')
end
if batch.sealed == '1' then
  return fail_with('batch_sealed')
end
local accepted, duplicates = 0, 0
local order, sizes, states = {}, {}, {}
local fresh = encode(newItem())
for i = 2, #ARGV, 2 do
  local key = ARGV[i]
  if redis.call('HSETNX', K.items, key, ARGV[i + 1]) == 0 then
    duplicates = duplicates + 1
  else
    accepted = accepted + 1
    order[#order + 1] = key
    sizes[#sizes + 1] = #ARGV[i + 1]
    states[#states + 1] = key
    states[#states + 1] = fresh
    if #order >= 1000 then
      redis.call('RPUSH', K.order, unpack(order))
      redis.call('RPUSH', K.sizes, unpack(sizes))
      redis.call('HSET', K.item, unpack(states))
      order, sizes, states = {}, {}, {}
    end
  end
end
if #order > 0 then
  redis.call('RPUSH', K.order, unpack(order))
  redis.call('RPUSH', K.sizes, unpack(sizes))
  redis.call('HSET', K.item, unpack(states))
end
bump('total', accepted + duplicates)
bump('pending', accepted)
bump('skipped', duplicates)
tally.skipped = duplicates
touched = accepted + duplicates > 0
cutChunks(false)
local state = finishBatch()
if pageId ~= '' then
  redis.call('HSET', K.pages, pageId, cjson.encode({ accepted = accepted, duplicates = duplicates }))
end
return cjson.encode({ accepted = accepted, duplicates = duplicates, replayed = false, state = state,
  unqueued = #unqueue, notices = notices, tally = tally, now = NOW })
