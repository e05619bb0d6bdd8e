-- token_bucket (plugins/algorithms/token_bucket/token_bucket.cc), native.
-- State (16 bytes): int64 deficit_units, int64 last_us; zero = full bucket.
local A = {}

function A.capacity(L, B) return B end

function A.load(key)
  local bytes = get_state(key, 16)
  if bytes then
    local deficit, last = struct.unpack('<i8i8', bytes)
    return {deficit, last}
  end
  return {0, 0}
end

function A.step(st, L, P, B, now, cost, peek)
  local full = B * P
  local deficit = max0(st[1])
  local last = now
  if deficit > 0 then last = st[2] end
  -- deficit - elapsed*L, floored at 0, without forming a huge product.
  local elapsed = now - last
  if elapsed > 0 then
    if elapsed >= ceildiv(deficit, L) then
      deficit = 0
    else
      deficit = deficit - elapsed * L
    end
  end
  if now > last then last = now end
  local wait_for_clock = exact(last - now)
  local need = cost * P
  local allowed = cost <= B and deficit + need <= full
  local after = deficit
  if allowed and not peek then
    after = deficit + need
    st[1], st[2] = after, last
  end
  local reset, retry = 0, 0
  if after > 0 then reset = wait_for_clock + ceildiv(after, L) end
  if not allowed then retry = wait_for_clock + ceildiv(deficit + need - full, L) end
  return allowed, cost > B, floordiv(full - after, P), reset, retry
end

function A.save(key, st, at_ms)
  put(key, struct.pack('<i8i8', st[1], st[2]), at_ms)
end

return run(A)
