--[[
  Circuit breaker of one target URL, shared by every batch and service process that posts to it.
  closed -> open after `threshold` consecutive transient failures; open -> half_open after the
  cooldown, where a single probe dispatch may go; the probe's success closes it, failure reopens.
  KEYS[1] breaker hash (state, failures, openedAt, probeUntil)
  ARGV[1] 'acquire' | 'success' | 'failure' | 'release'   ARGV[2] threshold   ARGV[3] cooldown ms
  ARGV[4] probe ms (how long a probe may take before another is allowed)
  Output  acquire: {1, isProbe} go | {0, retryAt} wait
          others:  {state, failures, openedAt}
]]
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local op = ARGV[1]
local state = redis.call('HGET', key, 'state') or 'closed'
local failures = tonumber(redis.call('HGET', key, 'failures') or '0')
local openedAt = tonumber(redis.call('HGET', key, 'openedAt') or '0')
local probeUntil = tonumber(redis.call('HGET', key, 'probeUntil') or '0')
redis.call('PEXPIRE', key, 86400000)
if op == 'acquire' then
  if state == 'closed' then
    return { 1, 0 }
  end
  if state == 'open' and now < openedAt + tonumber(ARGV[3]) then
    return { 0, openedAt + tonumber(ARGV[3]) }
  end
  if state == 'half_open' and probeUntil > now then
    return { 0, probeUntil }
  end
  redis.call('HSET', key, 'state', 'half_open', 'probeUntil', now + tonumber(ARGV[4]))
  return { 1, 1 }
end
if op == 'success' then
  state, failures = 'closed', 0
  redis.call('HSET', key, 'state', state, 'failures', 0, 'probeUntil', 0)
elseif op == 'failure' then
  failures = failures + 1
  redis.call('HSET', key, 'failures', failures)
  if state == 'half_open' or (state == 'closed' and failures >= tonumber(ARGV[2])) then
    state, openedAt = 'open', now
    redis.call('HSET', key, 'state', state, 'openedAt', now, 'probeUntil', 0)
  end
elseif op == 'release' and state == 'half_open' then
  redis.call('HSET', key, 'probeUntil', 0)
end
return { state, failures, openedAt }
