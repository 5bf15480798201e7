--[[
  Deletes a cursor (an operator starting an incremental job over, or clearing a damaged value),
  optionally only while it is at the version the caller saw.

  KEYS[1]  cursor hash
  ARGV[1]  expected version ('' any)
  Reply    { 1, version } deleted   { 0 } there was none   { -1, currentVersion } stale
]]
local key = KEYS[1]
local version = redis.call('HGET', key, 'version')
if not version then
  return { 0 }
end
if ARGV[1] ~= '' and version ~= ARGV[1] then
  return { -1, version }
end
redis.call('DEL', key)
return { 1, version }
