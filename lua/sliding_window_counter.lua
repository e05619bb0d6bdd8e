-- sliding_window_counter (plugins/algorithms/sliding_window_counter/
-- sliding_window_counter.cc), native.
-- State (24 bytes): int64 window_start, int64 prev, int64 curr; zero = fresh.
local A = {}

function A.capacity(L, B) return L end

function A.load(key)
  local bytes = get_state(key, 24)
  if bytes then
    local window, prev, curr = struct.unpack('<i8i8i8', bytes)
    return {window, prev, curr}
  end
  return {0, 0, 0}
end

-- The earliest time a request of `cost` (<= L) passes (RetryAfter in C).
local function retry_at(L, P, cost, window, e, prev, curr)
  local a = L - cost - curr
  if a >= 0 and prev > 0 then
    local e1 = P - floordiv(a * P, prev)
    if e1 < e then e1 = e end
    if e1 < P then return window + e1 end
  end
  local e2 = 0
  if curr ~= 0 then e2 = max0(P - floordiv((L - cost) * P, curr)) end
  return window + P + e2
end

function A.step(st, L, P, B, now, cost, peek)
  local current = floordiv(now, P) * P
  local window, prev, curr = st[1], max0(st[2]), max0(st[3])
  if prev == 0 and curr == 0 then
    window = current
  elseif current == window + P then
    prev, curr, window = curr, 0, current
  elseif current > window then
    prev, curr, window = 0, 0, current
  end
  local e = max0(now - window)
  local estimate = prev * (P - e) + curr * P
  local allowed = cost <= L and estimate + cost * P <= L * P
  local curr_after = curr
  if allowed and not peek then
    curr_after = curr + cost
    st[1], st[2], st[3] = window, prev, curr_after
  end
  local remaining = floordiv(L * P - (estimate + (curr_after - curr) * P), P)
  local reset = 0
  if curr_after > 0 then
    reset = window + 2 * P - now
  elseif prev > 0 then
    reset = window + P - now
  end
  local retry = 0
  if not allowed and cost <= L then retry = retry_at(L, P, cost, window, e, prev, curr) - now end
  return allowed, cost > L, remaining, reset, retry
end

function A.save(key, st, at_ms)
  put(key, struct.pack('<i8i8i8', st[1], st[2], st[3]), at_ms)
end

return run(A)
