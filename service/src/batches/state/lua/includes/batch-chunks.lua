-- Concurrency slots, parked chunk jobs, and cutting chunks from the items not yet in one.
-- Concurrency slots of dispatches; expired slots belong to dispatches that died.
local function freeSlots()
  redis.call('ZREMRANGEBYSCORE', K.slots, '-inf', NOW)
  return num('concurrency') - redis.call('ZCARD', K.slots)
end

-- Parked chunk jobs (paused or no free slot) to wake, at most `count`.
local function unpark(count)
  if count <= 0 then
    return {}
  end
  return redis.call('SPOP', K.parked, count)
end

-- Cuts the next chunk from the items not yet in one: up to the current chunk size, and never
-- over chunkBytes of item JSON (one item alone may be larger). A partial chunk only when allowed.
local function cutChunk(partialOk)
  local total = redis.call('LLEN', K.order)
  local from = num('cutTo')
  if from >= total then
    return false
  end
  local size = num('chunkSizeNow')
  if size <= 0 then
    size = num('chunkSize')
  end
  if total - from < size and not partialOk then
    return false
  end
  local maxBytes = num('chunkBytes')
  local n, bytes = 0, 0
  for _, s in ipairs(redis.call('LRANGE', K.sizes, from, from + size - 1)) do
    local b = tonumber(s)
    if n > 0 and maxBytes > 0 and bytes + b > maxBytes then
      break
    end
    n = n + 1
    bytes = bytes + b
  end
  local keys = redis.call('LRANGE', K.order, from, from + n - 1)
  loadItems(keys)
  local index = num('chunksTotal')
  local left = 0
  for _, key in ipairs(keys) do
    local it = cache[key]
    it.chunk = index
    changed(key)
    if it.st ~= 's' and it.st ~= 'd' then
      left = left + 1
    end
  end
  chunkCache[index] = { start = from, stop = from + n, left = left, gen = 0, started = left == 0 and '1' or '0' }
  chunkChanged(index)
  setField('chunksTotal', index + 1)
  setField('cutTo', from + n)
  if left == 0 then
    bump('chunksDone', 1)
    setField('chunksStarted', num('chunksStarted') + 1)
  elseif dispatched() then
    redis.call('HSET', K.unqueued, index, 0)
    unqueue[#unqueue + 1] = index
  end
  return true
end

-- Dispatched batches keep a window of chunks cut ahead of dispatch (so later chunks get the
-- adaptive size); batches worked by Claim have every full chunk cut at once.
local function cutChunks(partialOk)
  if dispatched() then
    -- Refilled when half empty, so new chunks' jobs are added several at a time.
    local window = math.max(4, 2 * num('concurrency'))
    if num('chunksTotal') - num('chunksStarted') >= window / 2 then
      return
    end
    while num('chunksTotal') - num('chunksStarted') < window and cutChunk(partialOk) do
    end
  else
    while cutChunk(partialOk) do
    end
  end
end
