//! Against a real redis-server (started here by scripts/redis-local, stopped
//! by PID at the end): engines in one process share their limits through it,
//! atomically, whatever the number of threads.

mod common;

use std::sync::Arc;

use common::RedisServer;
use limify::{Engine, Request};

fn redis_engine(url: &str, rules: &str) -> Engine {
    Engine::new(&format!(
        r#"{{"storage": {{"type": "redis", "url": "{url}", "connect_timeout_ms": 5000, "command_timeout_ms": 5000}},
            "failure_mode": "closed", "rules": {rules}}}"#
    ))
    .unwrap()
}

#[test]
fn engines_on_one_redis_share_limits_atomically() {
    let redis = RedisServer::start();

    // Two engines (as two processes would have) split one budget of 5.
    let rules = r#"[{"id": "shared", "path": "/shared", "rate": "5/hour"}]"#;
    let (a, b) = (redis_engine(&redis.url, rules), redis_engine(&redis.url, rules));
    let r = Request::new("POST", "/shared").user_id("u1");
    let remaining: Vec<_> = [&a, &b, &a, &b, &a].iter().map(|e| e.check(&r).unwrap().remaining()).collect();
    assert_eq!(remaining, [Some(4), Some(3), Some(2), Some(1), Some(0)]);
    let denied = b.check(&r).unwrap();
    assert!(!denied.allowed() && !denied.degraded());
    assert!(denied.retry_after().unwrap() > std::time::Duration::ZERO);
    a.reset(&r).unwrap();
    assert_eq!(b.check(&r).unwrap().remaining(), Some(4), "a reset through one engine is seen by the other");

    // A batch goes in one pipelined round trip and answers each in order.
    let batch: Vec<bool> = a.check_batch(&[r, r, r, r, r]).unwrap().into_iter().map(|d| d.unwrap().allowed()).collect();
    assert_eq!(batch, [true, true, true, true, false]);

    // So does a key batch, and the other engine sees what it consumed; an
    // empty identity fails alone, a cost above the limit is denied alone.
    let keys: Vec<bool> =
        a.check_key_batch("shared", &["k"; 6], None).unwrap().into_iter().map(|d| d.unwrap().allowed()).collect();
    assert_eq!(keys, [true, true, true, true, true, false]);
    assert!(!b.check_key("shared", "k", 1).unwrap().allowed());
    let mixed = b.check_key_batch("shared", &["k2", "", "k3", "k2"], Some(&[4, 1, 6, 1])).unwrap();
    let decided = [&mixed[0], &mixed[2], &mixed[3]]
        .map(|r| r.as_ref().map(|d| (d.allowed(), d.remaining(), d.degraded())).unwrap());
    assert_eq!(decided, [(true, Some(1), false), (false, Some(5), false), (true, Some(0), false)]);
    assert_eq!(mixed[1].as_ref().unwrap_err().code(), limify::ErrorCode::InvalidArgument);

    // 2 engines × 4 threads × 40 checks on one key of 100/hour: exactly 100.
    let rules = r#"[{"id": "hot", "path": "/hot", "algorithm": "sliding_window", "rate": "100/hour"}]"#;
    let engines = [Arc::new(redis_engine(&redis.url, rules)), Arc::new(redis_engine(&redis.url, rules))];
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let engine = engines[i % 2].clone();
            std::thread::spawn(move || {
                let r = Request::new("GET", "/hot").api_key("k");
                let decisions: Vec<_> = (0..40).map(|_| engine.check(&r).unwrap()).collect();
                assert!(decisions.iter().all(|d| !d.degraded()), "Redis failed during the test");
                decisions.iter().filter(|d| d.allowed()).count()
            })
        })
        .collect();
    let allowed: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(allowed, 100);
}
