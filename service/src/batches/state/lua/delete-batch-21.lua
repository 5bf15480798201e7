--[[
  Deletes a finished batch and everything it holds (an operator's DELETE; retention does the same
  by expiry). A batch still open, running or paused is refused: cancel it first.
  KEYS    every key of the batch (BATCH_KEY_PARTS)
  Reply   JSON {deleted, now} or {err: 'no_batch' | 'batch_running'}
]]
--- @include "batch"
if not loadBatch() then
  return fail_with('no_batch')
end
if not TERMINAL[batch.state] then
  return fail_with('batch_running')
end
redis.call('UNLINK', unpack(KEYS))
redis.call('PUBLISH', K.batch .. ':events', 'deleted')
return cjson.encode({ deleted = true, now = NOW })
