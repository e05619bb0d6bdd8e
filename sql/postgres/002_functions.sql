-- limify PostgreSQL storage, schema version 2: the native path. One
-- function per built-in algorithm decides and updates the keys of one rule
-- in a single statement (one round trip, no explicit transaction), with the
-- server's clock, and the helpers of the generic path.
--
-- Every function is the same arithmetic as plugins/algorithms/<name>/<name>.cc
-- (and lua/<name>.lua) on the same binary state: little-endian int64 fields
-- in a bytea. Values that can leave bigint (limit x period, cost x period, a
-- TAT scaled by the limit) are numeric, which is exact; verdicts are clamped
-- to [0, 2^63-1] as the algorithm plugins clamp them. tests/postgres holds
-- every function to the C algorithms, verdict by verdict and byte by byte.

-- The server's clock, Unix microseconds (clock_timestamp: the time of the
-- call, not of the transaction's start).
CREATE FUNCTION @schema@.now_us() RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL SAFE AS
$$ SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint $$;

-- Little-endian int64 at byte offset `off` (shifts wrap, as two's complement).
CREATE FUNCTION @schema@.i64(b bytea, off integer) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT get_byte(b, off)::bigint | (get_byte(b, off + 1)::bigint << 8)
        | (get_byte(b, off + 2)::bigint << 16) | (get_byte(b, off + 3)::bigint << 24)
        | (get_byte(b, off + 4)::bigint << 32) | (get_byte(b, off + 5)::bigint << 40)
        | (get_byte(b, off + 6)::bigint << 48) | (get_byte(b, off + 7)::bigint << 56) $$;

-- Little-endian uint32 at byte offset `off`.
CREATE FUNCTION @schema@.u32(b bytea, off integer) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT get_byte(b, off)::bigint | (get_byte(b, off + 1)::bigint << 8)
        | (get_byte(b, off + 2)::bigint << 16) | (get_byte(b, off + 3)::bigint << 24) $$;

-- x as 8 little-endian bytes (int8send is big-endian: swap first).
CREATE FUNCTION @schema@.le64(x bigint) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT int8send(((x & 255) << 56) | (((x >> 8) & 255) << 48) | (((x >> 16) & 255) << 40)
                 | (((x >> 24) & 255) << 32) | (((x >> 32) & 255) << 24)
                 | (((x >> 40) & 255) << 16) | (((x >> 48) & 255) << 8) | ((x >> 56) & 255)) $$;

-- x (0 <= x < 2^32) as 4 little-endian bytes.
CREATE FUNCTION @schema@.le32(x bigint) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT substring(@schema@.le64(x) FROM 1 FOR 4) $$;

-- floor(a / b) and ceil(a / b) for b > 0 (div truncates toward zero).
CREATE FUNCTION @schema@.fdiv(a numeric, b numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT div(a, b) - CASE WHEN mod(a, b) < 0 THEN 1 ELSE 0 END $$;
CREATE FUNCTION @schema@.cdiv(a numeric, b numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT -@schema@.fdiv(-a, b) $$;

-- ---------------------------------------------------------------------------
-- One step of one limit, per algorithm: st is the state (of the algorithm's
-- size; zero bytes = fresh), l/p/b the limit, period (us) and burst (already
-- defaulted to l), at_us the time. new_state is st unless the step allowed
-- and consumed. Unclamped outcome, as the C Step's Outcome.
-- ---------------------------------------------------------------------------

-- token_bucket: int64 deficit_units, int64 last_us; zero = full bucket.
CREATE FUNCTION @schema@.token_bucket_step(
    st bytea, l bigint, p bigint, b bigint, at_us bigint, cost bigint, peek boolean,
    OUT allowed boolean, OUT never boolean, OUT remaining numeric, OUT reset_after numeric,
    OUT retry_after numeric, OUT new_state bytea)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  full_units numeric := b::numeric * p;
  deficit numeric := greatest(0, @schema@.i64(st, 0));
  last_us numeric;
  wait_for_clock numeric;
  need numeric := cost::numeric * p;
  after_units numeric;
BEGIN
  -- A stored deficit is always > 0: 0 is a fresh bucket whose time means nothing.
  IF deficit = 0 THEN last_us := at_us; ELSE last_us := @schema@.i64(st, 8); END IF;
  IF at_us > last_us THEN deficit := greatest(0, deficit - (at_us - last_us) * l); END IF;
  last_us := greatest(last_us, at_us);
  wait_for_clock := last_us - at_us;
  allowed := cost <= b AND deficit + need <= full_units;
  after_units := deficit;
  new_state := st;
  IF allowed AND NOT peek THEN
    after_units := deficit + need;
    new_state := @schema@.le64(after_units::bigint) || @schema@.le64(last_us::bigint);
  END IF;
  remaining := @schema@.fdiv(full_units - after_units, p);
  reset_after := CASE WHEN after_units > 0 THEN wait_for_clock + @schema@.cdiv(after_units, l)
                      ELSE 0 END;
  never := NOT allowed AND cost > b;
  retry_after := CASE WHEN allowed THEN 0
                      ELSE wait_for_clock + @schema@.cdiv(deficit + need - full_units, l) END;
END $$;

-- gcra: int64 tat_us, int64 tat_rem (TAT = tat_us * l + tat_rem); zero = fresh.
CREATE FUNCTION @schema@.gcra_step(
    st bytea, l bigint, p bigint, b bigint, at_us bigint, cost bigint, peek boolean,
    OUT allowed boolean, OUT never boolean, OUT remaining numeric, OUT reset_after numeric,
    OUT retry_after numeric, OUT new_state bytea)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  tolerance numeric := b::numeric * p;
  tat_us bigint := @schema@.i64(st, 0);
  tat_rem bigint := @schema@.i64(st, 8);
  now_s numeric := at_us::numeric * l;
  tat numeric;
  new_tat numeric;
  after_units numeric;
  q numeric;
BEGIN
  IF tat_us = 0 AND tat_rem = 0 THEN
    tat := now_s;
  ELSE
    tat := greatest(tat_us::numeric * l + tat_rem, now_s);
  END IF;
  new_tat := tat + cost::numeric * p;
  allowed := cost <= b AND new_tat - now_s <= tolerance;
  after_units := tat;
  new_state := st;
  IF allowed AND NOT peek THEN
    after_units := new_tat;
    q := @schema@.fdiv(new_tat, l);
    new_state := @schema@.le64(q::bigint) || @schema@.le64((new_tat - q * l)::bigint);
  END IF;
  remaining := @schema@.fdiv(tolerance - (after_units - now_s), p);
  reset_after := @schema@.cdiv(after_units - now_s, l);
  never := NOT allowed AND cost > b;
  retry_after := CASE WHEN allowed THEN 0
                      ELSE @schema@.cdiv(new_tat - now_s - tolerance, l) END;
END $$;

-- fixed_window: int64 window_start, int64 count; zero = fresh.
CREATE FUNCTION @schema@.fixed_window_step(
    st bytea, l bigint, p bigint, b bigint, at_us bigint, cost bigint, peek boolean,
    OUT allowed boolean, OUT never boolean, OUT remaining numeric, OUT reset_after numeric,
    OUT retry_after numeric, OUT new_state bytea)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  cur numeric := @schema@.fdiv(at_us, p) * p;
  win numeric := @schema@.i64(st, 0);
  cnt numeric := greatest(0, @schema@.i64(st, 8));
  end_in numeric;
  after_count numeric;
BEGIN
  -- A later window starts from zero; an earlier one means the clock went back.
  IF cnt = 0 OR cur > win THEN
    win := cur;
    cnt := 0;
  END IF;
  end_in := win + p - at_us;
  allowed := cost <= l AND cnt + cost <= l;
  after_count := cnt;
  new_state := st;
  IF allowed AND NOT peek THEN
    after_count := cnt + cost;
    new_state := @schema@.le64(win::bigint) || @schema@.le64(after_count::bigint);
  END IF;
  remaining := l - after_count;
  reset_after := CASE WHEN after_count = 0 THEN 0 ELSE end_in END;
  never := NOT allowed AND cost > l;
  retry_after := CASE WHEN allowed THEN 0 ELSE end_in END;
END $$;

-- sliding_window_counter: int64 window_start, int64 prev, int64 curr; zero = fresh.
CREATE FUNCTION @schema@.sliding_window_counter_step(
    st bytea, l bigint, p bigint, b bigint, at_us bigint, cost bigint, peek boolean,
    OUT allowed boolean, OUT never boolean, OUT remaining numeric, OUT reset_after numeric,
    OUT retry_after numeric, OUT new_state bytea)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  cur numeric := @schema@.fdiv(at_us, p) * p;
  win numeric := @schema@.i64(st, 0);
  prev numeric := greatest(0, @schema@.i64(st, 8));
  curr numeric := greatest(0, @schema@.i64(st, 16));
  e numeric;
  estimate numeric;
  curr_after numeric;
  a numeric;
  e1 numeric;
  e2 numeric;
  retry_at numeric;
BEGIN
  IF prev = 0 AND curr = 0 THEN
    win := cur;
  ELSIF cur = win + p THEN
    prev := curr; curr := 0; win := cur;
  ELSIF cur > win THEN
    prev := 0; curr := 0; win := cur;
  END IF;
  e := greatest(0, at_us - win);
  estimate := prev * (p - e) + curr * p;
  allowed := cost <= l AND estimate + cost::numeric * p <= l::numeric * p;
  curr_after := curr;
  new_state := st;
  IF allowed AND NOT peek THEN
    curr_after := curr + cost;
    new_state := @schema@.le64(win::bigint) || @schema@.le64(prev::bigint)
              || @schema@.le64(curr_after::bigint);
  END IF;
  remaining := @schema@.fdiv(l::numeric * p - (estimate + (curr_after - curr) * p), p);
  reset_after := CASE WHEN curr_after > 0 THEN win + 2 * p - at_us
                      WHEN prev > 0 THEN win + p - at_us ELSE 0 END;
  never := NOT allowed AND cost > l;
  retry_after := 0;
  IF NOT allowed AND cost <= l THEN
    -- Later in this window, as prev's weight fades; else in the next one.
    a := l - cost - curr;
    IF a >= 0 AND prev > 0 THEN
      e1 := greatest(e, p - @schema@.fdiv(a * p, prev));
      IF e1 < p THEN retry_at := win + e1; END IF;
    END IF;
    IF retry_at IS NULL THEN
      e2 := CASE WHEN curr = 0 THEN 0
                 ELSE greatest(0, p - @schema@.fdiv((l - cost)::numeric * p, curr)) END;
      retry_at := win + p + e2;
    END IF;
    retry_after := retry_at - at_us;
  END IF;
END $$;

-- sliding_window: uint32 head, uint32 count, int64 ts[l] (a ring of
-- timestamps, oldest first from head); zero = fresh.
CREATE FUNCTION @schema@.sliding_window_step(
    st bytea, l bigint, p bigint, b bigint, at_us bigint, cost bigint, peek boolean,
    OUT allowed boolean, OUT never boolean, OUT remaining numeric, OUT reset_after numeric,
    OUT retry_after numeric, OUT new_state bytea)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  head bigint := @schema@.u32(st, 0) % l;
  cnt bigint := least(@schema@.u32(st, 4), l);
  lo bigint := 0;
  hi bigint := cnt;
  mid bigint;
  expired bigint;
  live bigint;
  newest bigint;
  stamp bigint;
  live_after bigint;
  consume boolean;
  first_slot bigint;
  n1 bigint;
  n2 bigint;
  stamp_hex text;
BEGIN
  -- The expired entries (ts + p <= now) are a prefix of the ring: bisect.
  WHILE lo < hi LOOP
    mid := lo + (hi - lo) / 2;
    IF @schema@.i64(st, (8 + 8 * ((head + mid) % l))::integer)::numeric + p <= at_us THEN
      lo := mid + 1;
    ELSE
      hi := mid;
    END IF;
  END LOOP;
  expired := lo;
  live := cnt - expired;
  newest := CASE WHEN live > 0 THEN @schema@.i64(st, (8 + 8 * ((head + cnt - 1) % l))::integer)
                 ELSE at_us END;
  allowed := cost <= l AND live + cost <= l;
  consume := allowed AND NOT peek;
  stamp := greatest(newest, at_us);
  live_after := live;
  new_state := st;
  IF consume THEN
    live_after := live + cost;
    -- The new entries follow the old ones: n1 at the ring's end, n2 wrapped.
    first_slot := (head + cnt) % l;
    n1 := least(cost, l - first_slot);
    n2 := cost - n1;
    stamp_hex := encode(@schema@.le64(stamp), 'hex');
    new_state := overlay(new_state PLACING decode(repeat(stamp_hex, n1::integer), 'hex')
                         FROM (9 + 8 * first_slot)::integer);
    IF n2 > 0 THEN
      new_state := overlay(new_state PLACING decode(repeat(stamp_hex, n2::integer), 'hex') FROM 9);
    END IF;
    new_state := overlay(new_state PLACING @schema@.le32((head + expired) % l)
                                         || @schema@.le32(live_after) FROM 1);
  END IF;
  remaining := l - live_after;
  reset_after := CASE WHEN live_after = 0 THEN 0
                      WHEN consume THEN stamp::numeric + p - at_us
                      ELSE newest::numeric + p - at_us END;
  never := NOT allowed AND cost > l;
  retry_after := 0;
  IF NOT allowed AND cost <= l THEN
    -- Room once the k-th oldest live entry expires.
    retry_after := @schema@.i64(st, (8 + 8 * ((head + expired + live + cost - l - 1) % l))::integer)::numeric
                   + p - at_us;
  END IF;
END $$;

-- ---------------------------------------------------------------------------
-- Loading and locking keys, shared by the native functions and the generic
-- path.
-- ---------------------------------------------------------------------------

-- The state of every key, in the order of `keys` (NULL: no row). With
-- `lock`, each row is locked (FOR UPDATE) in key order, so two checks of
-- overlapping keys cannot deadlock; a missing row is first inserted empty
-- (an empty state reads as fresh) so that it can be locked, and reported
-- in `inserted` so that a caller that writes nothing can delete it.
CREATE FUNCTION @schema@.load_states(keys bytea[], lock boolean,
                                     OUT states bytea[], OUT inserted boolean[])
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  n integer := array_length(keys, 1);
  ord integer[] := ARRAY[1];
  i integer;
  st bytea;
BEGIN
  states := array_fill(NULL::bytea, ARRAY[n]);
  inserted := array_fill(false, ARRAY[n]);
  IF n > 1 THEN
    SELECT array_agg(u.o::integer ORDER BY u.k) INTO ord FROM unnest(keys) WITH ORDINALITY AS u(k, o);
  END IF;
  FOREACH i IN ARRAY ord LOOP
    IF NOT lock THEN
      SELECT s.state INTO st FROM @schema@.state s WHERE s.key = keys[i];
    ELSE
      LOOP
        SELECT s.state INTO st FROM @schema@.state s WHERE s.key = keys[i] FOR UPDATE;
        EXIT WHEN FOUND;
        INSERT INTO @schema@.state (key, state, expires_us) VALUES (keys[i], ''::bytea, 0)
          ON CONFLICT (key) DO NOTHING;
        IF FOUND THEN
          inserted[i] := true;
          st := NULL;
          EXIT;
        END IF;
        -- Someone else inserted it meanwhile (and may have deleted it again): look again.
      END LOOP;
    END IF;
    states[i] := st;
  END LOOP;
END $$;

-- Generic path, write: every state with its expiry (a ttl <= 0 drops the
-- key: it is fresh). Run in the transaction that load_states locked in.
CREATE FUNCTION @schema@.write_states(keys bytea[], states bytea[], ttls bigint[], at_us bigint)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  i integer;
BEGIN
  FOR i IN 1 .. array_length(keys, 1) LOOP
    IF ttls[i] > 0 THEN
      INSERT INTO @schema@.state (key, state, expires_us)
        VALUES (keys[i], states[i], least(at_us::numeric + ttls[i], 9223372036854775807)::bigint)
        ON CONFLICT (key) DO UPDATE SET state = excluded.state, expires_us = excluded.expires_us;
    ELSE
      DELETE FROM @schema@.state WHERE key = keys[i];
    END IF;
  END LOOP;
END $$;

-- ---------------------------------------------------------------------------
-- The native path: one call decides a rule's limits and consumes all of them
-- or none, as engine/limit_applier.cc does on the generic path: each limit is
-- first asked without consuming, and only when all allow is each consumed;
-- the binding limit is chosen the same way (CombineVerdicts).
--   keys   one per limit;  specs  l_1, p_1, b_1, l_2, ... (b = 0: default)
--   now_in NULL in production (the server's clock); tests pass a time
-- ---------------------------------------------------------------------------
CREATE FUNCTION @schema@.run(algorithm text, keys bytea[], cost bigint, peek boolean,
                             specs bigint[], now_in bigint,
                             OUT allowed boolean, OUT lim bigint, OUT remaining bigint,
                             OUT reset_after_us bigint, OUT retry_after_us bigint,
                             OUT binding integer)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  int64_max constant numeric := 9223372036854775807;
  n integer := coalesce(array_length(keys, 1), 0);
  loaded record;
  states bytea[];
  new_states bytea[];
  at_us bigint;
  ls bigint[];
  ps bigint[];
  bs bigint[];
  size bigint;
  i integer;
  pass integer;
  pk boolean;
  r record;
  v_allowed boolean[];
  v_lim bigint[];
  v_rem bigint[];
  v_reset bigint[];
  v_retry bigint[];
  all_ok boolean := true;
  consume boolean;
  best integer;
BEGIN
  IF n = 0 OR coalesce(array_length(specs, 1), 0) <> 3 * n OR cost < 1 THEN
    RAISE EXCEPTION 'limify %: expected one key per limit (3 specs each) and cost >= 1', algorithm
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  loaded := @schema@.load_states(keys, NOT peek);
  states := loaded.states;
  at_us := coalesce(now_in, @schema@.now_us());  -- after the locks: the time of the decision
  FOR i IN 1 .. n LOOP
    ls[i] := specs[3 * i - 2];
    ps[i] := specs[3 * i - 1];
    bs[i] := CASE WHEN specs[3 * i] = 0 THEN ls[i] ELSE specs[3 * i] END;
    size := CASE algorithm WHEN 'sliding_window' THEN 8 + 8 * ls[i]
                           WHEN 'sliding_window_counter' THEN 24 ELSE 16 END;
    -- A missing row, or a state of another size, is a fresh key.
    IF states[i] IS NULL OR length(states[i]) <> size THEN
      states[i] := decode(repeat('00', size::integer), 'hex');
    END IF;
  END LOOP;
  new_states := states;
  -- Pass 1 asks every limit (and is the real step when there is one);
  -- pass 2 consumes, when several limits all allowed.
  FOR pass IN 1 .. 2 LOOP
    EXIT WHEN pass = 2 AND NOT (n > 1 AND all_ok AND NOT peek);
    FOR i IN 1 .. n LOOP
      pk := CASE WHEN n = 1 THEN peek ELSE pass = 1 END;
      CASE algorithm
        WHEN 'token_bucket' THEN
          r := @schema@.token_bucket_step(states[i], ls[i], ps[i], bs[i], at_us, cost, pk);
        WHEN 'gcra' THEN
          r := @schema@.gcra_step(states[i], ls[i], ps[i], bs[i], at_us, cost, pk);
        WHEN 'fixed_window' THEN
          r := @schema@.fixed_window_step(states[i], ls[i], ps[i], bs[i], at_us, cost, pk);
        WHEN 'sliding_window' THEN
          r := @schema@.sliding_window_step(states[i], ls[i], ps[i], bs[i], at_us, cost, pk);
        WHEN 'sliding_window_counter' THEN
          r := @schema@.sliding_window_counter_step(states[i], ls[i], ps[i], bs[i], at_us, cost, pk);
        ELSE
          RAISE EXCEPTION 'limify: no native function for algorithm "%"', algorithm
            USING ERRCODE = 'invalid_parameter_value';
      END CASE;
      new_states[i] := r.new_state;
      -- Clamped as the algorithm plugins clamp (algorithm_plugin.h).
      v_allowed[i] := r.allowed;
      v_lim[i] := CASE WHEN algorithm IN ('token_bucket', 'gcra') THEN bs[i] ELSE ls[i] END;
      v_rem[i] := least(greatest(r.remaining, 0), int64_max)::bigint;
      v_reset[i] := least(greatest(r.reset_after, 0), int64_max)::bigint;
      v_retry[i] := CASE WHEN r.allowed THEN 0 WHEN r.never THEN -1
                         ELSE least(greatest(r.retry_after, 1), int64_max)::bigint END;
      IF pass = 1 THEN all_ok := all_ok AND r.allowed; END IF;
    END LOOP;
  END LOOP;
  consume := all_ok AND NOT peek;
  IF consume THEN
    FOR i IN 1 .. n LOOP
      IF v_reset[i] > 0 THEN
        UPDATE @schema@.state SET state = new_states[i],
               expires_us = least(at_us::numeric + v_reset[i], int64_max)::bigint
         WHERE key = keys[i];
      ELSE
        DELETE FROM @schema@.state WHERE key = keys[i];
      END IF;
    END LOOP;
  ELSIF NOT peek THEN
    FOR i IN 1 .. n LOOP
      IF loaded.inserted[i] THEN DELETE FROM @schema@.state WHERE key = keys[i]; END IF;
    END LOOP;
  END IF;
  -- Combine: allowed, the least remaining binds; denied, the longest wait
  -- (never = -1 longest of all); reset_after is the longest.
  reset_after_us := 0;
  FOR i IN 1 .. n LOOP
    reset_after_us := greatest(reset_after_us, v_reset[i]);
    IF all_ok THEN
      IF best IS NULL OR v_rem[i] < v_rem[best] THEN best := i; END IF;
    ELSIF NOT v_allowed[i] THEN
      IF best IS NULL
         OR (v_retry[i] = -1 AND v_retry[best] <> -1)
         OR (v_retry[i] <> -1 AND v_retry[best] <> -1 AND v_retry[i] > v_retry[best]) THEN
        best := i;
      END IF;
    END IF;
  END LOOP;
  allowed := all_ok;
  lim := v_lim[best];
  remaining := v_rem[best];
  retry_after_us := v_retry[best];
  binding := best - 1;
END $$;

-- The functions the storage calls, one per built-in algorithm:
--   SELECT * FROM limify.token_bucket(keys, cost, peek, specs)
CREATE FUNCTION @schema@.token_bucket(keys bytea[], cost bigint, peek boolean, specs bigint[],
    now_us bigint DEFAULT NULL, OUT allowed boolean, OUT lim bigint, OUT remaining bigint,
    OUT reset_after_us bigint, OUT retry_after_us bigint, OUT binding integer)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  SELECT * INTO allowed, lim, remaining, reset_after_us, retry_after_us, binding
    FROM @schema@.run('token_bucket', keys, cost, peek, specs, now_us);
END $$;
CREATE FUNCTION @schema@.gcra(keys bytea[], cost bigint, peek boolean, specs bigint[],
    now_us bigint DEFAULT NULL, OUT allowed boolean, OUT lim bigint, OUT remaining bigint,
    OUT reset_after_us bigint, OUT retry_after_us bigint, OUT binding integer)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  SELECT * INTO allowed, lim, remaining, reset_after_us, retry_after_us, binding
    FROM @schema@.run('gcra', keys, cost, peek, specs, now_us);
END $$;
CREATE FUNCTION @schema@.fixed_window(keys bytea[], cost bigint, peek boolean, specs bigint[],
    now_us bigint DEFAULT NULL, OUT allowed boolean, OUT lim bigint, OUT remaining bigint,
    OUT reset_after_us bigint, OUT retry_after_us bigint, OUT binding integer)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  SELECT * INTO allowed, lim, remaining, reset_after_us, retry_after_us, binding
    FROM @schema@.run('fixed_window', keys, cost, peek, specs, now_us);
END $$;
CREATE FUNCTION @schema@.sliding_window(keys bytea[], cost bigint, peek boolean, specs bigint[],
    now_us bigint DEFAULT NULL, OUT allowed boolean, OUT lim bigint, OUT remaining bigint,
    OUT reset_after_us bigint, OUT retry_after_us bigint, OUT binding integer)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  SELECT * INTO allowed, lim, remaining, reset_after_us, retry_after_us, binding
    FROM @schema@.run('sliding_window', keys, cost, peek, specs, now_us);
END $$;
CREATE FUNCTION @schema@.sliding_window_counter(keys bytea[], cost bigint, peek boolean,
    specs bigint[], now_us bigint DEFAULT NULL, OUT allowed boolean, OUT lim bigint,
    OUT remaining bigint, OUT reset_after_us bigint, OUT retry_after_us bigint,
    OUT binding integer)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  SELECT * INTO allowed, lim, remaining, reset_after_us, retry_after_us, binding
    FROM @schema@.run('sliding_window_counter', keys, cost, peek, specs, now_us);
END $$;

-- The sweeper: one bounded step through the primary key after `after_key`
-- ('' to start), deleting the rows already expired by the server's clock.
-- next_key is NULL at the end of the table. Never a full scan: at most
-- batch_size rows are read per call.
CREATE FUNCTION @schema@.sweep(after_key bytea, batch_size integer,
                               OUT next_key bytea, OUT scanned integer, OUT deleted integer)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  at_us bigint := @schema@.now_us();
BEGIN
  WITH batch AS (SELECT s.key, s.expires_us FROM @schema@.state s WHERE s.key > after_key
                 ORDER BY s.key LIMIT batch_size),
       gone AS (DELETE FROM @schema@.state t USING batch
                 WHERE t.key = batch.key AND batch.expires_us <= at_us AND t.expires_us <= at_us
                 RETURNING 1)
  SELECT (SELECT batch.key FROM batch ORDER BY batch.key DESC LIMIT 1),
         (SELECT count(*) FROM batch), (SELECT count(*) FROM gone)
    INTO next_key, scanned, deleted;
END $$;
