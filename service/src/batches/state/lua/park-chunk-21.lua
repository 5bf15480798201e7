--[[
  Parks a chunk job that could not run (batch paused, no free slot) after the job moved itself to
  delayed; resume, a freed slot or a concurrency change wakes it. If the reason went away while it
  was being parked (or the batch ended), the caller wakes it at once.
  KEYS    every key of the batch (BATCH_KEY_PARTS)
  ARGV[1] chunk index
  Reply   JSON {wakeNow, now}
]]
--- @include "batch"
if not loadBatch() or TERMINAL[batch.state] or (batch.state ~= 'paused' and freeSlots() > 0) then
  return cjson.encode({ wakeNow = true, now = NOW })
end
redis.call('SADD', K.parked, ARGV[1])
return cjson.encode({ wakeNow = false, now = NOW })
