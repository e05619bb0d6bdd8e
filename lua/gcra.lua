-- gcra (plugins/algorithms/gcra/gcra.cc), native.
-- State (16 bytes): int64 tat_us, int64 tat_rem; TAT (in units of 1/L us) =
-- tat_us*L + tat_rem; zero = fresh. Everything here is relative to now
-- (rel = TAT - now*L), so no product of a timestamp and L is ever formed.
local A = {}

function A.capacity(L, B) return B end

function A.load(key)
  local bytes = get_state(key, 16)
  if bytes then
    local tat_us, tat_rem = struct.unpack('<i8i8', bytes)
    return {tat_us, tat_rem}
  end
  return {0, 0}
end

function A.step(st, L, P, B, now, cost, peek)
  local tolerance = B * P
  local rel = 0
  if not (st[1] == 0 and st[2] == 0) then
    local d = st[1] - now
    -- d < 0: TAT is in the past (tat_rem < L), so max(TAT, now) is now.
    if d >= 0 then rel = exact(exact(d * L) + st[2]) end
  end
  local new_rel = rel + cost * P
  local allowed = cost <= B and new_rel <= tolerance
  local after = rel
  if allowed and not peek then
    after = new_rel
    local q = floordiv(new_rel, L)
    st[1], st[2] = now + q, new_rel - q * L
  end
  local retry = 0
  if not allowed then retry = ceildiv(new_rel - tolerance, L) end
  return allowed, cost > B, floordiv(tolerance - after, P), ceildiv(after, L), retry
end

function A.save(key, st, at_ms)
  put(key, struct.pack('<i8i8', st[1], st[2]), at_ms)
end

return run(A)
