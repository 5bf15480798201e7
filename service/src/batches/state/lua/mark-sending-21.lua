--[[
  Direct delivery: the service is about to open the transactions of these items (an SMTP MAIL FROM
  .. DATA). Marked first, so a crash leaves in doubt only items whose transaction may have
  completed; an item never marked is known unsent and goes back without spending its attempt.
  KEYS    every key of the batch (BATCH_KEY_PARTS)
  ARGV[1] lease id   ARGV[2..] item keys
  Reply   JSON {marked: [key...], now}: the items still leased by this lease and unreported
]]
--- @include "batch"
if not loadBatch() then
  return fail_with('no_batch')
end
local keys = {}
for i = 2, #ARGV do
  keys[#keys + 1] = ARGV[i]
end
loadItems(keys)
local marked = {}
for _, key in ipairs(keys) do
  local it = cache[key]
  if it and it.st == 'l' and it.lease == ARGV[1] and it.rep ~= '1' then
    it.rep = 'S'
    changed(key)
    marked[#marked + 1] = key
  end
end
flush()
return cjson.encode({ marked = marked, now = NOW })
