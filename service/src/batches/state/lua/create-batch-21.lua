--[[
  Creates a batch unless one with this id exists (idempotent by batch key = batch id).
  KEYS    every key of the batch (BATCH_KEY_PARTS)
  ARGV    field, value, ... settings of the batch
  Reply   JSON {created, state, sealed, now}; settings of an existing batch are left as they are
]]
--- @include "batch"
if loadBatch() then
  return cjson.encode({ created = false, state = batch.state, sealed = batch.sealed == '1', now = NOW })
end
redis.call('HSET', K.batch, unpack(ARGV))
redis.call('HSET', K.batch, 'state', 'open', 'sealed', 0, 'createdAt', NOW, 'total', 0, 'pending', 0,
  'retrying', 0, 'inFlight', 0, 'succeeded', 0, 'skipped', 0, 'deadLettered', 0, 'inDoubt', 0, 'released', 0,
  'chunksTotal', 0, 'chunksDone', 0, 'chunksStarted', 0, 'cutTo', 0, 'lastMilestone', 0, 'round', 0)
redis.call('PUBLISH', K.batch .. ':events', 'open')
return cjson.encode({ created = true, state = 'open', sealed = false, now = NOW })
