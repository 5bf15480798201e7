--[[
  Opens one dispatch of a chunk: takes a slot of the batch's concurrency and leases the chunk's
  items that are due (never tried, retry due, or leased by an attempt whose lease expired).
  Items that reported are never leased again.
  KEYS[1] batch hash
  ARGV[1] chunk index   ARGV[2] chunk generation of the job   ARGV[3] lease id   ARGV[4] lease ms
  Output  {0, leaseExp, itemKey1, attempt1, json1, ...}  leased; the slot is named by the lease id
          {1} stop: batch finished or cancelled, or this job belongs to an older generation
          {2} batch paused          {3, wake...} chunk done          {4, slotExp} no free slot before slotExp
          {5, wakeAt, wake...}  nothing due before wakeAt
          (wake...: parked chunks to wake, since this one leaves its free slot unused)
          -1 no such batch
]]
--- @include "batch"
if redis.call('EXISTS', batchKey) == 0 then
  return -1
end
local chunk = ARGV[1]
local state = field('state')
if TERMINAL_STATE[state] or (redis.call('HGET', part('chunk-gen'), chunk) or '0') ~= ARGV[2] then
  return { 1 }
end
-- Running now, so no longer parked (a stale entry would swallow a wake-up).
redis.call('SREM', part('parked'), chunk)
-- A chunk that does not use its turn hands it to a parked one while a slot is free.
local function handOver(reply)
  if state ~= 'paused' and freeSlots() > 0 then
    pushAll(reply, unpark(1))
  end
  return reply
end
if itemNum('chunk-left', chunk) <= 0 then
  return handOver({ 3 })
end
if state == 'paused' then
  return { 2 }
end
if freeSlots() <= 0 then
  -- The earliest slot expiry: a dispatch of a dead process frees its slot only then, unwoken.
  return { 4, redis.call('ZRANGE', part('slots'), 0, 0, 'WITHSCORES')[2] }
end
local leaseExp = NOW + tonumber(ARGV[4])
local maxAttempts = numField('maxAttempts')
local out = { 0, leaseExp }
local wakeAt = false
local function wake(at)
  if not wakeAt or at < wakeAt then
    wakeAt = at
  end
end
for _, itemKey in ipairs(redis.call('LRANGE', part('chunk:' .. chunk), 0, -1)) do
  local status = redis.call('HGET', part('status'), itemKey)
  local take = status == 'p'
  if status == 'r' then
    local due = itemNum('due', itemKey)
    if due <= NOW then
      take = true
    else
      wake(due)
    end
  elseif status == 'l' then
    local expires = itemNum('lease-exp', itemKey)
    if expires > NOW then
      wake(expires)
    elseif itemNum('attempts', itemKey) >= maxAttempts then
      deadLetter(itemKey, 'l', 'lease_expired',
        'the last attempt never reported before its lease expired', '')
    else
      take = true
    end
  end
  if take then
    out[#out + 1] = itemKey
    out[#out + 1] = lease(itemKey, status, ARGV[3], leaseExp)
    out[#out + 1] = redis.call('HGET', part('items'), itemKey)
  end
end
settleBatch()
if #out > 2 then
  redis.call('ZADD', part('slots'), leaseExp, ARGV[3])
  return out
end
if itemNum('chunk-left', chunk) <= 0 then
  return handOver({ 3 })
end
return handOver({ 5, wakeAt or (NOW + 1000) })
