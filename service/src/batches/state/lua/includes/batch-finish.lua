-- Writing a script's changes back once, notices, retention, and the batch's state after a change.
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
