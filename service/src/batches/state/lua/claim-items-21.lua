--[[
  Checkpoint Claim. With the lease of a dispatch: its items are confirmed. Without one: free items
  (never tried, or retry due) are leased under the new lease; a live lease blocks them, and so does
  a retry not yet due (Skipped says when). Expired leases are settled first (in-doubt policy).
  Re-running it with the same new lease id (a resent command, a re-sent request with the same
  claim id) answers the same claim. A batch that finished or is paused passes everything to
  Skipped with the reason instead of refusing the request.
  KEYS    every key of the batch (BATCH_KEY_PARTS)
  ARGV[1] lease id given ('' none)   ARGV[2] new lease id   ARGV[3] lease ms
  ARGV[4] n8n execution id ('' none)   ARGV[5] workflow id   ARGV[6] most items to lease now (0 any)
  ARGV[7..] item keys
  Reply   JSON {claimed: [key...], skipped: [[key, reason, dueAt]...], leaseExp, state, notices, now}
          reasons: unknown, finished, dead_lettered, leased, not_due, batch_finished, batch_paused,
          over_max_items (free, left for other executions)
          or {err: 'no_batch'}
]]
--- @include "batch"
--- @include "executions"
if not loadBatch() then
  return fail_with('no_batch')
end
local given, newLease = ARGV[1], ARGV[2]
if expireLeases(100) > 0 then
  batch.state = finishBatch()
end
local state = batch.state
local leaseExp = NOW + tonumber(ARGV[3])
local maxItems = tonumber(ARGV[6])
if maxItems <= 0 then
  maxItems = math.huge
end
local keys = {}
for i = 7, #ARGV do
  keys[#keys + 1] = ARGV[i]
end
loadItems(keys)
local claimed, skipped, leasedNow, chunks = {}, {}, {}, {}
local function skip(key, reason, dueAt)
  skipped[#skipped + 1] = { key, reason, dueAt or 0 }
end
for _, key in ipairs(keys) do
  local it = cache[key]
  if not it then
    skip(key, 'unknown')
  elseif it.st == 's' then
    skip(key, 'finished')
  elseif it.st == 'd' then
    skip(key, 'dead_lettered')
  elseif TERMINAL[state] then
    skip(key, 'batch_finished')
  elseif given ~= '' then
    if it.st == 'l' and it.lease == given then
      claimed[#claimed + 1] = key
    elseif it.st == 'r' then
      skip(key, 'not_due', it.due)
    else
      skip(key, 'leased')
    end
  elseif it.st == 'l' and it.lease == newLease then
    claimed[#claimed + 1] = key
  elseif state == 'paused' then
    skip(key, 'batch_paused')
  elseif it.st == 'l' then
    skip(key, 'leased', it.leaseExp)
  elseif it.st == 'r' and it.due > NOW then
    skip(key, 'not_due', it.due)
  elseif #leasedNow >= maxItems then
    skip(key, 'over_max_items')
  else
    lease(key, it, newLease, leaseExp)
    claimed[#claimed + 1] = key
    leasedNow[#leasedNow + 1] = key
  end
  if it and it.chunk >= 0 and (it.st == 'l') then
    chunks[it.chunk] = true
  end
end
if #leasedNow > 0 then
  recordLease(newLease, -1, leasedNow, leaseExp)
end
noteExecutions(chunks, ARGV[4], ARGV[5], 'claimed')
state = finishBatch()
return cjson.encode({ claimed = claimed, skipped = skipped, leaseExp = leaseExp, state = state,
  notices = notices, tally = tally, now = NOW })
