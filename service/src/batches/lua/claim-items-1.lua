--[[
  Checkpoint Claim. With the lease of a dispatch: its items are confirmed. Without one: free items
  (pending, retrying, or leased by an attempt whose lease expired) are leased under a new lease;
  a live lease blocks them.
  KEYS[1] batch hash
  ARGV[1] lease id given ('' none)   ARGV[2] new lease id   ARGV[3] lease ms   ARGV[4..] item keys
  Output  {claimed count, itemKey..., then skipped: itemKey, reason, ...}
          -1 no such batch, -4 batch not running (claims without a lease need a running batch)
]]
--- @include "batch"
if redis.call('EXISTS', batchKey) == 0 then
  return -1
end
local given = ARGV[1]
local state = field('state')
if given == '' and (TERMINAL_STATE[state] or state == 'paused') then
  return -4
end
local leaseExp = NOW + tonumber(ARGV[3])
local maxAttempts = numField('maxAttempts')
local claimed, skipped = {}, {}
local function skip(itemKey, reason)
  skipped[#skipped + 1] = itemKey
  skipped[#skipped + 1] = reason
end
for i = 4, #ARGV do
  local itemKey = ARGV[i]
  local status = redis.call('HGET', part('status'), itemKey)
  if not status then
    skip(itemKey, 'unknown')
  elseif status == 's' then
    skip(itemKey, 'finished')
  elseif status == 'd' then
    skip(itemKey, 'dead_lettered')
  elseif given ~= '' then
    if status == 'l' and redis.call('HGET', part('lease'), itemKey) == given then
      claimed[#claimed + 1] = itemKey
    else
      skip(itemKey, 'leased')
    end
  elseif status == 'l' and itemNum('lease-exp', itemKey) > NOW then
    skip(itemKey, 'leased')
  elseif status == 'l' and itemNum('attempts', itemKey) >= maxAttempts then
    deadLetter(itemKey, 'l', 'lease_expired', 'the last attempt never reported before its lease expired', '')
    skip(itemKey, 'dead_lettered')
  else
    lease(itemKey, status, ARGV[2], leaseExp)
    claimed[#claimed + 1] = itemKey
  end
end
settleBatch()
return pushAll(pushAll({ #claimed }, claimed), skipped)
