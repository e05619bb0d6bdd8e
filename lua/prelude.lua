-- limify native path: the part every algorithm script shares. The build
-- prepends this file to lua/<algorithm>.lua, and the result is one script,
-- run with EVALSHA (see plugins/storage/redis/README.md).
--
-- Call: EVALSHA <sha> <n> key_1..key_n  now cost peek  L_1 P_1 B_1 .. L_n P_n B_n
--   now    "" in production: the time is Redis TIME. Only tests pass a value.
--   cost   >= 1;  peek "1" decides without consuming
--   L P B  limit, period (us), burst (0 = the algorithm's default)
-- or, for m checks at once (a batch; all keys in one slot on a cluster):
--   EVALSHA <sha> <keys of all> keys..  * now m  n_1 cost_1 peek_1 L P B.. ..  n_m ..
--   replying {reply_1, .., reply_m}, each as below or an error of its own.
-- Reply: {allowed, limit, remaining, reset_after_us, retry_after_us, binding}
--   exactly what the generic path's apply gives (engine/limit_applier.cc):
--   each limit is first asked without consuming, and only when all allow is
--   each one consumed; the binding limit is chosen the same way. Or {-1}:
--   a value left Lua's exact integer range (2^53), nothing was written, and
--   the client must take the generic path.
--
-- States are the algorithms' own binary layouts (little-endian int64 via
-- struct.pack), read with GET and written with SET, so a key written
-- by this script and one written by the generic path are interchangeable.
-- Each written key expires (SET ... PXAT) when its state is fresh again:
-- now + the algorithm's reset_after for that limit. Needs Redis >= 6.2.
-- Lua numbers are doubles: every value below stays an integer under 2^53
-- (the client only sends limits for which (2*max(L,B)+cost)*P < 2^52, and
-- Unix time in microseconds is about 2^50.6), so every operation is exact.

local EXACT = 4503599627370496 -- 2^52: the largest magnitude a step trusts
local inexact = false

-- floor(a / b) for b > 0, exact for |a| < 2^53 (the float quotient may be
-- off by one; the remainder corrects it).
local function floordiv(a, b)
  local q = math.floor(a / b)
  local r = a - q * b
  if r < 0 then
    q = q - 1
  elseif r >= b then
    q = q + 1
  end
  return q
end

local function ceildiv(a, b)
  return -floordiv(-a, b)
end

local function max0(a)
  if a < 0 then return 0 end
  return a
end

-- Marks the step inexact (the script then answers {-1}) unless |x| < 2^52.
local function exact(x)
  if x >= EXACT or x <= -EXACT then inexact = true end
  return x
end

local function now_us(arg)
  if arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- When a state written at `now` with `ttl_us` may be dropped: a Unix time in
-- milliseconds, rounded up (PXAT), or 0 when the state is already fresh.
-- Absolute, from the script's own clock, so the expiry is exactly now + ttl
-- whenever the script runs.
local function expire_at(now, ttl_us)
  if ttl_us <= 0 then return 0 end
  return ceildiv(now + ttl_us, 1000)
end

-- Writes a whole state with its expiry (or drops a state that is fresh).
local function put(key, bytes, at_ms)
  if at_ms > 0 then
    redis.call('SET', key, bytes, 'PXAT', at_ms)
  else
    redis.call('DEL', key)
  end
end

-- Does a denied verdict `a` make the caller wait longer than `b`?
local function waits_longer(a, b)
  if a[5] == -1 then return b[5] ~= -1 end
  if b[5] == -1 then return false end
  return a[5] > b[5]
end

-- Decides one check with algorithm A: its keys are KEYS[k0+1 .. k0+n], its
-- limits ARGV[a0+1 .. a0+3n] (L P B each). A provides:
--   A.capacity(L, B)                  -> verdict.limit
--   A.load(key, L, P, B)              -> st (fresh when missing or mis-sized)
--   A.step(st, L, P, B, now, cost, peek)
--       -> allowed, never, remaining, reset_after, retry_after
--       (when allowed and not peek it records the new state in st)
--   A.save(key, st, at_ms)            (at_ms from expire_at; 0 drops the key)
local function decide(A, now, k0, n, cost, peek, a0)
  inexact = false
  if n == 1 then
    -- The common case, without the tables and the closure of several limits.
    local L, P, B = tonumber(ARGV[a0 + 1]), tonumber(ARGV[a0 + 2]), tonumber(ARGV[a0 + 3])
    if B == 0 then B = L end
    local key = KEYS[k0 + 1]
    local st = A.load(key, L, P, B)
    local allowed, never, remaining, reset, retry = A.step(st, L, P, B, now, cost, peek)
    if inexact then return {-1} end
    reset = max0(reset)
    local r = 0
    if not allowed then
      if never then r = -1 else r = retry; if r < 1 then r = 1 end end
    elseif not peek then
      A.save(key, st, expire_at(now, reset))
    end
    return {allowed and 1 or 0, A.capacity(L, B), max0(remaining), reset, r, 0}
  end

  local specs, states = {}, {}
  for i = 1, n do
    local L, P, B = tonumber(ARGV[a0 + 3 * i - 2]), tonumber(ARGV[a0 + 3 * i - 1]),
                    tonumber(ARGV[a0 + 3 * i])
    if B == 0 then B = L end
    specs[i] = {L, P, B}
    states[i] = A.load(KEYS[k0 + i], L, P, B)
  end

  -- One step, clamped as the algorithm plugins clamp (algorithm_plugin.h).
  local function verdict(i, pk)
    local s = specs[i]
    local allowed, never, remaining, reset, retry = A.step(states[i], s[1], s[2], s[3], now, cost, pk)
    local r = 0
    if not allowed then
      if never then r = -1 else r = retry; if r < 1 then r = 1 end end
    end
    return {allowed and 1 or 0, A.capacity(s[1], s[3]), max0(remaining), max0(reset), r}
  end

  local v, all = {}, true
  for i = 1, n do
    v[i] = verdict(i, true)
    if v[i][1] == 0 then all = false end
  end
  if all and not peek then
    for i = 1, n do v[i] = verdict(i, false) end
  end
  if inexact then return {-1} end
  if all and not peek then
    for i = 1, n do A.save(KEYS[k0 + i], states[i], expire_at(now, v[i][4])) end
  end
  -- Combine (CombineVerdicts): allowed, the least remaining binds; denied,
  -- the longest wait binds; reset_after is the longest.
  local b, reset = nil, 0
  for i = 1, n do
    local x = v[i]
    if x[4] > reset then reset = x[4] end
    if all then
      if b == nil or x[3] < v[b][3] then b = i end
    elseif x[1] == 0 and (b == nil or waits_longer(x, v[b])) then
      b = i
    end
  end
  return {all and 1 or 0, v[b][2], v[b][3], reset, v[b][5], b - 1}
end

-- The script's entry: one check, or a batch of checks (ARGV[1] == '*'),
-- each decided in turn at one instant, as if sent one after another. An
-- error in one (a key of another type) is that check's reply alone: the
-- checks before it have written their states, so the batch must not fail
-- as a whole and be sent again.
local function run(A)
  if ARGV[1] ~= '*' then
    return decide(A, now_us(ARGV[1]), 0, #KEYS, tonumber(ARGV[2]), ARGV[3] == '1', 3)
  end
  local now = now_us(ARGV[2])
  local replies, k0, a0 = {}, 0, 4
  for c = 1, tonumber(ARGV[3]) do
    local n, cost, peek = tonumber(ARGV[a0]), tonumber(ARGV[a0 + 1]), ARGV[a0 + 2] == '1'
    local ok, r = pcall(decide, A, now, k0, n, cost, peek, a0 + 2)
    if not ok then
      if type(r) ~= 'table' or r.err == nil then r = redis.error_reply(tostring(r)) end
    end
    replies[c] = r
    k0, a0 = k0 + n, a0 + 3 + 3 * n
  end
  return replies
end

-- Reads a state of `size` bytes, or nil when missing or of another size.
local function get_state(key, size)
  local bytes = redis.call('GET', key)
  if bytes and #bytes == size then return bytes end
  return nil
end
