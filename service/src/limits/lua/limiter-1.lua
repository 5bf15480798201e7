--[[
  One limiter key's token bucket, kept as a "theoretical arrival time" (tat, in ms): the bucket
  holds capacity - max(0, tat - now) / interval tokens, interval = unitMs / rate. An acquire that
  cannot be served now reserves the next free slot by pushing tat forward, so callers queue in
  arrival order across every service process and sleep until their slot instead of polling.
  Time is Redis TIME, so replicas with skewed clocks still agree.

  KEYS[1]  limiter hash (settings and bucket state)
  ARGV[1]  operation: configure | acquire | take | throttle | release | state
  ARGV[2]  '1' when ARGV[3..7] carry settings to store first (last writer wins), else '0';
           then '|' and the idle expiry in ms: a key nobody uses for that long is forgotten
  ARGV[3..7] capacity, refill (tokens per unit), unitMs, adaptive (0|1), recoveryStepMs
  ARGV[8..]  per operation:
    acquire   cost, maxWaitMs  -> reserves a slot unless it is more than maxWaitMs away
    take      cost of each item -> grants the longest prefix available now, never waits
    throttle  pauseMs          -> no grants for pauseMs, bucket drained, queued slots shifted
    release   cost             -> gives back a reservation its caller will not use

  Returns { code, a, b, now, capacity, refill, unitMs, adaptive, recoveryStepMs, rate, tat,
            pausedUntil, pausedTotal, throttles, grantedTokens, lastThrottleAt } as strings:
    acquire  code 1 granted after a = waitMs; code 0 refused, a = retryAfterMs
    take     code 1, a = items granted, b = retryAfterMs for the next item
    others   code 1
  Errors: -1 limiter not configured; -2 cost above capacity: { -2, cost, index, capacity }
    (index: 0-based position in take's list, -1 for acquire), nothing granted.
]]
local CUT = 0.5 -- adaptive: multiply the rate by this on a throttle
local FLOOR = 0.1 -- adaptive: never below this share of the configured refill
local STEP = 0.1 -- adaptive: add this share of the configured refill per recovery step

local key = KEYS[1]
local op = ARGV[1]
local withSettings, idleMs = string.match(ARGV[2], '^(%d)|?(%d*)$')
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000

local s = redis.call('HMGET', key, 'capacity', 'refill', 'unitMs', 'adaptive', 'recoveryStepMs',
  'rate', 'tat', 'pausedUntil', 'pausedTotal', 'adjustedAt', 'cutAt', 'throttles',
  'grantedTokens', 'lastThrottleAt')
local capacity, refill, unitMs = tonumber(s[1]), tonumber(s[2]), tonumber(s[3])
local adaptive, stepMs, rate = tonumber(s[4]), tonumber(s[5]), tonumber(s[6])
local tat, pausedUntil, pausedTotal = tonumber(s[7]) or 0, tonumber(s[8]) or 0, tonumber(s[9]) or 0
local adjustedAt, cutAt = tonumber(s[10]) or now, tonumber(s[11]) or 0
local throttles, granted = tonumber(s[12]) or 0, tonumber(s[13]) or 0
local lastThrottleAt = tonumber(s[14]) or 0

-- Queued reservations follow a rate change; the pause itself is time, not tokens, so it stays.
local function rescale(oldInterval, newInterval)
  local anchor = math.max(now, pausedUntil)
  if tat > anchor then tat = anchor + (tat - anchor) * newInterval / oldInterval end
end

-- While paused the bucket stays empty, so the first grant after a pause waits a full interval.
local function holdPause()
  if now < pausedUntil then tat = math.max(tat, pausedUntil + capacity * unitMs / rate) end
end

if withSettings == '1' then
  local c, r, u = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
  local a, st = tonumber(ARGV[6]), tonumber(ARGV[7])
  if capacity == nil then
    rate, tat = r, 0
  elseif c ~= capacity or r ~= refill or u ~= unitMs or a ~= adaptive or st ~= stepMs then
    rescale(unitMs / rate, u / r)
    rate = r
  end
  capacity, refill, unitMs, adaptive, stepMs = c, r, u, a, st
  holdPause()
end
if capacity == nil then return { -1 } end

-- Adaptive recovery is applied lazily: one additive step per recoveryStepMs since the last change.
if adaptive == 1 and rate < refill and now - adjustedAt >= stepMs then
  local steps = math.floor((now - adjustedAt) / stepMs)
  local newRate = math.min(refill, rate + steps * refill * STEP)
  rescale(unitMs / rate, unitMs / newRate)
  rate, adjustedAt = newRate, adjustedAt + steps * stepMs
end

local interval = unitMs / rate
local code, a, b = 1, 0, 0

if op == 'acquire' then
  local cost, maxWait = tonumber(ARGV[8]), tonumber(ARGV[9])
  if cost > capacity then return { -2, tostring(cost), '-1', tostring(capacity) } end
  local newTat = math.max(tat, now) + cost * interval
  local wait = math.max(0, newTat - capacity * interval - now)
  if wait > maxWait then
    code, a = 0, wait
  else
    tat, granted, a = newTat, granted + cost, wait
  end
elseif op == 'take' then
  -- A cost that could never be granted refuses the whole list, wherever it stands in it.
  for i = 8, #ARGV do
    if tonumber(ARGV[i]) > capacity then
      return { -2, ARGV[i], tostring(i - 8), tostring(capacity) }
    end
  end
  local available = capacity - math.max(0, tat - now) / interval
  local sum, count = 0, 0
  for i = 8, #ARGV do
    local cost = tonumber(ARGV[i])
    -- A hair of tolerance: float refill arithmetic must not refuse a token that is due.
    if sum + cost > available + 1e-6 then break end
    sum, count = sum + cost, count + 1
  end
  if sum > 0 then tat, granted = math.max(tat, now) + sum * interval, granted + sum end
  a = count
  if count < #ARGV - 7 then
    local next = tonumber(ARGV[8 + count])
    b = math.max(0, math.max(tat, now) + (next - capacity) * interval - now)
  end
elseif op == 'throttle' then
  local anchor = math.max(now, pausedUntil)
  local untilNew = math.max(pausedUntil, now + tonumber(ARGV[8]))
  local shift = math.max(0, untilNew - anchor)
  tat = shift + math.max(tat, anchor + capacity * interval)
  pausedUntil, pausedTotal = untilNew, pausedTotal + shift
  throttles, lastThrottleAt = throttles + 1, now
  -- Several callers usually report the same overload: cut at most once per recovery step.
  if adaptive == 1 and now - cutAt >= stepMs then
    local newRate = math.max(refill * FLOOR, rate * CUT)
    rescale(interval, unitMs / newRate)
    rate, cutAt = newRate, now
  end
  if adaptive == 1 then adjustedAt = math.max(now, pausedUntil) end
elseif op == 'release' then
  local cost = tonumber(ARGV[8])
  tat, granted = tat - cost * interval, math.max(0, granted - cost)
  holdPause()
end

local function fmt(x) return string.format('%.3f', x) end
redis.call('HSET', key, 'capacity', capacity, 'refill', refill, 'unitMs', unitMs,
  'adaptive', adaptive, 'recoveryStepMs', stepMs, 'rate', fmt(rate), 'tat', fmt(tat),
  'pausedUntil', fmt(pausedUntil), 'pausedTotal', fmt(pausedTotal), 'adjustedAt', fmt(adjustedAt),
  'cutAt', fmt(cutAt), 'throttles', throttles, 'grantedTokens', granted,
  'lastThrottleAt', fmt(lastThrottleAt))
if tonumber(idleMs) then
  redis.call('PEXPIRE', key, tonumber(idleMs))
end
return { code, fmt(a), fmt(b), fmt(now), tostring(capacity), tostring(refill), tostring(unitMs),
  tostring(adaptive), tostring(stepMs), fmt(rate), fmt(tat), fmt(pausedUntil), fmt(pausedTotal),
  tostring(throttles), tostring(granted), fmt(lastThrottleAt) }
