-- The latest n8n executions that worked each chunk (Claim and Record Results name theirs), so an
-- operator can go from a chunk or a dead letter to its execution. Five per chunk, newest first.
local function noteExecutions(chunkSet, executionId, workflowId, status)
  local list = {}
  for index in pairs(chunkSet) do
    list[#list + 1] = index
  end
  if executionId == '' then
    return list
  end
  for _, index in ipairs(list) do
    local raw = redis.call('HGET', K.executions, index)
    local entries = raw and cjson.decode(raw) or {}
    local kept = { { id = executionId, workflowId = workflowId, status = status, at = NOW } }
    for _, entry in ipairs(entries) do
      if entry.id ~= executionId and #kept < 5 then
        kept[#kept + 1] = entry
      end
    end
    redis.call('HSET', K.executions, index, cjson.encode(kept))
  end
  return list
end
