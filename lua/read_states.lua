-- limify generic path, step 1: the server's time and every key's state, in
-- one round trip. Call: EVALSHA <sha> <n> key_1..key_n now
--   now  "" in production (Redis TIME); only tests pass a value.
-- Reply: {now_us, state_1 or nil, ..., state_n or nil}
local r = {}
if ARGV[1] ~= '' then
  r[1] = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  r[1] = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
for i = 1, #KEYS do r[i + 1] = redis.call('GET', KEYS[i]) end
return r
