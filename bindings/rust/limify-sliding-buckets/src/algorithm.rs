//! sliding_buckets: a sliding window kept as ten buckets.
//!
//! The window (the rate's period) is cut into ten buckets aligned to
//! multiples of period/10. A request passes when the requests counted in
//! the last ten buckets (the current one included) plus its cost stay within
//! the limit; a bucket leaves the count when the window has slid past it.
//!
//! Where it sits among the built-in algorithms: `fixed_window` lets up to 2 ×
//! limit through around a boundary; `sliding_window` is exact but keeps 8 +
//! 8 × limit bytes per key; `sliding_window_counter` weighs the previous
//! window and can be off either way. sliding_buckets never lets more than the
//! limit through in any 0.9 × period, keeps 88 bytes per key whatever the
//! limit, and its retry-after is exact: the time until enough old buckets
//! leave.
//!
//! State (88 bytes, zero = fresh): the index of the newest bucket (time /
//! bucket length), then the ten counts, by index modulo ten.

use limify_sys::plugin::{limify_limit_spec, limify_verdict, LIMIFY_RETRY_NEVER};

pub const NAME: &str = "sliding_buckets";
pub const BUCKETS: i64 = 10;
pub const STATE_SIZE: usize = 8 * (1 + BUCKETS as usize);

/// Why a spec or a call was refused; the plugin entry turns it into a
/// plugin code and a message through the host's set_error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A configuration the algorithm cannot honour (a config error).
    InvalidArgument(&'static str),
    /// Something only a broken host would hand in.
    Internal(&'static str),
}

/// Accepts `limit` per `period_us` (a period that splits into ten whole
/// microsecond buckets); refuses `burst`, which a window does not have.
pub fn validate(spec: &limify_limit_spec) -> Result<(), Refusal> {
    if spec.limit <= 0 || spec.period_us <= 0 {
        return Err(Refusal::InvalidArgument("sliding_buckets: limit and period must be positive"));
    }
    if spec.period_us % BUCKETS != 0 {
        return Err(Refusal::InvalidArgument(
            "sliding_buckets: the period must be a multiple of 10 microseconds (ten equal buckets)",
        ));
    }
    if spec.burst != 0 {
        return Err(Refusal::InvalidArgument(
            "sliding_buckets: burst is not used (the limit is the most a window holds)",
        ));
    }
    Ok(())
}

struct State {
    newest: i64,
    counts: [i64; BUCKETS as usize],
}

impl State {
    fn load(bytes: &[u8; STATE_SIZE]) -> State {
        let word = |i: usize| i64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().unwrap());
        let mut counts = [0; BUCKETS as usize];
        for (k, count) in counts.iter_mut().enumerate() {
            *count = word(1 + k).max(0); // a foreign state's negative count is nothing
        }
        State { newest: word(0), counts }
    }

    fn store(&self, bytes: &mut [u8; STATE_SIZE]) {
        bytes[..8].copy_from_slice(&self.newest.to_le_bytes());
        for (k, count) in self.counts.iter().enumerate() {
            bytes[8 * (1 + k)..8 * (2 + k)].copy_from_slice(&count.to_le_bytes());
        }
    }

    fn slot(index: i64) -> usize {
        index.rem_euclid(BUCKETS) as usize
    }

    /// Moves the window to end at bucket `current`, emptying the buckets it
    /// slid past. A clock that went back changes nothing (no refill).
    fn slide_to(&mut self, current: i64) {
        if current <= self.newest {
            return;
        }
        let passed = current.saturating_sub(self.newest);
        if passed >= BUCKETS {
            self.counts = [0; BUCKETS as usize];
        } else {
            for index in self.newest + 1..=current {
                self.counts[State::slot(index)] = 0;
            }
        }
        self.newest = current;
    }

    fn total(&self) -> i64 {
        self.counts.iter().fold(0i64, |sum, &c| sum.saturating_add(c))
    }

    /// Bucket indices of the window, oldest first, with their counts.
    fn oldest_first(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        (0..BUCKETS).map(move |k| {
            let index = self.newest - (BUCKETS - 1) + k;
            (index, self.counts[State::slot(index)])
        })
    }
}

/// Decides a request of `cost` (>= 1) at `now_us`; writes `state` only when
/// the request is allowed and not a peek.
pub fn step(
    spec: &limify_limit_spec,
    state: &mut [u8; STATE_SIZE],
    now_us: i64,
    cost: i64,
    peek: bool,
) -> Result<limify_verdict, Refusal> {
    validate(spec)?;
    if cost < 1 {
        return Err(Refusal::InvalidArgument("sliding_buckets: cost must be >= 1"));
    }
    let limit = spec.limit;
    let bucket_us = spec.period_us / BUCKETS;
    let mut s = State::load(state);
    s.slide_to(now_us.div_euclid(bucket_us));
    // Waits count from the newest bucket when the clock went back.
    let t = i128::from(now_us).max(i128::from(s.newest) * i128::from(bucket_us));
    // Until bucket `index` leaves the window: when the window's newest bucket
    // is index + 10.
    let leaves_in = |index: i64| -> i64 {
        let at = (i128::from(index) + i128::from(BUCKETS)) * i128::from(bucket_us);
        (at - t).clamp(0, i128::from(i64::MAX)) as i64
    };

    let used = s.total();
    let mut verdict = limify_verdict {
        struct_size: std::mem::size_of::<limify_verdict>() as u32,
        limit,
        ..limify_verdict::default()
    };
    if cost <= limit - used.min(limit) {
        if !peek {
            let slot = State::slot(s.newest);
            s.counts[slot] += cost;
            s.store(state);
        }
        verdict.allowed = 1;
        verdict.remaining = limit - used - if peek { 0 } else { cost };
    } else {
        verdict.remaining = (limit - used).max(0);
        verdict.retry_after_us = if cost > limit {
            LIMIFY_RETRY_NEVER
        } else {
            // The oldest buckets leave first: wait until enough have gone.
            let need = used.saturating_add(cost) - limit;
            let mut freed = 0i64;
            s.oldest_first()
                .find(|&(_, count)| {
                    freed = freed.saturating_add(count);
                    freed >= need
                })
                .map_or(0, |(index, _)| leaves_in(index))
        };
    }
    // Fresh again once the newest non-empty bucket has left.
    verdict.reset_after_us =
        s.oldest_first().filter(|&(_, count)| count > 0).last().map_or(0, |(index, _)| leaves_in(index));
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000;

    fn spec(limit: i64, period_us: i64) -> limify_limit_spec {
        limify_limit_spec {
            struct_size: std::mem::size_of::<limify_limit_spec>() as u32,
            limit,
            period_us,
            ..Default::default()
        }
    }

    /// (allowed, remaining, retry_after_us, reset_after_us)
    fn at(s: &limify_limit_spec, state: &mut [u8; STATE_SIZE], now: i64, cost: i64) -> (bool, i64, i64, i64) {
        let v = step(s, state, now, cost, false).unwrap();
        (v.allowed == 1, v.remaining, v.retry_after_us, v.reset_after_us)
    }

    #[test]
    fn a_fresh_key_holds_the_limit_then_waits_for_the_oldest_bucket() {
        let s = spec(10, 10 * SECOND); // 1 s buckets
        let mut state = [0u8; STATE_SIZE];
        for n in 0..10 {
            assert_eq!(at(&s, &mut state, 0, 1), (true, 9 - n, 0, 10 * SECOND));
        }
        assert_eq!(at(&s, &mut state, 0, 1), (false, 0, 10 * SECOND, 10 * SECOND));
        assert_eq!(at(&s, &mut state, 4 * SECOND, 1), (false, 0, 6 * SECOND, 6 * SECOND));
        assert_eq!(at(&s, &mut state, 10 * SECOND, 1), (true, 9, 0, 10 * SECOND));
    }

    #[test]
    fn requests_leave_bucket_by_bucket_not_all_at_once() {
        let s = spec(10, 10 * SECOND);
        let mut state = [0u8; STATE_SIZE];
        for _ in 0..5 {
            at(&s, &mut state, 0, 1);
        }
        for _ in 0..5 {
            at(&s, &mut state, 3 * SECOND + 500_000, 1);
        }
        // Full: the bucket of t=0 leaves at 10 s.
        assert_eq!(at(&s, &mut state, 9 * SECOND + 500_000, 1), (false, 0, 500_000, 3 * SECOND + 500_000));
        // At 10 s only the first five have left (fixed_window would be empty).
        assert_eq!(at(&s, &mut state, 10 * SECOND, 1), (true, 4, 0, 10 * SECOND));
        // A cost of 5 waits for the bucket of 3.5 s, which leaves at 13 s.
        assert_eq!(at(&s, &mut state, 10 * SECOND, 5), (false, 4, 3 * SECOND, 10 * SECOND));
    }

    #[test]
    fn a_cost_above_the_limit_never_passes_and_peek_consumes_nothing() {
        let s = spec(3, SECOND);
        let mut state = [0u8; STATE_SIZE];
        assert_eq!(at(&s, &mut state, 0, 4), (false, 3, LIMIFY_RETRY_NEVER, 0));
        let before = state;
        let v = step(&s, &mut state, 0, 2, true).unwrap();
        assert_eq!((v.allowed, v.remaining, v.reset_after_us), (1, 3, 0));
        assert_eq!(state, before);
        assert_eq!(at(&s, &mut state, 0, 3), (true, 0, 0, SECOND));
        let denied = state;
        assert_eq!(at(&s, &mut state, 0, 1), (false, 0, SECOND, SECOND));
        assert_eq!(state, denied, "a denied request writes nothing");
    }

    #[test]
    fn time_going_back_neither_refills_nor_fails() {
        let s = spec(2, 10 * SECOND);
        let mut state = [0u8; STATE_SIZE];
        at(&s, &mut state, 50 * SECOND, 2);
        assert_eq!(at(&s, &mut state, 20 * SECOND, 1), (false, 0, 10 * SECOND, 10 * SECOND));
        assert_eq!(at(&s, &mut state, -7, 1), (false, 0, 10 * SECOND, 10 * SECOND));
        assert!(at(&s, &mut state, 60 * SECOND, 1).0);
    }

    #[test]
    fn extreme_clocks_do_not_overflow() {
        let s = spec(1, 10 * SECOND);
        for now in [i64::MIN, i64::MIN + 1, -1, i64::MAX - 1, i64::MAX] {
            let mut state = [0u8; STATE_SIZE];
            assert!(at(&s, &mut state, now, 1).0);
            let (allowed, _, retry, reset) = at(&s, &mut state, now, 1);
            assert!(!allowed && retry >= 0 && reset >= 0);
        }
    }

    #[test]
    fn foreign_state_bytes_are_handled_without_panicking() {
        let s = spec(5, SECOND);
        let mut state = [0xffu8; STATE_SIZE]; // newest = -1, every count -1
        assert!(at(&s, &mut state, 0, 1).0);
        let mut state = [0x7fu8; STATE_SIZE]; // huge counts
        let (allowed, remaining, retry, _) = at(&s, &mut state, 0, 1);
        assert!(!allowed && remaining == 0 && retry >= 0);
    }

    #[test]
    fn never_more_than_the_limit_in_any_nine_tenths_of_a_window() {
        // A pseudo-random stream of requests (fixed seed): every allowed
        // request is logged, and no interval of 0.9 × period holds more than
        // the limit.
        let (limit, period) = (7, 10 * SECOND);
        let s = spec(limit, period);
        let mut state = [0u8; STATE_SIZE];
        let (mut now, mut seed, mut allowed) = (0i64, 0x2545_f491_4f6c_dd1du64, Vec::new());
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            now += (seed % 900_000) as i64;
            let cost = 1 + (seed >> 40) as i64 % 3;
            if at(&s, &mut state, now, cost).0 {
                allowed.push((now, cost));
            }
        }
        let mut in_window = 0;
        let mut first = 0;
        for &(t, cost) in &allowed {
            in_window += cost;
            while allowed[first].0 <= t - period * 9 / 10 {
                in_window -= allowed[first].1;
                first += 1;
            }
            assert!(in_window <= limit, "{in_window} passed in 0.9 × period up to {t}");
        }
        assert!(allowed.len() > 1000, "the stream must exercise the limit");
    }

    #[test]
    fn specs_the_algorithm_cannot_honour_are_refused() {
        assert!(validate(&spec(0, SECOND)).is_err());
        assert!(validate(&spec(1, 0)).is_err());
        assert!(validate(&spec(1, 15)).is_err());
        assert!(validate(&limify_limit_spec { burst: 3, ..spec(1, SECOND) }).is_err());
        assert_eq!(validate(&spec(100_000_000, 7 * 24 * 3600 * SECOND)), Ok(()));
    }
}
