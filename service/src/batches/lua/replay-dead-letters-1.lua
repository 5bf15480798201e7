--[[
  Puts dead letters (all, or one error class) back to pending with fresh attempts; chunks that
  had finished are reopened under a new generation and queued again; a finished batch runs again.
  KEYS[1] batch hash
  ARGV[1] error class ('' all)
  Output  {replayed, state}
          -1 no such batch, -4 batch cancelled or aborted
]]
--- @include "batch"
if redis.call('EXISTS', batchKey) == 0 then
  return -1
end
local state = field('state')
if state == 'cancelled' or state == 'aborted' then
  return -4
end
local replayed = 0
for _, itemKey in ipairs(redis.call('ZRANGE', part('dead-order'), 0, -1)) do
  local info = cjson.decode(redis.call('HGET', part('dead'), itemKey))
  if ARGV[1] == '' or info.class == ARGV[1] then
    replayed = replayed + 1
    redis.call('HDEL', part('dead'), itemKey)
    redis.call('ZREM', part('dead-order'), itemKey)
    if redis.call('HINCRBY', part('dead-classes'), info.class, -1) <= 0 then
      redis.call('HDEL', part('dead-classes'), info.class)
    end
    redis.call('HSET', part('attempts'), itemKey, 0)
    moveItem(itemKey, 'd', 'p')
    local chunk = redis.call('HGET', part('chunk-of'), itemKey)
    if chunk and redis.call('HINCRBY', part('chunk-left'), chunk, 1) == 1 then
      redis.call('HINCRBY', batchKey, 'chunksDone', -1)
      redis.call('HINCRBY', part('chunk-gen'), chunk, 1)
      if field('targetUrl') then
        redis.call('SADD', part('unqueued'), chunk)
      end
    end
  end
end
if replayed > 0 and (state == 'completed' or state == 'completed_with_errors') then
  redis.call('HSET', batchKey, 'state', 'running')
  redis.call('HDEL', batchKey, 'finishedAt')
  publish('running')
end
return { replayed, field('state') }
