-- limify generic path, step 2: writes the states the client computed, but
-- only if no key changed since read_states.lua read it (the bytes are
-- compared, so any write in between, or an expiry, is a conflict).
-- Call: EVALSHA <sha> <n> key_1..key_n  expected_1 new_1 ttl_ms_1 ...
--   expected  the bytes read ("" when the key was missing)
--   ttl_ms    the PX expiry; <= 0 drops the key (its state is fresh)
-- Reply: 1 written, 0 conflict (nothing written: read again and retry).
for i = 1, #KEYS do
  local current = redis.call('GET', KEYS[i])
  if (current or '') ~= ARGV[3 * i - 2] then return 0 end
end
for i = 1, #KEYS do
  local ttl = tonumber(ARGV[3 * i])
  if ttl > 0 then
    redis.call('SET', KEYS[i], ARGV[3 * i - 1], 'PX', ttl)
  else
    redis.call('DEL', KEYS[i])
  end
end
return 1
