--[[
  Save Cursor: stores a cursor's new value only while the cursor is still at the version the
  saver loaded (compare and set). So two runs cannot move it backwards, and of two saves racing
  from the same version exactly one wins. A save re-sent after its answer was lost (same save id,
  same checksum) is answered as saved instead of as a conflict with itself.

  KEYS[1]  cursor hash: value, version, checksum, updatedAt, saveId, savedBy
  ARGV[1]  expected version (0: the cursor must not exist yet)
  ARGV[2]  the new value, as JSON text
  ARGV[3]  checksum of the new value at version expected + 1 (see cursorChecksumText)
  ARGV[4]  save id ('' none)   ARGV[5] who saves, for the next conflict's message ('' none)
  Reply    { 1, version, updatedAt }                     saved
           { 2, version, updatedAt }                     this very save was applied before
           { -1, currentVersion, updatedAt, savedBy }    stale: the cursor is at another version
           { -2, storedVersion }                         the stored version is not a number
]]
local key = KEYS[1]
local expected = tonumber(ARGV[1])
local stored = redis.call('HMGET', key, 'version', 'checksum', 'saveId', 'updatedAt', 'savedBy')
local current = 0
if stored[1] then
  current = tonumber(stored[1])
  if not current then
    return { -2, stored[1] }
  end
end
if current ~= expected then
  if ARGV[4] ~= '' and current == expected + 1 and stored[3] == ARGV[4] and stored[2] == ARGV[3] then
    return { 2, current, stored[4] }
  end
  return { -1, current, stored[4] or '', stored[5] or '' }
end
local time = redis.call('TIME')
local now = tostring(tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000))
redis.call('HSET', key, 'value', ARGV[2], 'version', expected + 1, 'checksum', ARGV[3],
  'updatedAt', now, 'saveId', ARGV[4], 'savedBy', ARGV[5])
return { 1, expected + 1, now }
