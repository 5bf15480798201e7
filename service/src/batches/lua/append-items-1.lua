--[[
  Appends a page of items; a key seen before (in this page or earlier) is counted as skipped.
  Full chunks are cut as soon as they fill up, so dispatch starts while pages still arrive.
  KEYS[1] batch hash
  ARGV    itemKey1, json1, itemKey2, json2, ...
  Output  {accepted, duplicates}
          -1 no such batch, -2 batch sealed, -3 batch cancelled or finished
]]
--- @include "batch"
if redis.call('EXISTS', batchKey) == 0 then
  return -1
end
if TERMINAL_STATE[field('state')] then
  return -3
end
if field('sealed') == '1' then
  return -2
end
local chunkSize = numField('chunkSize')
local accepted, duplicates = 0, 0
for i = 1, #ARGV, 2 do
  local itemKey = ARGV[i]
  if redis.call('HSETNX', part('items'), itemKey, ARGV[i + 1]) == 0 then
    duplicates = duplicates + 1
  else
    accepted = accepted + 1
    redis.call('HSET', part('status'), itemKey, 'p')
    if redis.call('RPUSH', part('unchunked'), itemKey) >= chunkSize then
      formChunk(chunkSize)
    end
  end
end
redis.call('HINCRBY', batchKey, 'total', accepted + duplicates)
redis.call('HINCRBY', batchKey, 'pending', accepted)
redis.call('HINCRBY', batchKey, 'skipped', duplicates)
settleBatch()
return { accepted, duplicates }
