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

-- Items: decoded on first use, written back once by flush().
local cache, dirty = {}, {}
local PACK = '^(%a)|(%d+)|(%-?%d+)|(%d+)|([^|]*)|(%d+)|(%d+)|(%d+)|(%w)$'
local function decode(v)
  local st, att, chunk, first, lease, leaseAt, leaseExp, due, rep = string.match(v, PACK)
  return { st = st, att = tonumber(att), chunk = tonumber(chunk), first = tonumber(first), lease = lease,
    leaseAt = tonumber(leaseAt), leaseExp = tonumber(leaseExp), due = tonumber(due), rep = rep }
end
local function encode(it)
  return table.concat({ it.st, it.att, it.chunk, it.first, it.lease, it.leaseAt, it.leaseExp, it.due, it.rep }, '|')
end
local function newItem()
  return { st = 'p', att = 0, chunk = -1, first = 0, lease = '', leaseAt = 0, leaseExp = 0, due = 0, rep = '0' }
end
local function loadItems(keys)
  local wanted = {}
  for _, key in ipairs(keys) do
    if cache[key] == nil then
      wanted[#wanted + 1] = key
    end
  end
  for i = 1, #wanted, 1000 do
    local group = { unpack(wanted, i, math.min(i + 999, #wanted)) }
    local values = redis.call('HMGET', K.item, unpack(group))
    for j, key in ipairs(group) do
      cache[key] = values[j] and decode(values[j]) or false
    end
  end
end
local function item(key)
  if cache[key] == nil then
    local v = redis.call('HGET', K.item, key)
    cache[key] = v and decode(v) or false
  end
  return cache[key]
end
local function changed(key)
  dirty[key] = true
  touched = true
end
local function move(it, to)
  if it.st ~= nil then
    bump(COUNTER[it.st], -1)
  end
  bump(COUNTER[to], 1)
  it.st = to
end

-- Chunks: same pattern.
local chunkCache, chunkDirty = {}, {}
local function chunk(index)
  index = tonumber(index)
  if index == nil or index < 0 then
    return nil
  end
  if chunkCache[index] == nil then
    local v = redis.call('HGET', K.chunks, index)
    if v then
      local s, e, left, gen, started = string.match(v, '^(%d+)|(%d+)|(%-?%d+)|(%d+)|(%d)$')
      chunkCache[index] = { start = tonumber(s), stop = tonumber(e), left = tonumber(left), gen = tonumber(gen),
        started = started }
    else
      chunkCache[index] = false
    end
  end
  return chunkCache[index] or nil
end
local function chunkChanged(index)
  chunkDirty[tonumber(index)] = true
  touched = true
end

-- Error classes (failures, give-backs excluded) with up to three samples each.
local errorDelta, deadClassDelta, samples = {}, {}, {}
local function noteError(class, key, message)
  errorDelta[class] = (errorDelta[class] or 0) + 1
  if samples[class] == nil then
    local raw = redis.call('HGET', K.samples, class)
    samples[class] = { list = raw and cjson.decode(raw) or {}, dirty = false }
  end
  local s = samples[class]
  if #s.list < 3 then
    s.list[#s.list + 1] = { key = key, message = string.sub(message, 1, 500) }
    s.dirty = true
  end
end

-- A finished item: its chunk has one less to do; finished items per second feed items/s.
local function finish(it)
  finishedNow = finishedNow + 1
  local c = chunk(it.chunk)
  if c then
    c.left = c.left - 1
    chunkChanged(it.chunk)
    if c.left == 0 then
      bump('chunksDone', 1)
    end
  end
end
-- The reverse, for an item that leaves succeeded/dead-lettered (a replay, a late report).
local unqueue = {}
local function unfinish(it)
  local c = chunk(it.chunk)
  if c then
    c.left = c.left + 1
    chunkChanged(it.chunk)
    if c.left == 1 then
      bump('chunksDone', -1)
      -- The chunk's job ended when it finished; a new generation gets a new job.
      c.gen = c.gen + 1
      if dispatched() then
        unqueue[#unqueue + 1] = it.chunk
        redis.call('HSET', K.unqueued, it.chunk, c.gen)
      end
    end
  end
end

local function succeed(key, it)
  tally.succeeded = tally.succeeded + 1
  move(it, 's')
  it.due = 0
  changed(key)
  finish(it)
end

local function deadLetter(key, it, class, message, httpCode, extra)
  local info = { class = class, message = message, attempts = it.att, firstAt = it.first > 0 and it.first or NOW,
    lastAt = NOW, chunkIndex = it.chunk }
  if httpCode ~= nil and httpCode ~= '' then
    info.httpCode = tonumber(httpCode)
  end
  for name, value in pairs(extra or {}) do
    info[name] = value
  end
  redis.call('HSET', K.dead, key, cjson.encode(info))
  redis.call('ZADD', K['dead-order'], NOW, key)
  deadClassDelta[class] = (deadClassDelta[class] or 0) + 1
  if class == 'in_doubt' then
    bump('inDoubt', 1)
    tally.in_doubt = tally.in_doubt + 1
  else
    tally.dead_lettered = tally.dead_lettered + 1
    noteError(class, key, message)
  end
  move(it, 'd')
  it.due = 0
  changed(key)
  finish(it)
end

-- Takes an item out of the dead letters (replay, or a late report resolving an in-doubt item).
local function undead(key, it)
  local raw = redis.call('HGET', K.dead, key)
  local class = raw and cjson.decode(raw).class or 'error'
  redis.call('HDEL', K.dead, key)
  redis.call('ZREM', K['dead-order'], key)
  deadClassDelta[class] = (deadClassDelta[class] or 0) - 1
  if class == 'in_doubt' then
    bump('inDoubt', -1)
  end
  unfinish(it)
  return class
end

-- A failed attempt: retried after full-jitter exponential backoff (never sooner than
-- retryAfterMs) while attempts remain and the failure is transient; else dead-lettered.
local function fail(key, it, transient, class, message, httpCode, retryAfterMs)
  if not transient or it.att >= num('maxAttempts') then
    if transient then
      message = message .. ' (gave up after ' .. it.att .. ' attempts)'
    end
    deadLetter(key, it, class, message, httpCode)
    return 'd'
  end
  noteError(class, key, message)
  local cap = math.min(num('backoffMaxMs'), num('backoffInitialMs') * 2 ^ math.max(it.att - 1, 0))
  it.due = NOW + math.max(math.floor(math.random() * cap), tonumber(retryAfterMs) or 0)
  tally.retry_scheduled = tally.retry_scheduled + 1
  move(it, 'r')
  changed(key)
  return 'r'
end

-- Gives an item back unworked (a Claim that could not go on, e.g. rate limited): no attempt
-- spent, no failure counted; due again after retryAfterMs.
local function giveBack(key, it, retryAfterMs, attemptCounted)
  if attemptCounted and it.att > 0 then
    it.att = it.att - 1
  end
  it.due = NOW + (tonumber(retryAfterMs) or 0)
  move(it, 'r')
  bump('released', 1)
  changed(key)
end

-- A new attempt under a lease; the attempt number is what the worker is told.
local startedNow = false
local function lease(key, it, leaseId, leaseExp)
  it.att = it.att + 1
  if it.first == 0 then
    it.first = NOW
  end
  it.lease, it.leaseAt, it.leaseExp, it.due, it.rep = leaseId, NOW, leaseExp, 0, '0'
  move(it, 'l')
  changed(key)
  startedNow = true
end

-- Lease records: which items an attempt covers, so its expiry can be settled.
local function recordLease(leaseId, chunkIndex, keys, leaseExp)
  local existing = redis.call('HGET', K.leases, leaseId)
  local text = table.concat(keys, ',')
  if existing then
    text = string.match(existing, '^%-?%d+|(.*)$') .. ',' .. text
  end
  redis.call('HSET', K.leases, leaseId, chunkIndex .. '|' .. text)
  redis.call('ZADD', K['lease-exp'], leaseExp, leaseId)
end
local function leaseKeys(leaseId)
  local rec = redis.call('HGET', K.leases, leaseId)
  if not rec then
    return nil
  end
  local chunkIndex, keys = string.match(rec, '^(%-?%d+)|(.*)$')
  return split(keys, ','), tonumber(chunkIndex)
end
local function dropLease(leaseId)
  redis.call('HDEL', K.leases, leaseId)
  redis.call('HDEL', K['lease-notes'], leaseId)
  redis.call('ZREM', K['lease-exp'], leaseId)
end

-- An attempt that never reported before its lease expired: held as in doubt, or retried as a
-- transient failure of the class its dispatch noted (timeout, connection reset), per the batch.
local function settleInDoubt(key, it, note)
  if batch.inDoubtPolicy == 'hold' then
    deadLetter(key, it, 'in_doubt', IN_DOUBT_MESSAGE, (note and note.httpCode) or '', {
      lease = it.lease, leaseStartedAt = it.leaseAt, leaseExpiredAt = it.leaseExp,
      cause = note and note.class or cjson.null,
    })
  else
    fail(key, it, true, (note and note.class) or 'lease_expired',
      (note and note.message) or 'the attempt never reported before its lease expired',
      (note and note.httpCode) or '', 0)
  end
end

-- An item whose direct delivery never began (no transaction opened): back, no attempt spent.
local function unsent(key, it)
  it.att = math.max(0, it.att - 1)
  it.due = NOW
  it.lease = ''
  move(it, 'r')
  changed(key)
end

local function expireLeases(limit)
  local ids = redis.call('ZRANGEBYSCORE', K['lease-exp'], '-inf', NOW, 'LIMIT', 0, limit)
  for _, leaseId in ipairs(ids) do
    local keys = leaseKeys(leaseId) or {}
    local rawNote = redis.call('HGET', K['lease-notes'], leaseId)
    local note = rawNote and cjson.decode(rawNote) or nil
    loadItems(keys)
    for _, key in ipairs(keys) do
      local it = cache[key]
      if it and it.st == 'l' and it.lease == leaseId then
        if direct() and it.rep == '0' then
          unsent(key, it)
        else
          settleInDoubt(key, it, note)
        end
      end
    end
    dropLease(leaseId)
  end
  return #ids
end

-- One outcome for one item. Answers nil when recorded, else why it was ignored.
-- outcome: 's' succeeded, 'f' failed, 'g' given back (released).
local function record(key, it, leaseId, outcome, transient, class, message, httpCode, retryAfterMs)
  if not it then
    return 'unknown'
  end
  local counted = it.st == 'l'
  if leaseId ~= '' then
    if it.lease ~= leaseId then
      if it.st == 's' then
        return 'finished'
      elseif it.st == 'd' then
        return 'dead_lettered'
      end
      return 'stale_lease'
    end
    if it.rep == '1' then
      return 'already_recorded'
    end
    if it.st == 'd' then
      -- Held in doubt; the attempt reported after all, which settles the doubt.
      undead(key, it)
    elseif it.st ~= 'l' and it.st ~= 'r' then
      return 'stale_lease'
    end
    counted = true
  else
    if it.st == 's' then
      return 'finished'
    elseif it.st == 'd' then
      return 'dead_lettered'
    end
    if it.st ~= 'l' and outcome ~= 'g' then
      -- Recorded without a lease: that run was an attempt of its own.
      it.att = it.att + 1
      if it.first == 0 then
        it.first = NOW
      end
    end
  end
  it.rep = '1'
  if outcome == 's' then
    succeed(key, it)
  elseif outcome == 'g' then
    giveBack(key, it, retryAfterMs, counted)
  else
    fail(key, it, transient, class, message, httpCode, retryAfterMs)
  end
  return nil
end

-- Concurrency slots of dispatches; expired slots belong to dispatches that died.
local function freeSlots()
  redis.call('ZREMRANGEBYSCORE', K.slots, '-inf', NOW)
  return num('concurrency') - redis.call('ZCARD', K.slots)
end

-- Parked chunk jobs (paused or no free slot) to wake, at most `count`.
local function unpark(count)
  if count <= 0 then
    return {}
  end
  return redis.call('SPOP', K.parked, count)
end

-- Cuts the next chunk from the items not yet in one: up to the current chunk size, and never
-- over chunkBytes of item JSON (one item alone may be larger). A partial chunk only when allowed.
local function cutChunk(partialOk)
  local total = redis.call('LLEN', K.order)
  local from = num('cutTo')
  if from >= total then
    return false
  end
  local size = num('chunkSizeNow')
  if size <= 0 then
    size = num('chunkSize')
  end
  if total - from < size and not partialOk then
    return false
  end
  local maxBytes = num('chunkBytes')
  local n, bytes = 0, 0
  for _, s in ipairs(redis.call('LRANGE', K.sizes, from, from + size - 1)) do
    local b = tonumber(s)
    if n > 0 and maxBytes > 0 and bytes + b > maxBytes then
      break
    end
    n = n + 1
    bytes = bytes + b
  end
  local keys = redis.call('LRANGE', K.order, from, from + n - 1)
  loadItems(keys)
  local index = num('chunksTotal')
  local left = 0
  for _, key in ipairs(keys) do
    local it = cache[key]
    it.chunk = index
    changed(key)
    if it.st ~= 's' and it.st ~= 'd' then
      left = left + 1
    end
  end
  chunkCache[index] = { start = from, stop = from + n, left = left, gen = 0, started = left == 0 and '1' or '0' }
  chunkChanged(index)
  setField('chunksTotal', index + 1)
  setField('cutTo', from + n)
  if left == 0 then
    bump('chunksDone', 1)
    setField('chunksStarted', num('chunksStarted') + 1)
  elseif dispatched() then
    redis.call('HSET', K.unqueued, index, 0)
    unqueue[#unqueue + 1] = index
  end
  return true
end

-- Dispatched batches keep a window of chunks cut ahead of dispatch (so later chunks get the
-- adaptive size); batches worked by Claim have every full chunk cut at once.
local function cutChunks(partialOk)
  if dispatched() then
    -- Refilled when half empty, so new chunks' jobs are added several at a time.
    local window = math.max(4, 2 * num('concurrency'))
    if num('chunksTotal') - num('chunksStarted') >= window / 2 then
      return
    end
    while num('chunksTotal') - num('chunksStarted') < window and cutChunk(partialOk) do
    end
  else
    while cutChunk(partialOk) do
    end
  end
end

local function flush()
  local args = {}
  for key in pairs(dirty) do
    args[#args + 1] = key
    args[#args + 1] = encode(cache[key])
    if #args >= 1000 then
      redis.call('HSET', K.item, unpack(args))
      args = {}
    end
  end
  if #args > 0 then
    redis.call('HSET', K.item, unpack(args))
  end
  dirty = {}
  for index in pairs(chunkDirty) do
    local c = chunkCache[index]
    redis.call('HSET', K.chunks, index, table.concat({ c.start, c.stop, c.left, c.gen, c.started }, '|'))
  end
  chunkDirty = {}
  for name, by in pairs(delta) do
    if by ~= 0 then
      redis.call('HINCRBY', K.batch, name, by)
    end
  end
  delta = {}
  for class, by in pairs(errorDelta) do
    redis.call('HINCRBY', K.errors, class, by)
  end
  errorDelta = {}
  for class, by in pairs(deadClassDelta) do
    if by ~= 0 and redis.call('HINCRBY', K['dead-classes'], class, by) <= 0 then
      redis.call('HDEL', K['dead-classes'], class)
    end
  end
  deadClassDelta = {}
  for class, s in pairs(samples) do
    if s.dirty then
      redis.call('HSET', K.samples, class, cjson.encode(s.list))
      s.dirty = false
    end
  end
  if finishedNow > 0 then
    local second = math.floor(NOW / 1000)
    redis.call('HINCRBY', K.rate, second, finishedNow)
    if redis.call('HLEN', K.rate) > 130 then
      for _, f in ipairs(redis.call('HKEYS', K.rate)) do
        if tonumber(f) < second - 65 then
          redis.call('HDEL', K.rate, f)
        end
      end
    end
    finishedNow = 0
  end
  if startedNow then
    redis.call('HSETNX', K.batch, 'startedAt', NOW)
    startedNow = false
  end
end

-- Notices for the milestone and completion receivers, delivered in order by the service.
local function notice(kind, fields)
  local hash = redis.call('HMGET', K.batch, 'milestoneUrl', 'completionUrl', 'round')
  local to = kind == 'completion' and hash[2] or hash[1]
  if not to then
    return
  end
  local round = tonumber(hash[3] or '0') or 0
  local event = { type = kind, at = NOW, to = kind == 'completion' and 'completion' or 'milestone' }
  local id = K.batch .. ':' .. round .. ':' .. kind
  for name, value in pairs(fields or {}) do
    event[name] = value
    if name == 'milestone' or name == 'openedAt' then
      id = id .. ':' .. value
    end
  end
  event.id = string.sub(id, string.find(id, '{', 1, true) + 1):gsub('}', '')
  redis.call('RPUSH', K.outbox, cjson.encode(event))
  notices = notices + 1
end

-- Keys expire `retentionMs` after the batch ends; a replay that reopens it keeps them again.
local function retain(terminal)
  local retention = tonumber(redis.call('HGET', K.batch, 'retentionMs') or '0') or 0
  for _, key in ipairs(KEYS) do
    if terminal and retention > 0 then
      redis.call('PEXPIRE', key, retention)
    elseif not terminal then
      redis.call('PERSIST', key)
    end
  end
end

-- After every change: abort past the failure threshold, complete when nothing is left, send
-- the milestones crossed (each once, in order), publish the state. Answers the state.
local function finishBatch()
  flush()
  local h = redis.call('HMGET', K.batch, 'state', 'sealed', 'pending', 'retrying', 'inFlight', 'succeeded',
    'skipped', 'deadLettered', 'inDoubt', 'total', 'failureRatio', 'failureMinSample', 'lastMilestone')
  local state = h[1]
  local n = function(i)
    return tonumber(h[i] or '0') or 0
  end
  local sealed = h[2] == '1'
  local succeeded, skipped, dead, held, total = n(6), n(7), n(8), n(9), n(10)
  local becameTerminal = false
  -- A late report can change a finished batch: settle an in-doubt item (completed after all), or
  -- fail it transiently (work to do again: the batch runs again).
  if state == 'completed' or state == 'completed_with_errors' then
    if n(3) + n(4) + n(5) > 0 then
      state = 'running'
      redis.call('HSET', K.batch, 'state', state)
      redis.call('HDEL', K.batch, 'finishedAt')
      redis.call('HINCRBY', K.batch, 'round', 1)
      retain(false)
      touched = true
    elseif state == 'completed_with_errors' and dead == 0 then
      state = 'completed'
      redis.call('HSET', K.batch, 'state', state)
      touched = true
    end
  end
  if not TERMINAL[state] then
    local ratio = tonumber(h[11] or '')
    local failures = dead - held
    local processed = succeeded + failures
    local next = nil
    if ratio and processed > 0 and processed >= n(12) and failures / processed > ratio then
      next = 'aborted'
      redis.call('HSET', K.batch, 'abortReason', string.format(
        'Failure threshold passed: %d of %d processed items failed (ratio %.3f > %s); remaining chunks were cancelled',
        failures, processed, failures / processed, h[11]))
    elseif sealed and n(3) + n(4) + n(5) == 0 and state ~= 'paused' then
      next = dead > 0 and 'completed_with_errors' or 'completed'
    end
    if next then
      redis.call('HSET', K.batch, 'state', next, 'finishedAt', NOW)
      state = next
      touched = true
      becameTerminal = true
    end
  end
  if sealed and total > 0 then
    local done = succeeded + skipped + dead
    local reached = math.floor(done * 4 / total) * 25
    if reached >= 100 and not (state == 'completed' or state == 'completed_with_errors') then
      reached = 75
    end
    local last = n(13)
    if reached > last then
      for milestone = last + 25, reached, 25 do
        notice('milestone', { milestone = milestone })
      end
      redis.call('HSET', K.batch, 'lastMilestone', reached)
    end
  end
  if becameTerminal then
    if state == 'aborted' or state == 'cancelled' then
      notice(state, { state = state })
    end
    notice('completion', { state = state })
    retain(true)
  elseif TERMINAL[state] and touched then
    retain(true)
  end
  if touched then
    redis.call('PUBLISH', K.batch .. ':events', state)
  end
  return state
end
