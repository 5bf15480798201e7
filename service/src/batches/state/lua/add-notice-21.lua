--[[
  Queues a notice the dispatch learned of outside the batch scripts (the target's circuit opened).
  KEYS    every key of the batch (BATCH_KEY_PARTS)
  ARGV[1] kind   ARGV[2] openedAt (ms, names the event)
  Reply   JSON {notices}
]]
--- @include "batch"
if not loadBatch() then
  return fail_with('no_batch')
end
notice(ARGV[1], { openedAt = tonumber(ARGV[2]) })
return cjson.encode({ notices = notices })
