--[[
  Circuit breaker of one target URL, shared by every batch and service process that posts to it.
  closed -> open after `threshold` consecutive transient failures; open -> half_open after the
  cooldown, where a single probe dispatch may go; the probe's success closes it, failure reopens.
  KEYS[1] breaker hash (state, failures, openedAt, probeUntil)
  ARGV[1] 'acquire' | 'success' | 'failure' | 'release'   ARGV[2] threshold   ARGV[3] cooldown ms
  ARGV[4] probe ms (how long a probe may take before another is allowed)
  Reply   JSON; acquire: {go: true, probe, failures} | {go: false, retryAt}
          others:  {state, failures, openedAt, opened (this call opened it)}; every reply has now
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
    return cjson.encode({ go = true, probe = false, failures = failures, now = now })
  end
  if state == 'open' and now < openedAt + tonumber(ARGV[3]) then
    return cjson.encode({ go = false, retryAt = openedAt + tonumber(ARGV[3]), now = now })
  end
  if state == 'half_open' and probeUntil > now then
    return cjson.encode({ go = false, retryAt = probeUntil, now = now })
  end
  redis.call('HSET', key, 'state', 'half_open', 'probeUntil', now + tonumber(ARGV[4]))
  return cjson.encode({ go = true, probe = true, now = now })
end
local opened = false
if op == 'success' then
  state, failures = 'closed', 0
  redis.call('HSET', key, 'state', state, 'failures', 0, 'probeUntil', 0)
elseif op == 'failure' then
  failures = failures + 1
  redis.call('HSET', key, 'failures', failures)
  if state == 'half_open' or (state == 'closed' and failures >= tonumber(ARGV[2])) then
    state, openedAt, opened = 'open', now, true
    redis.call('HSET', key, 'state', state, 'openedAt', now, 'probeUntil', 0)
  end
elseif op == 'release' and state == 'half_open' then
  redis.call('HSET', key, 'probeUntil', 0)
end
return cjson.encode({ state = state, failures = failures, openedAt = openedAt, opened = opened, now = now })
