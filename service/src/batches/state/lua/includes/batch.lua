--[[
  The rules of a batch, pasted into every batch script (`--- @include "batch"`).

  KEYS are every key of the batch, named K.<part> (the list and its order live in
  service/src/redis/keys.ts, BATCH_KEY_PARTS); they share the batch's {hash tag}, so one Redis
  Cluster slot. Time is Redis TIME (NOW, in ms): the one clock for every due time and lease.

  Item state (hash K.item, one field per item, packed "st|att|chunk|first|lease|leaseAt|leaseExp|due|rep"):
    st       p pending (never tried), r retrying (due at `due`), l leased (an attempt in flight),
             s succeeded, d dead-lettered
    att      attempts spent;  chunk: its chunk index (-1 until cut);  first: first attempt (ms)
    lease    the lease of the latest attempt (kept after it ends, so a late report still counts)
    leaseAt, leaseExp   when that lease began and ends;  due: when a retrying item may go again
    rep      1 once the latest attempt reported (a second report of it is a no-op)
  A report under a lease counts while that lease is the item's latest attempt and has not
  reported, live or expired: only a newer attempt makes it stale. That is what keeps a slow
  worker's success from being sent again.

  Chunk (hash K.chunks, packed "start|stop|left|gen|started"): a range [start, stop) of K.order,
  items not yet finished, the generation of its BullMQ job (a replay bumps it), and whether it
  was ever dispatched. Dispatched batches cut chunks lazily, a window ahead of dispatch, so an
  adaptive chunk size applies to the chunks still to come.

  Counters (batch hash): one per status, plus skipped, inDoubt, released, chunksTotal,
  chunksDone, chunksStarted; progress is one HGETALL. Scripts add their deltas once at the end.
]]
--- @batch-keys
local NOW
do
  local t = redis.call('TIME')
  NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
math.randomseed(NOW)
local TERMINAL = { completed = true, completed_with_errors = true, aborted = true, cancelled = true }
local COUNTER = { p = 'pending', r = 'retrying', l = 'inFlight', s = 'succeeded', d = 'deadLettered' }
local IN_DOUBT_MESSAGE = 'The attempt never reported before its lease expired: it may or may not have '
  .. 'taken effect. Check the target, then replay the in_doubt class to send it again.'

local function fail_with(code, state)
  return cjson.encode({ err = code, state = state })
end

local function split(text, sep)
  local out = {}
  if text == nil or text == '' then
    return out
  end
  for part in string.gmatch(text, '([^' .. sep .. ']+)') do
    out[#out + 1] = part
  end
  return out
end

-- Batch fields most scripts need, read once.
local BATCH_FIELDS = { 'state', 'sealed', 'maxAttempts', 'backoffInitialMs', 'backoffMaxMs', 'delivery',
  'concurrency', 'inDoubtPolicy', 'targetUrl', 'chunkSize', 'chunkSizeNow', 'chunkBytes', 'chunksTotal',
  'chunksStarted', 'cutTo', 'adaptive', 'adaptiveTargetMs', 'adaptiveMin', 'adaptiveMax' }
local batch = {}
local function loadBatch()
  if redis.call('EXISTS', K.batch) == 0 then
    return false
  end
  local values = redis.call('HMGET', K.batch, unpack(BATCH_FIELDS))
  for i, name in ipairs(BATCH_FIELDS) do
    batch[name] = values[i]
  end
  return true
end
local function num(name)
  return tonumber(batch[name] or '0') or 0
end
local function setField(name, value)
  batch[name] = tostring(value)
  redis.call('HSET', K.batch, name, value)
end
-- Chunks of this batch go out through the service (a worker webhook, or direct SMTP sending).
local function dispatched()
  return (batch.targetUrl ~= nil and batch.targetUrl ~= false) or batch.delivery == 'smtp'
end
-- The service sends each item itself and marks it before its transaction: an item never marked
-- was never sent, whatever became of its lease.
local function direct()
  return batch.delivery == 'smtp'
end

-- Counter deltas, written once by flush().
local delta = {}
local function bump(counter, by)
  delta[counter] = (delta[counter] or 0) + by
end
local touched = false
local finishedNow = 0
local notices = 0
-- Items settled by this script, by outcome: every reply carries it, the service counts it.
local tally = { succeeded = 0, retry_scheduled = 0, dead_lettered = 0, in_doubt = 0, skipped = 0 }

--- @include "batch-items"
--- @include "batch-outcomes"
--- @include "batch-chunks"
--- @include "batch-finish"
