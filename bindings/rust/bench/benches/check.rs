//! ns per check: limify through the Rust binding (memory storage, token
//! bucket, the system clock) beside governor's keyed limiter (GCRA in a
//! DashMap), the usual in-process choice in Rust, in the same run.
//!
//! Both limit 10 000 distinct keys cycled in order, at a rate so high that
//! every check is allowed: what is measured is the cost of a decision, not of
//! a denial. limify's `check` adds what an HTTP request costs on top of
//! `check_key`: route matching and picking the identity; `check_key_batch`
//! decides 64 keys per call (reported per check). Then two threads on the
//! same limiter, to show what sharing one engine costs.

use std::ffi::CString;
use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use governor::{Quota, RateLimiter};
use limify::{sys, Engine, Request};

const KEYS: usize = 10_000;
const RATE: u32 = 1_000_000; // per second, per key: never binding
const BATCH: usize = 64; // keys per check_key_batch call

fn keys() -> Vec<String> {
    (0..KEYS).map(|i| format!("user-{i}")).collect()
}

fn engine() -> Engine {
    Engine::new(&format!(
        r#"{{"storage": {{"type": "memory"}},
            "rules": [{{"id": "api", "path": "/api/**", "algorithm": "token_bucket", "rate": "{RATE}/second"}}]}}"#
    ))
    .expect("the benchmark configuration is valid")
}

type Governor = RateLimiter<
    String,
    governor::state::keyed::DefaultKeyedStateStore<String>,
    governor::clock::DefaultClock,
    governor::middleware::NoOpMiddleware,
>;

fn governor() -> Governor {
    RateLimiter::keyed(Quota::per_second(NonZeroU32::new(RATE).unwrap()))
}

fn single_thread(c: &mut Criterion) {
    let keys = keys();
    let engine = engine();
    let governor = governor();
    let mut group = c.benchmark_group("one thread, 10k keys");

    group.bench_function("limify check_key", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % KEYS;
            black_box(engine.check_key("api", &keys[i], 1).unwrap().allowed())
        })
    });
    // 64 keys per call; one iteration is still one check (BATCH iterations
    // per call), so the figure reads beside check_key's.
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    group.bench_function(format!("limify check_key_batch of {BATCH}"), |b| {
        let mut i = 0;
        b.iter_custom(|iters| {
            let calls = iters.div_ceil(BATCH as u64);
            let start = Instant::now();
            for _ in 0..calls {
                i = (i + BATCH) % (KEYS / BATCH * BATCH); // whole batches only
                let batch = &key_refs[i..i + BATCH];
                let decisions = engine.check_key_batch("api", batch, None).unwrap();
                black_box(decisions.iter().all(|d| d.as_ref().unwrap().allowed()));
            }
            start.elapsed().mul_f64(iters as f64 / (calls * BATCH as u64) as f64)
        })
    });
    group.bench_function("limify check", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % KEYS;
            black_box(engine.check(&Request::new("GET", "/api/items").user_id(&keys[i])).unwrap().allowed())
        })
    });
    // The same call straight through limify-sys, strings made beforehand:
    // the difference to "limify check_key" is what the safe layer costs.
    let c_keys: Vec<CString> = keys.iter().map(|k| CString::new(k.as_str()).unwrap()).collect();
    group.bench_function("C API limify_check_key", |b| {
        let mut i = 0;
        let mut decision = sys::limify_decision::new();
        let mut err = sys::limify_error::new();
        b.iter(|| {
            i = (i + 1) % KEYS;
            // SAFETY: a live engine, NUL-terminated strings, valid out-pointers.
            let status = unsafe {
                sys::limify_check_key(engine.as_raw(), c"api".as_ptr(), c_keys[i].as_ptr(), 1, &mut decision, &mut err)
            };
            assert_eq!(status, sys::LIMIFY_OK);
            black_box(decision.allowed)
        })
    });
    let c_key_ptrs: Vec<*const std::ffi::c_char> = c_keys.iter().map(|k| k.as_ptr()).collect();
    group.bench_function(format!("C API limify_check_key_batch of {BATCH}"), |b| {
        let mut i = 0;
        let mut decisions = [sys::limify_decision::new(); BATCH];
        let mut err = sys::limify_error::new();
        b.iter_custom(|iters| {
            let calls = iters.div_ceil(BATCH as u64);
            let start = Instant::now();
            for _ in 0..calls {
                i = (i + BATCH) % (KEYS / BATCH * BATCH);
                let decision_ptrs = decisions.each_mut().map(|d| d as *mut sys::limify_decision);
                // SAFETY: a live engine; BATCH NUL-terminated identities, and
                // BATCH decisions; no costs (1 each), no statuses.
                let status = unsafe {
                    sys::limify_check_key_batch(
                        engine.as_raw(),
                        c"api".as_ptr(),
                        c_key_ptrs[i..].as_ptr(),
                        BATCH,
                        std::ptr::null(),
                        decision_ptrs.as_ptr(),
                        std::ptr::null_mut(),
                        &mut err,
                    )
                };
                assert_eq!(status, sys::LIMIFY_OK);
                black_box(decisions[BATCH - 1].allowed);
            }
            start.elapsed().mul_f64(iters as f64 / (calls * BATCH as u64) as f64)
        })
    });
    group.bench_function("governor keyed", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % KEYS;
            black_box(governor.check_key(&keys[i]).is_ok())
        })
    });
    group.finish();
}

/// Runs `check(thread, i)` `iters` times on each of `threads` threads at
/// once; the time of the slowest thread over the checks of one thread, so the
/// figure is the latency each thread sees while the others contend.
fn on_threads(threads: usize, iters: u64, check: impl Fn(usize, usize) -> bool + Sync) -> Duration {
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (barrier, check) = (&barrier, &check);
                s.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    for i in 0..iters as usize {
                        black_box(check(t, i));
                    }
                    start.elapsed()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).max().unwrap()
    })
}

fn two_threads(c: &mut Criterion) {
    let keys = keys();
    let engine = engine();
    let governor = governor();
    let key = |t: usize, i: usize| &keys[(i * 2 + t) % KEYS];
    let mut group = c.benchmark_group("two threads, one limiter, 10k keys");
    group.bench_function("limify check_key", |b| {
        b.iter_custom(|iters| on_threads(2, iters, |t, i| engine.check_key("api", key(t, i), 1).unwrap().allowed()))
    });
    group.bench_function("governor keyed", |b| {
        b.iter_custom(|iters| on_threads(2, iters, |t, i| governor.check_key(key(t, i)).is_ok()))
    });
    group.finish();
}

criterion_group!(benches, single_thread, two_threads);
criterion_main!(benches);
