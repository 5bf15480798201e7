--[[
  Pause, resume, cancel, or change concurrency. Cancel stops queued chunks (their jobs stop when
  they run); dispatches in flight finish and their results still count.
  KEYS    every key of the batch (BATCH_KEY_PARTS)
  ARGV[1] 'pause' | 'resume' | 'cancel' | 'concurrency'   ARGV[2] new concurrency
  Reply   JSON {state, wake: [chunk...], unqueued, notices, now}
          or {err: 'no_batch' | 'invalid_state'} (finished, or cancel of a completed batch)
]]
--- @include "batch"
if not loadBatch() then
  return fail_with('no_batch')
end
local op, state = ARGV[1], batch.state
local function answer(wake)
  return cjson.encode({ state = redis.call('HGET', K.batch, 'state'), wake = wake or {}, unqueued = #unqueue,
    notices = notices, now = NOW })
end
if op == 'cancel' then
  if state == 'cancelled' or state == 'aborted' then
    return answer()
  end
  if TERMINAL[state] then
    return fail_with('invalid_state', state)
  end
  redis.call('HSET', K.batch, 'state', 'cancelled', 'finishedAt', NOW)
  touched = true
  -- The completion notice and key expiry of a terminal batch.
  notice('cancelled', { state = 'cancelled' })
  notice('completion', { state = 'cancelled' })
  retain(true)
  finishBatch()
  -- Parked jobs are woken so they see the cancel and end now instead of at their safety timeout.
  return answer(redis.call('SPOP', K.parked, redis.call('SCARD', K.parked)))
end
if TERMINAL[state] then
  return fail_with('invalid_state', state)
end
if op == 'pause' then
  if state ~= 'paused' then
    redis.call('HSET', K.batch, 'state', 'paused', 'pausedAt', NOW)
    touched = true
  end
  finishBatch()
  return answer()
end
if op == 'resume' then
  if state == 'paused' then
    redis.call('HSET', K.batch, 'state', batch.sealed == '1' and 'running' or 'open')
    touched = true
  end
else
  setField('concurrency', tonumber(ARGV[2]))
  touched = true
  cutChunks(batch.sealed == '1')
end
local now = finishBatch()
if now == 'paused' or TERMINAL[now] then
  return answer()
end
return answer(unpark(freeSlots()))
