--[[
  Gives back a dispatch that was never sent (the service is shutting down between lease and
  POST): its items are due again at once without spending the attempt, and its slot is freed.
  KEYS    every key of the batch (BATCH_KEY_PARTS)
  ARGV[1] lease id
  Reply   JSON {released, wake: [chunk...], now}
]]
--- @include "batch"
if not loadBatch() then
  return cjson.encode({ released = 0, wake = {}, now = NOW })
end
local leaseId = ARGV[1]
redis.call('ZREM', K.slots, leaseId)
local keys = leaseKeys(leaseId) or {}
loadItems(keys)
local released = 0
for _, key in ipairs(keys) do
  local it = cache[key]
  if it and it.st == 'l' and it.lease == leaseId and it.rep == '0' then
    it.att = math.max(0, it.att - 1)
    it.due = NOW
    it.lease = ''
    move(it, 'r')
    changed(key)
    released = released + 1
  end
end
dropLease(leaseId)
local state = finishBatch()
local wake = {}
if state ~= 'paused' and not TERMINAL[state] then
  wake = unpark(math.min(freeSlots(), 1))
end
return cjson.encode({ released = released, wake = wake, now = NOW })
