--[[
  No more items: the last partial chunk is cut and the batch runs (or completes at once when
  nothing is left to do). Idempotent.
  KEYS    every key of the batch (BATCH_KEY_PARTS)
  Reply   JSON {sealedNow, state, unqueued, notices, now} or {err: 'no_batch'}
]]
--- @include "batch"
if not loadBatch() then
  return fail_with('no_batch')
end
if batch.sealed == '1' or TERMINAL[batch.state] then
  return cjson.encode({ sealedNow = false, state = batch.state, unqueued = 0, notices = 0, now = NOW })
end
setField('sealed', 1)
setField('sealedAt', NOW)
if batch.state == 'open' then
  setField('state', 'running')
end
touched = true
cutChunks(true)
local state = finishBatch()
return cjson.encode({ sealedNow = true, state = state, unqueued = #unqueue, notices = notices, now = NOW })
