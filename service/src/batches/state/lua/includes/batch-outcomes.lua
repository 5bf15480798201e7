-- What can become of an item: succeeded, failed (retry or dead letter), given back, leased,
-- in doubt; and the lease records that say which items an attempt covers.
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
