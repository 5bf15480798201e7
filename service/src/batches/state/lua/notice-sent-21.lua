--[[
  Drops the oldest notice once its receiver took it, if it is still the one that was sent.
  KEYS    every key of the batch (BATCH_KEY_PARTS)
  ARGV[1] the sent notice, exactly as read
  Reply   JSON {left}
]]
--- @include "batch"
if redis.call('LINDEX', K.outbox, 0) == ARGV[1] then
  redis.call('LPOP', K.outbox)
end
return cjson.encode({ left = redis.call('LLEN', K.outbox) })
