--[[
  Gives back a dispatch that was never sent (limiter refused, shutdown before the POST): its items
  return to the state they had, without counting the attempt, and its slot is freed.
  KEYS[1] batch hash
  ARGV[1] lease id   ARGV[2..] item keys of the dispatch
  Output  {parked chunk to wake, ...}
]]
--- @include "batch"
for i = 2, #ARGV do
  local itemKey = ARGV[i]
  if redis.call('HGET', part('status'), itemKey) == 'l' and redis.call('HGET', part('lease'), itemKey) == ARGV[1] then
    local attempts = redis.call('HINCRBY', part('attempts'), itemKey, -1)
    clearLease(itemKey)
    if attempts > 0 then
      redis.call('HSET', part('due'), itemKey, NOW)
      moveItem(itemKey, 'l', 'r')
    else
      moveItem(itemKey, 'l', 'p')
    end
  end
end
redis.call('ZREM', part('slots'), ARGV[1])
if TERMINAL_STATE[field('state')] or field('state') == 'paused' then
  return {}
end
return unpark(math.min(freeSlots(), 1))
