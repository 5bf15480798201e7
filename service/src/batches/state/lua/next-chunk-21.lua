--[[
  Split Into Chunks -> Loop: hands out the next chunk of a batch worked in a loop (no worker
  webhook). The loop's cursor is the batch itself: the first chunk with unfinished items comes
  next, so a run that died resumes there. Its due items are leased under a lease named by the
  chunk and its generation: a resumed run gets back the items the dead run held but never
  recorded (at once, not after their lease), and items recorded meanwhile are not handed out again.
  Items retrying later than now are skipped over; when only those are left, the answer says when.
  KEYS    every key of the batch (BATCH_KEY_PARTS)
  ARGV[1] lease ms   ARGV[2] n8n execution id ('' none)   ARGV[3] workflow id
  ARGV[4] the chunk the loop body just worked (-1 none)
  Reply   JSON {kind: 'chunk', chunkIndex, lease, leaseExp, items: [[key, attempt, json]...]}
             | {kind: 'wait', wakeAt} | {kind: 'done'}
          plus previous: {chunkIndex, left, unreported} for the chunk named in ARGV[4], state, now
          or {err: 'no_batch'}
]]
--- @include "batch"
--- @include "executions"
if not loadBatch() then
  return fail_with('no_batch')
end
if expireLeases(100) > 0 then
  batch.state = finishBatch()
end
local function base(fields)
  fields.state = batch.state
  fields.notices = notices
  fields.tally = tally
  fields.now = NOW
  return cjson.encode(fields)
end

-- What became of the chunk the loop body was given: items it left unrecorded mean the body does
-- not reach Record Results (a runaway loop), which the node reports instead of looping on.
local previous = cjson.null
local prevIndex = tonumber(ARGV[4])
if prevIndex >= 0 then
  local c = chunk(prevIndex)
  if c then
    local unreported = 0
    local loopLease = 'loop-' .. prevIndex .. '-' .. c.gen
    local keys = redis.call('LRANGE', K.order, c.start, c.stop - 1)
    loadItems(keys)
    for _, key in ipairs(keys) do
      local it = cache[key]
      if it.st == 'l' and it.lease == loopLease and it.rep == '0' then
        unreported = unreported + 1
      end
    end
    previous = { chunkIndex = prevIndex, left = c.left, unreported = unreported }
  end
end

if TERMINAL[batch.state] then
  return base({ kind = 'done', previous = previous })
end
if batch.state == 'paused' then
  return base({ kind = 'wait', wakeAt = NOW + 1000, previous = previous })
end
local total = num('chunksTotal')
local from = tonumber(redis.call('HGET', K.batch, 'loopFrom') or '0') or 0
local wakeAt = false
local advanced = false
for index = from, total - 1 do
  local c = chunk(index)
  if c and c.left > 0 then
    advanced = true
    local loopLease = 'loop-' .. index .. '-' .. c.gen
    local keys = redis.call('LRANGE', K.order, c.start, c.stop - 1)
    loadItems(keys)
    local taken, fresh = {}, {}
    local leaseExp = NOW + tonumber(ARGV[1])
    for _, key in ipairs(keys) do
      local it = cache[key]
      if it.st == 'p' or (it.st == 'r' and it.due <= NOW) then
        lease(key, it, loopLease, leaseExp)
        taken[#taken + 1] = key
        fresh[#fresh + 1] = key
      elseif it.st == 'l' and it.lease == loopLease and it.rep == '0' then
        -- A resumed run: the items a dead run held, under this chunk's loop lease.
        it.leaseExp = leaseExp
        changed(key)
        taken[#taken + 1] = key
      elseif it.st == 'r' or it.st == 'l' then
        local at = it.st == 'r' and it.due or it.leaseExp
        if not wakeAt or at < wakeAt then
          wakeAt = at
        end
      end
    end
    if #taken > 0 then
      if #fresh > 0 then
        recordLease(loopLease, index, fresh, leaseExp)
      else
        redis.call('ZADD', K['lease-exp'], leaseExp, loopLease)
      end
      noteExecutions({ [index] = true }, ARGV[2], ARGV[3], 'claimed')
      finishBatch()
      local out = {}
      for i = 1, #taken, 1000 do
        local group = { unpack(taken, i, math.min(i + 999, #taken)) }
        local jsons = redis.call('HMGET', K.items, unpack(group))
        for j, key in ipairs(group) do
          out[#out + 1] = { key, cache[key].att, jsons[j] }
        end
      end
      return base({ kind = 'chunk', chunkIndex = index, lease = loopLease, leaseExp = leaseExp, items = out,
        previous = previous })
    end
  elseif not advanced and c then
    -- Finished chunks at the front are never looked at again.
    redis.call('HSET', K.batch, 'loopFrom', index + 1)
  end
end
finishBatch()
batch.state = redis.call('HGET', K.batch, 'state')
if TERMINAL[batch.state] then
  return base({ kind = 'done', previous = previous })
end
return base({ kind = 'wait', wakeAt = wakeAt or (NOW + 1000), previous = previous })
