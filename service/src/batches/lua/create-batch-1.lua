--[[
  Creates a batch unless one with this id exists (idempotent by batch key = batch id).
  KEYS[1] batch hash
  ARGV    field, value, ... settings of the batch
  Output  {1, 'open'} created | {0, state} it already existed (settings untouched)
]]
--- @include "batch"
if redis.call('EXISTS', batchKey) == 1 then
  return { 0, field('state') }
end
redis.call('HSET', batchKey, unpack(ARGV))
redis.call('HSET', batchKey, 'state', 'open', 'sealed', 0, 'createdAt', NOW, 'total', 0, 'pending', 0,
  'retrying', 0, 'inFlight', 0, 'succeeded', 0, 'skipped', 0, 'deadLettered', 0, 'chunksTotal', 0,
  'chunksDone', 0, 'lastMilestone', 0)
return { 1, 'open' }
