--[[
  Housekeeping the service's sweep runs for each unfinished batch: settles expired leases (a
  batch worked only by Claim has no dispatch to do it) and reports what still needs the service.
  KEYS    every key of the batch (BATCH_KEY_PARTS)
  Reply   JSON {exists, state, unqueued: [[chunk, generation]...], outbox, now}
]]
--- @include "batch"
if not loadBatch() then
  return cjson.encode({ exists = false, tally = tally, now = NOW })
end
local state = batch.state
if expireLeases(1000) > 0 then
  state = finishBatch()
end
return cjson.encode({ exists = true, state = state, unqueued = redis.call('HGETALL', K.unqueued),
  outbox = redis.call('LLEN', K.outbox), tally = tally, now = NOW })
