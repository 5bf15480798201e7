--[[
  No more items: the last partial chunk is cut and the batch runs (or completes at once when
  nothing is left to do). Idempotent.
  KEYS[1] batch hash
  Output  {1, state} sealed now | {0, state} was sealed already
          -1 no such batch
]]
--- @include "batch"
if redis.call('EXISTS', batchKey) == 0 then
  return -1
end
if field('sealed') == '1' or TERMINAL_STATE[field('state')] then
  return { 0, field('state') }
end
local left = redis.call('LLEN', part('unchunked'))
if left > 0 then
  formChunk(left)
end
redis.call('HSET', batchKey, 'sealed', 1, 'sealedAt', NOW)
if field('state') == 'open' then
  redis.call('HSET', batchKey, 'state', 'running')
  publish('running')
end
settleBatch()
return { 1, field('state') }
