-- limify PostgreSQL storage, schema version 3: the native functions made
-- flat for the common case, one limit per rule.
--
-- Version 2's functions go token_bucket() -> run() -> load_states() ->
-- token_bucket_step(), each a PL/pgSQL call of its own, with arrays built
-- and read at every level: about twice the server time of the work itself.
-- For one key (a rule with one limit) each function now locks the row,
-- steps and writes it itself. The arithmetic is still version 2's
-- <algorithm>_step, so the verdicts and the bytes stored are the same; a
-- rule with several limits (and a malformed call, for its error) still goes
-- through run(), which holds them all-or-nothing.
--
-- A key without a row is no longer given an empty row first to lock: the
-- function decides on a fresh state and inserts the row only when the check
-- consumed (ON CONFLICT DO NOTHING). If another check created the row
-- meanwhile, the insert does nothing and the function decides again on that
-- row, locked. A denied check on a new key thus writes nothing at all.
--
-- The five functions are one template (below, %1$s the algorithm, %2$s its
-- state size in bytes, %3$s the limit it reports: the burst b for the
-- bucket algorithms, l for the windows), so they cannot drift apart.
DO $migrate$
DECLARE
  a record;
BEGIN
  FOR a IN SELECT * FROM (VALUES ('token_bucket', '16', 'b'), ('gcra', '16', 'b'),
                                 ('fixed_window', '16', 'l'), ('sliding_window_counter', '24', 'l'),
                                 ('sliding_window', '8 + 8 * l', 'l')) AS t(name, size, lim)
  LOOP
    EXECUTE format($template$
CREATE OR REPLACE FUNCTION @schema@.%1$s(keys bytea[], cost bigint, peek boolean, specs bigint[],
    now_us bigint DEFAULT NULL, OUT allowed boolean, OUT lim bigint, OUT remaining bigint,
    OUT reset_after_us bigint, OUT retry_after_us bigint, OUT binding integer)
LANGUAGE plpgsql VOLATILE AS $body$
DECLARE
  int64_max constant numeric := 9223372036854775807;
  k bytea := keys[1];
  l bigint := specs[1];
  p bigint := specs[2];
  b bigint := CASE WHEN specs[3] = 0 THEN specs[1] ELSE specs[3] END;
  st bytea;
  has_row boolean;
  at_us bigint;
  r record;
BEGIN
  IF coalesce(array_length(keys, 1), 0) <> 1 OR coalesce(array_length(specs, 1), 0) <> 3
     OR cost < 1 THEN
    SELECT * INTO allowed, lim, remaining, reset_after_us, retry_after_us, binding
      FROM @schema@.run('%1$s', keys, cost, peek, specs, now_us);
    RETURN;
  END IF;
  LOOP
    IF peek THEN
      SELECT s.state INTO st FROM @schema@.state s WHERE s.key = k;
    ELSE
      SELECT s.state INTO st FROM @schema@.state s WHERE s.key = k FOR UPDATE;
    END IF;
    has_row := FOUND;
    at_us := coalesce(now_us, @schema@.now_us());  -- after the lock: the time of the decision
    -- No row, or a state of another size (an empty row of the generic path): a fresh key.
    IF NOT has_row OR length(st) <> %2$s THEN
      st := decode(repeat('00', (%2$s)::integer), 'hex');
    END IF;
    r := @schema@.%1$s_step(st, l, p, b, at_us, cost, peek);
    -- Clamped as the algorithm plugins clamp (algorithm_plugin.h).
    reset_after_us := least(greatest(r.reset_after, 0), int64_max)::bigint;
    EXIT WHEN peek OR NOT r.allowed;
    IF has_row AND reset_after_us > 0 THEN
      UPDATE @schema@.state
         SET state = r.new_state, expires_us = least(at_us::numeric + reset_after_us, int64_max)::bigint
       WHERE key = k;
      EXIT;
    ELSIF has_row THEN
      DELETE FROM @schema@.state WHERE key = k;  -- consumed and already fresh again
      EXIT;
    END IF;
    EXIT WHEN reset_after_us = 0;
    INSERT INTO @schema@.state (key, state, expires_us)
      VALUES (k, r.new_state, least(at_us::numeric + reset_after_us, int64_max)::bigint)
      ON CONFLICT (key) DO NOTHING;
    EXIT WHEN FOUND;
    -- Another check created the key meanwhile: decide again, on its row.
  END LOOP;
  allowed := r.allowed;
  lim := %3$s;
  remaining := least(greatest(r.remaining, 0), int64_max)::bigint;
  retry_after_us := CASE WHEN r.allowed THEN 0 WHEN r.never THEN -1
                         ELSE least(greatest(r.retry_after, 1), int64_max)::bigint END;
  binding := 0;
END $body$;
$template$, a.name, a.size, a.lim);
  END LOOP;
END $migrate$;
