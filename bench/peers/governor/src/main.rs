//! governor_bench: governor's keyed rate limiter (GCRA in a DashMap), the
//! usual in-process choice in Rust, measured like bench/capi_bench measures
//! limify: 1 and 2 threads, 1 and 1,000,000 keys, every key created before
//! timing, a rate no key reaches so every check is allowed. One JSON line per
//! case on stdout; ns_per_check is wall time over all threads' checks
//! together (Google Benchmark's real time for a threaded benchmark).
//!
//!     governor_bench [--seconds 1] [--keys 1,1000000] [--threads 1,2]

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use governor::{Quota, RateLimiter};

type Keyed = RateLimiter<
    String,
    governor::state::keyed::DefaultKeyedStateStore<String>,
    governor::clock::DefaultClock,
    governor::middleware::NoOpMiddleware,
>;

fn parse_list(flag: &str, text: &str) -> Vec<usize> {
    text.split(',')
        .map(|item| match item.trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                eprintln!("governor_bench: {flag}: {item:?} is not a positive integer");
                std::process::exit(2);
            }
        })
        .collect()
}

/// A fixed shuffle (xorshift), so both runs see keys in the same order.
fn shuffled_ids(n: usize) -> Vec<String> {
    let mut ids: Vec<String> = (0..n).map(|i| format!("user-{i}")).collect();
    let mut state: u64 = 42;
    for i in (1..n).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ids.swap(i, (state % (i as u64 + 1)) as usize);
    }
    ids
}

/// ns per check over all threads, or None if any check was denied.
fn run(ids: &[String], threads: usize, seconds: f64) -> Option<f64> {
    let limiter: Keyed = RateLimiter::keyed(Quota::per_second(NonZeroU32::new(1_000_000_000).unwrap()));
    for id in ids {
        limiter.check_key(id).ok()?;
    }
    let stop = AtomicBool::new(false);
    let denied = AtomicBool::new(false);
    let barrier = Barrier::new(threads + 1);
    let (total, elapsed) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (limiter, stop, denied, barrier) = (&limiter, &stop, &denied, &barrier);
                s.spawn(move || {
                    let mut i = t * 7919;
                    let mut n: u64 = 0;
                    barrier.wait();
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..64 {
                            if limiter.check_key(&ids[i % ids.len()]).is_err() {
                                denied.store(true, Ordering::Relaxed);
                            }
                            i += 1;
                        }
                        n += 64;
                    }
                    n
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        std::thread::sleep(Duration::from_secs_f64(seconds));
        stop.store(true, Ordering::Relaxed);
        let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        (total, start.elapsed())
    });
    if denied.load(Ordering::Relaxed) || total == 0 {
        return None;
    }
    Some(elapsed.as_nanos() as f64 / total as f64)
}

fn main() {
    let mut seconds = 1.0;
    let mut keys = vec![1, 1_000_000];
    let mut threads = vec![1, 2];
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        match (pair[0].as_str(), pair.get(1)) {
            ("--seconds", Some(v)) => seconds = v.parse().unwrap_or(1.0),
            ("--keys", Some(v)) => keys = parse_list("--keys", v),
            ("--threads", Some(v)) => threads = parse_list("--threads", v),
            _ => {
                eprintln!("usage: governor_bench [--seconds S] [--keys 1,1000000] [--threads 1,2]");
                std::process::exit(2);
            }
        }
    }
    for &n in &keys {
        let ids = shuffled_ids(n);
        for &t in &threads {
            let Some(ns) = run(&ids, t, seconds) else {
                eprintln!("governor_bench: a check was denied at {n} keys, {t} threads");
                std::process::exit(1);
            };
            println!(
                r#"{{"peer": "governor", "keys": {n}, "threads": {t}, "ns_per_check": {ns:.2}, "checks_per_s": {:.0}}}"#,
                1e9 / ns
            );
        }
    }
}
