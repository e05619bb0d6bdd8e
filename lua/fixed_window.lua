-- fixed_window (plugins/algorithms/fixed_window/fixed_window.cc), native.
-- State (16 bytes): int64 window_start, int64 count; zero = fresh.
local A = {}

function A.capacity(L, B) return L end

function A.load(key)
  local bytes = get_state(key, 16)
  if bytes then
    local window, count = struct.unpack('<i8i8', bytes)
    return {window, count}
  end
  return {0, 0}
end

function A.step(st, L, P, B, now, cost, peek)
  local current = floordiv(now, P) * P
  local window, count = st[1], max0(st[2])
  if count == 0 or current > window then
    window, count = current, 0
  end
  local window_end_in = window + P - now
  local allowed = cost <= L and count + cost <= L
  local after = count
  if allowed and not peek then
    after = count + cost
    st[1], st[2] = window, after
  end
  local reset, retry = 0, 0
  if after > 0 then reset = window_end_in end
  if not allowed then retry = window_end_in end
  return allowed, cost > L, L - after, reset, retry
end

function A.save(key, st, at_ms)
  put(key, struct.pack('<i8i8', st[1], st[2]), at_ms)
end

return run(A)
