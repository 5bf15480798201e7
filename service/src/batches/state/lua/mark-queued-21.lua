--[[
  Forgets "job not yet queued" for chunks whose job was added, but only for the generation that
  was added: a replay that bumped the generation meanwhile keeps its entry, so its job is added too.
  KEYS    every key of the batch (BATCH_KEY_PARTS)
  ARGV    chunk index, generation, ...
  Reply   JSON {left: entries still unqueued}
]]
--- @include "batch"
for i = 1, #ARGV, 2 do
  if redis.call('HGET', K.unqueued, ARGV[i]) == ARGV[i + 1] then
    redis.call('HDEL', K.unqueued, ARGV[i])
  end
end
return cjson.encode({ left = redis.call('HLEN', K.unqueued) })
