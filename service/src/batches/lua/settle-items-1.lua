--[[
  Records outcomes of items: Record Results, and the answer to a chunk POST (for the items the
  worker did not record itself). Under a lease, only items still leased by it change, so a
  stale attempt can never record twice; without a lease any unfinished item may be recorded.
  KEYS[1] batch hash
  ARGV[1] lease id ('' none)   ARGV[2] slot to free ('' none)
  ARGV[3..] 8 per item: itemKey, outcome ('s' succeeded | 'f' failed), transient ('1'|'0'),
          error class, message, http code ('' none), retryAfterMs, random 0..1 for the jitter
  Output  {succeeded, retryScheduled, deadLettered, newState ('' none), milestone (0 none),
           parked chunks to wake: count, chunk..., ignored: itemKey, reason, ...}
          -1 no such batch
]]
--- @include "batch"
if redis.call('EXISTS', batchKey) == 0 then
  return -1
end
local leaseId = ARGV[1]
local succeeded, retried, dead = 0, 0, 0
local ignored = {}
for i = 3, #ARGV, 8 do
  local itemKey = ARGV[i]
  local status = redis.call('HGET', part('status'), itemKey)
  local reason = false
  if not status then
    reason = 'unknown'
  elseif status == 's' then
    reason = 'finished'
  elseif status == 'd' then
    reason = 'dead_lettered'
  elseif leaseId ~= '' and (status ~= 'l' or redis.call('HGET', part('lease'), itemKey) ~= leaseId) then
    reason = 'stale_lease'
  end
  if reason then
    ignored[#ignored + 1] = itemKey
    ignored[#ignored + 1] = reason
  else
    if status ~= 'l' then
      -- Recorded without a lease: that run was an attempt too.
      redis.call('HINCRBY', part('attempts'), itemKey, 1)
      redis.call('HSETNX', part('first'), itemKey, NOW)
    end
    if ARGV[i + 1] == 's' then
      succeed(itemKey, status)
      succeeded = succeeded + 1
    else
      local to = fail(itemKey, status, ARGV[i + 2] == '1', ARGV[i + 3], ARGV[i + 4], ARGV[i + 5],
        tonumber(ARGV[i + 6]) or 0, tonumber(ARGV[i + 7]) or 0)
      if to == 'r' then
        retried = retried + 1
      else
        dead = dead + 1
      end
    end
  end
end
local newState, milestone = settleBatch()
local out = { succeeded, retried, dead, newState, milestone }
local wake = {}
if ARGV[2] ~= '' then
  redis.call('ZREM', part('slots'), ARGV[2])
  if not TERMINAL_STATE[field('state')] and field('state') ~= 'paused' then
    wake = unpark(math.min(freeSlots(), 1))
  end
end
out[#out + 1] = #wake
return pushAll(pushAll(out, wake), ignored)
