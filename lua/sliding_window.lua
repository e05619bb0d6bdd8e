-- sliding_window (plugins/algorithms/sliding_window/sliding_window.cc), native.
-- State (8 + 8*L bytes): uint32 head, uint32 count, int64 ts[L], a ring of
-- timestamps oldest first from head; zero = fresh. Small rings are read
-- whole with GET; large ones (L > 512) entry by entry with GETRANGE and
-- updated in place with SETRANGE, so a step costs O(log L) reads, never a
-- copy of up to 800 KB.
local A = {}
local WHOLE = 512

function A.capacity(L, B) return L end

function A.load(key, L)
  local size = 8 + 8 * L
  local st = {L = L, key = key, head = 0, count = 0}
  if L <= WHOLE then
    st.bytes = get_state(key, size)
    if st.bytes then st.head, st.count = struct.unpack('<I4I4', st.bytes) end
  elseif redis.call('STRLEN', key) == size then
    st.ranged = true
    st.head, st.count = struct.unpack('<I4I4', redis.call('GETRANGE', key, 0, 7))
  end
  st.fresh = not (st.bytes or st.ranged)
  st.head = st.head % L
  if st.count > L then st.count = L end
  return st
end

-- The i-th oldest entry (0-based).
local function at(st, i)
  local pos = 8 + 8 * ((st.head + i) % st.L)
  if st.bytes then return (struct.unpack('<i8', st.bytes, pos + 1)) end
  return (struct.unpack('<i8', redis.call('GETRANGE', st.key, pos, pos + 7)))
end

function A.step(st, L, P, B, now, cost, peek)
  -- The expired entries (ts + P <= now) are a prefix: bisect for its end.
  local lo, hi = 0, st.count
  while lo < hi do
    local mid = lo + math.floor((hi - lo) / 2)
    if at(st, mid) + P <= now then lo = mid + 1 else hi = mid end
  end
  local expired = lo
  local live = st.count - expired
  local newest = now
  if live > 0 then newest = at(st, st.count - 1) end
  local allowed = cost <= L and live + cost <= L
  local consume = allowed and not peek
  local live_after = live
  local stamp = newest
  if now > stamp then stamp = now end
  if consume then
    live_after = live + cost
    st.write = {expired = expired, stamp = stamp, count = live_after, cost = cost}
  end
  local reset, retry = 0, 0
  if live_after > 0 then
    if consume then reset = stamp + P - now else reset = newest + P - now end
  end
  if not allowed and cost <= L then
    retry = at(st, expired + live + cost - L - 1) + P - now
  end
  return allowed, cost > L, L - live_after, reset, retry
end

function A.save(key, st, at_ms)
  local w, L = st.write, st.L
  local header = struct.pack('<I4I4', (st.head + w.expired) % L, w.count)
  local stamp = struct.pack('<i8', w.stamp)
  -- The new entries go after the old ones: slots first..first+cost-1, which
  -- may wrap: n1 at the end of the ring, n2 from its start.
  local first = (st.head + st.count) % L
  local n1 = math.min(w.cost, L - first)
  local n2 = w.cost - n1
  if st.ranged then
    if at_ms <= 0 then
      redis.call('DEL', key)
      return
    end
    redis.call('SETRANGE', key, 0, header)
    redis.call('SETRANGE', key, 8 + 8 * first, string.rep(stamp, n1))
    if n2 > 0 then redis.call('SETRANGE', key, 8, string.rep(stamp, n2)) end
    redis.call('PEXPIREAT', key, at_ms)
    return
  end
  local ring = st.bytes
  if st.fresh then ring = string.rep('\0', 8 + 8 * L) end
  local bytes
  if n2 == 0 then
    bytes = header .. ring:sub(9, 8 + 8 * first) .. string.rep(stamp, n1) ..
            ring:sub(9 + 8 * (first + n1))
  else
    bytes = header .. string.rep(stamp, n2) .. ring:sub(9 + 8 * n2, 8 + 8 * first) ..
            string.rep(stamp, n1)
  end
  put(key, bytes, at_ms)
end

return run(A)
