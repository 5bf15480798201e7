--[[
  Ends a dispatch once its POST answered (or could not be made): frees its concurrency slot and
  settles, from the answer, the items the worker did not record itself (each item once: items
  already reported under this lease are left alone). When the POST got no answer (timeout, reset)
  nobody knows whether the worker ran: the items keep their lease, which stays valid until it
  expires (a report under it still counts), and only then does the in-doubt policy decide
  ('doubt'). A worker that answered 5xx ran, but not which items it worked ('unsure'): a `hold`
  batch sets them aside as in doubt now, a `retry` batch retries them as transient failures.
  Adaptive batches size their next chunks from how long this dispatch took per item.
  KEYS    every key of the batch (BATCH_KEY_PARTS)
  ARGV[1] lease id   ARGV[2] 'ok' | 'fail' | 'doubt' | 'unsure' | 'direct'   ARGV[3] transient '1'|'0'   ARGV[4] error class
  ARGV[5] message   ARGV[6] http code ('' none)   ARGV[7] retryAfterMs   ARGV[8] POST duration ms
  Reply   JSON {succeeded, retryScheduled, deadLettered, wake, chunkSize, chunkIndex, chunkLeft, state,
          unqueued, notices, now}; chunkSize: {from, to} when the adaptive size changed;
          chunkLeft: items of the chunk not finished (0: its job is done)
          or {err: 'no_batch'}
]]
--- @include "batch"
if not loadBatch() then
  return fail_with('no_batch')
end
local leaseId, mode = ARGV[1], ARGV[2]
redis.call('ZREM', K.slots, leaseId)
local keys, chunkIndex = leaseKeys(leaseId)
local counts = { s = 0, r = 0, d = 0 }
local sizeChange = cjson.null
if keys then
  if mode == 'doubt' then
    redis.call('HSET', K['lease-notes'], leaseId, cjson.encode({ class = ARGV[4], message = ARGV[5] }))
  elseif mode == 'direct' then
    -- The service sent these itself and recorded each outcome as it came: what is left was never
    -- sent (given back) or is inside a transaction whose end it never learned (in doubt at expiry).
    loadItems(keys)
    local open = 0
    for _, key in ipairs(keys) do
      local it = cache[key]
      if it and it.st == 'l' and it.lease == leaseId then
        if it.rep == '0' then
          unsent(key, it)
        elseif it.rep == 'S' then
          open = open + 1
        end
      end
    end
    if open == 0 then
      dropLease(leaseId)
    else
      redis.call('HSET', K['lease-notes'], leaseId, cjson.encode({ class = 'smtp_transaction',
        message = 'the service stopped inside an SMTP transaction' }))
    end
  else
    loadItems(keys)
    local outcome = mode == 'ok' and 's' or 'f'
    local hold = mode == 'unsure' and batch.inDoubtPolicy == 'hold'
    local note = { class = ARGV[4], message = ARGV[5], httpCode = ARGV[6] }
    for _, key in ipairs(keys) do
      local it = cache[key]
      if it and it.lease == leaseId and it.rep == '0' and it.st ~= 's' then
        if hold then
          if it.st == 'l' then
            settleInDoubt(key, it, note)
            counts.d = counts.d + 1
          end
        elseif record(key, it, leaseId, outcome, ARGV[3] == '1', ARGV[4], ARGV[5], ARGV[6], ARGV[7]) == nil then
          counts[it.st] = (counts[it.st] or 0) + 1
        end
      end
    end
    dropLease(leaseId)
    -- Adaptive chunk size: halfway from the current size to the one that would take the target time.
    local duration = tonumber(ARGV[8]) or 0
    if batch.adaptive == '1' and mode == 'ok' and #keys > 0 and duration > 0 then
      local current = num('chunkSizeNow')
      local ideal = num('adaptiveTargetMs') * #keys / duration
      local next = math.floor((current + ideal) / 2)
      next = math.max(num('adaptiveMin'), math.min(num('adaptiveMax'), next))
      if next ~= current then
        setField('chunkSizeNow', next)
        redis.call('HINCRBY', K.batch, 'chunkSizeChanges', 1)
        redis.call('HSET', K.batch, 'chunkSizeChangedAt', NOW)
        sizeChange = { from = current, to = next }
      end
    end
  end
end
local state = finishBatch()
local wake = {}
if state ~= 'paused' and not TERMINAL[state] then
  wake = unpark(math.min(freeSlots(), 1))
end
local c = chunk(chunkIndex)
return cjson.encode({ succeeded = counts.s, retryScheduled = counts.r, deadLettered = counts.d, wake = wake,
  chunkSize = sizeChange, chunkIndex = chunkIndex or -1, chunkLeft = c and c.left or -1, state = state, unqueued = #unqueue, notices = notices,
  tally = tally, now = NOW })
