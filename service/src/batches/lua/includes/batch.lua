--[[
  Shared helpers, pasted into each batch script where it says `--- @include "batch"`.
  KEYS[1] is the batch hash; every other key of the batch is KEYS[1] .. ':' .. <part>, so all of
  them share the batch's {hash tag}, hence one Redis Cluster slot.
  Item status (hash `status`): p pending (never tried), r retrying (waits for its `due` time),
  l leased (an attempt in flight under `lease` until `lease-exp`), s succeeded, d dead-lettered.
  The batch hash keeps one counter per status, so progress is one HGETALL.
]]
local batchKey = KEYS[1]
local function part(name)
  return batchKey .. ':' .. name
end
local NOW
do
  local t = redis.call('TIME')
  NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local COUNTER = { p = 'pending', r = 'retrying', l = 'inFlight', s = 'succeeded', d = 'deadLettered' }
local TERMINAL_STATE = { completed = true, completed_with_errors = true, aborted = true, cancelled = true }

local function field(name)
  return redis.call('HGET', batchKey, name)
end
local function numField(name)
  return tonumber(redis.call('HGET', batchKey, name) or '0') or 0
end
local function itemNum(hashPart, itemKey)
  return tonumber(redis.call('HGET', part(hashPart), itemKey) or '0') or 0
end

local function pushAll(out, list)
  for _, v in ipairs(list) do
    out[#out + 1] = v
  end
  return out
end

local function publish(state)
  redis.call('PUBLISH', batchKey .. ':events', state)
end

local function moveItem(itemKey, from, to)
  redis.call('HSET', part('status'), itemKey, to)
  if from then
    redis.call('HINCRBY', batchKey, COUNTER[from], -1)
  end
  redis.call('HINCRBY', batchKey, COUNTER[to], 1)
end

local function clearLease(itemKey)
  redis.call('HDEL', part('lease'), itemKey)
  redis.call('HDEL', part('lease-exp'), itemKey)
  redis.call('HDEL', part('due'), itemKey)
end

-- A finished item: its chunk has one less to do; per-second buckets feed items/s.
local function countFinished(itemKey)
  local chunk = redis.call('HGET', part('chunk-of'), itemKey)
  if chunk and redis.call('HINCRBY', part('chunk-left'), chunk, -1) == 0 then
    redis.call('HINCRBY', batchKey, 'chunksDone', 1)
  end
  local second = math.floor(NOW / 1000)
  redis.call('HINCRBY', part('rate'), second, 1)
  if redis.call('HLEN', part('rate')) > 130 then
    for _, f in ipairs(redis.call('HKEYS', part('rate'))) do
      if tonumber(f) < second - 65 then
        redis.call('HDEL', part('rate'), f)
      end
    end
  end
end

local function noteError(class, itemKey, message)
  redis.call('HINCRBY', part('errors'), class, 1)
  local raw = redis.call('HGET', part('samples'), class)
  local samples = raw and cjson.decode(raw) or {}
  if #samples < 3 then
    samples[#samples + 1] = { key = itemKey, message = message }
    redis.call('HSET', part('samples'), class, cjson.encode(samples))
  end
end

local function succeed(itemKey, from)
  moveItem(itemKey, from, 's')
  clearLease(itemKey)
  countFinished(itemKey)
end

local function deadLetter(itemKey, from, class, message, httpCode)
  local info = {
    class = class,
    message = message,
    attempts = itemNum('attempts', itemKey),
    firstAt = tonumber(redis.call('HGET', part('first'), itemKey) or NOW),
    lastAt = NOW,
    chunkIndex = tonumber(redis.call('HGET', part('chunk-of'), itemKey) or '-1'),
  }
  if httpCode and httpCode ~= '' then
    info.httpCode = tonumber(httpCode)
  end
  redis.call('HSET', part('dead'), itemKey, cjson.encode(info))
  redis.call('ZADD', part('dead-order'), NOW, itemKey)
  redis.call('HINCRBY', part('dead-classes'), class, 1)
  moveItem(itemKey, from, 'd')
  clearLease(itemKey)
  noteError(class, itemKey, message)
  countFinished(itemKey)
end

-- A failed attempt: retried after full-jitter exponential backoff (never sooner than
-- retryAfterMs) while attempts remain and the failure is transient; else dead-lettered.
local function fail(itemKey, from, transient, class, message, httpCode, retryAfterMs, rand)
  local attempts = itemNum('attempts', itemKey)
  if not transient or attempts >= numField('maxAttempts') then
    if transient then
      message = message .. ' (gave up after ' .. attempts .. ' attempts)'
    end
    deadLetter(itemKey, from, class, message, httpCode)
    return 'd'
  end
  noteError(class, itemKey, message)
  local cap = math.min(numField('backoffMaxMs'), numField('backoffInitialMs') * 2 ^ math.max(attempts - 1, 0))
  local delay = math.max(math.floor(rand * cap), retryAfterMs)
  clearLease(itemKey)
  redis.call('HSET', part('due'), itemKey, NOW + delay)
  moveItem(itemKey, from, 'r')
  return 'r'
end

-- Leases an item to a new attempt; the attempt number is what the worker is told.
local function lease(itemKey, from, leaseId, leaseExp)
  local attempts = redis.call('HINCRBY', part('attempts'), itemKey, 1)
  redis.call('HSETNX', part('first'), itemKey, NOW)
  clearLease(itemKey)
  redis.call('HSET', part('lease'), itemKey, leaseId)
  redis.call('HSET', part('lease-exp'), itemKey, leaseExp)
  moveItem(itemKey, from, 'l')
  redis.call('HSETNX', batchKey, 'startedAt', NOW)
  return attempts
end

-- Free slots of the batch's concurrency; expired slots belong to dispatches that died.
local function freeSlots()
  redis.call('ZREMRANGEBYSCORE', part('slots'), '-inf', NOW)
  return numField('concurrency') - redis.call('ZCARD', part('slots'))
end

-- Parked chunk jobs (paused or no free slot) to wake, at most `count`.
local function unpark(count)
  if count <= 0 then
    return {}
  end
  return redis.call('SPOP', part('parked'), count)
end

-- Chunks are cut from the unchunked list in arrival order; each gets one BullMQ job later
-- (`unqueued` remembers the ones whose job is not known to exist yet).
local function formChunk(count)
  local index = numField('chunksTotal')
  local left = 0
  for _ = 1, count do
    local itemKey = redis.call('LPOP', part('unchunked'))
    if not itemKey then
      break
    end
    redis.call('RPUSH', part('chunk:' .. index), itemKey)
    redis.call('HSET', part('chunk-of'), itemKey, index)
    local status = redis.call('HGET', part('status'), itemKey)
    if status ~= 's' and status ~= 'd' then
      left = left + 1
    end
  end
  redis.call('HSET', part('chunk-left'), index, left)
  redis.call('HSET', part('chunk-gen'), index, 0)
  redis.call('HINCRBY', batchKey, 'chunksTotal', 1)
  if left == 0 then
    redis.call('HINCRBY', batchKey, 'chunksDone', 1)
  elseif field('targetUrl') then
    redis.call('SADD', part('unqueued'), index)
  end
end

-- After any change: abort past the failure threshold, complete when nothing is left, and
-- report a newly reached 25 % milestone. Returns the new state ('' if none) and the milestone.
local function settleBatch()
  local state = field('state')
  local changed = ''
  if not TERMINAL_STATE[state] then
    local ratio = tonumber(field('failureRatio') or '')
    local dead = numField('deadLettered')
    local processed = numField('succeeded') + dead
    if ratio and processed > 0 and processed >= numField('failureMinSample') and dead / processed > ratio then
      changed = 'aborted'
      redis.call('HSET', batchKey, 'abortReason', string.format(
        'Failure threshold passed: %d of %d processed items failed (ratio %.3f > %s); remaining chunks were cancelled',
        dead, processed, dead / processed, field('failureRatio')))
    elseif field('sealed') == '1' and numField('pending') + numField('retrying') + numField('inFlight') == 0 then
      changed = dead > 0 and 'completed_with_errors' or 'completed'
    end
    if changed ~= '' then
      redis.call('HSET', batchKey, 'state', changed, 'finishedAt', NOW)
      publish(changed)
    end
  end
  local milestone = 0
  local total = numField('total')
  if total > 0 and field('milestoneUrl') then
    local done = numField('succeeded') + numField('skipped') + numField('deadLettered')
    local reached = math.floor(done * 4 / total) * 25
    if reached > numField('lastMilestone') then
      redis.call('HSET', batchKey, 'lastMilestone', reached)
      milestone = reached
    end
  end
  return changed, milestone
end
