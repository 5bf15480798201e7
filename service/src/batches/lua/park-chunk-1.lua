--[[
  Parks a chunk job that could not run (batch paused, no free slot) after the job moved itself
  to delayed; resume, a freed slot or a concurrency change wakes it. If the reason went away
  while it was being parked (or the batch ended), the caller wakes it at once.
  KEYS[1] batch hash
  ARGV[1] chunk index
  Output  1 wake it now | 0 parked
]]
--- @include "batch"
local state = field('state')
if TERMINAL_STATE[state] or (state ~= 'paused' and freeSlots() > 0) then
  return 1
end
redis.call('SADD', part('parked'), ARGV[1])
return 0
