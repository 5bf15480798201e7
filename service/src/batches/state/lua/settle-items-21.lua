--[[
  Checkpoint Record Results. Under a lease, an item's result counts while that lease is its
  latest attempt and has not reported (live or expired; only a newer attempt makes it stale); an
  in-doubt dead letter whose attempt reports late is settled by it. Without a lease any unfinished
  item may be recorded, and that counts as an attempt. `released` gives an item back unworked: no
  attempt spent, no failure counted, due again after retryAfterMs.
  KEYS    every key of the batch (BATCH_KEY_PARTS)
  ARGV[1] lease id ('' none)   ARGV[2] n8n execution id ('' none)   ARGV[3] workflow id
  ARGV[4..] 7 per item: itemKey, outcome ('s' | 'f' | 'g' released), transient ('1'|'0'), error
          class, message, http code ('' none), retryAfterMs
  Reply   JSON {succeeded, retryScheduled, deadLettered, released, ignored: [[key, reason]...],
          chunks: [index...], state, unqueued, notices, now}  or {err: 'no_batch'}
          reasons: unknown, finished, dead_lettered, stale_lease, already_recorded
]]
--- @include "batch"
--- @include "executions"
if not loadBatch() then
  return fail_with('no_batch')
end
local leaseId = ARGV[1]
local keys = {}
for i = 4, #ARGV, 7 do
  keys[#keys + 1] = ARGV[i]
end
loadItems(keys)
local counts = { s = 0, r = 0, d = 0, g = 0 }
local ignored, chunks = {}, {}
for i = 4, #ARGV, 7 do
  local key, outcome = ARGV[i], ARGV[i + 1]
  local it = cache[key]
  local reason = record(key, it, leaseId, outcome, ARGV[i + 2] == '1', ARGV[i + 3], ARGV[i + 4], ARGV[i + 5],
    ARGV[i + 6])
  if reason then
    ignored[#ignored + 1] = { key, reason }
  else
    local kind = outcome == 'g' and 'g' or it.st
    counts[kind] = (counts[kind] or 0) + 1
    if it.chunk >= 0 then
      chunks[it.chunk] = true
    end
  end
end
local chunkList = noteExecutions(chunks, ARGV[2], ARGV[3], 'recorded')
local state = finishBatch()
return cjson.encode({ succeeded = counts.s, retryScheduled = counts.r, deadLettered = counts.d,
  released = counts.g, ignored = ignored, chunks = chunkList, state = state, unqueued = #unqueue,
  notices = notices, tally = tally, now = NOW })
