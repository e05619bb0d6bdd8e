-- limify generic path, step 2: writes the states the client computed, but
-- only if no key changed since read_states.lua read it (the bytes are
-- compared, so any write in between, or an expiry, is a conflict).
-- Call: EVALSHA <sha> <n> key_1..key_n  expected_1 new_1 at_ms_1 ...
--   expected  the bytes read ("" when the key was missing)
--   at_ms     when the key expires, Unix ms (PXAT): the read's time plus the
--             algorithm's ttl, rounded up; <= 0 drops the key (it is fresh)
-- Reply: 1 written, 0 conflict (nothing written: read again and retry).
for i = 1, #KEYS do
  local current = redis.call('GET', KEYS[i])
  if (current or '') ~= ARGV[3 * i - 2] then return 0 end
end
for i = 1, #KEYS do
  local at_ms = tonumber(ARGV[3 * i])
  if at_ms > 0 then
    redis.call('SET', KEYS[i], ARGV[3 * i - 1], 'PXAT', at_ms)
  else
    redis.call('DEL', KEYS[i])
  end
end
return 1
