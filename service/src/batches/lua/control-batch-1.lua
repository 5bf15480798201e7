--[[
  Pause, resume, cancel, or change concurrency. Cancel stops queued chunks (their jobs stop when
  they run); dispatches in flight finish and their results still count.
  KEYS[1] batch hash
  ARGV[1] 'pause' | 'resume' | 'cancel' | 'concurrency'   ARGV[2] new concurrency
  Output  {state, parked chunks to wake...}
          -1 no such batch, -4 not allowed in this state (finished, or cancel of a completed batch)
]]
--- @include "batch"
if redis.call('EXISTS', batchKey) == 0 then
  return -1
end
local op = ARGV[1]
local state = field('state')
local function answer(wake)
  return pushAll({ field('state') }, wake or {})
end
if op == 'cancel' then
  if state == 'cancelled' or state == 'aborted' then
    return answer()
  end
  if TERMINAL_STATE[state] then
    return -4
  end
  redis.call('HSET', batchKey, 'state', 'cancelled', 'finishedAt', NOW)
  publish('cancelled')
  -- Parked jobs are woken so they see the cancel and end now instead of at their safety timeout.
  return answer(redis.call('SPOP', part('parked'), redis.call('SCARD', part('parked'))))
end
if TERMINAL_STATE[state] then
  return -4
end
if op == 'pause' then
  if state ~= 'paused' then
    redis.call('HSET', batchKey, 'state', 'paused', 'pausedAt', NOW)
    publish('paused')
  end
  return answer()
end
if op == 'resume' then
  if state == 'paused' then
    local resumed = field('sealed') == '1' and 'running' or 'open'
    redis.call('HSET', batchKey, 'state', resumed)
    publish(resumed)
    settleBatch()
  end
else
  redis.call('HSET', batchKey, 'concurrency', ARGV[2])
end
if field('state') == 'paused' or TERMINAL_STATE[field('state')] then
  return answer()
end
return answer(unpark(freeSlots()))
