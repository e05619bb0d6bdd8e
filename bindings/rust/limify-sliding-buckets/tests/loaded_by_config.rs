//! The Rust plugin as a user meets it: the cdylib cargo just built is put in a
//! directory named by "plugin_paths", liblimify loads it through the C plugin
//! ABI, and a rule using "sliding_buckets" gives exactly the algorithm's
//! decisions on the manual clock, and shares limits through a real Redis on
//! the storage's generic path.

#[path = "../../limify/tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::tempdir::TempDir;
use common::RedisServer;
use limify::sys::plugin::{LIMIFY_PLUGIN_ABI_MAJOR, LIMIFY_PLUGIN_ABI_MINOR};
use limify::{Engine, ErrorCode, Request};

const SECOND: Duration = Duration::from_secs(1);

/// A directory holding only the plugin (the engine loads every .so in a
/// plugin directory, and cargo's output directories hold other ones).
fn plugin_dir() -> TempDir {
    let exe = std::env::current_exe().unwrap(); // target/<profile>/deps/<test>
    let deps = exe.parent().unwrap();
    let name = "liblimify_sliding_buckets.so";
    let built: PathBuf = [deps.join(name), deps.parent().unwrap().join(name)]
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} was not built beside {}", deps.display()));
    let dir = TempDir::new("limify-rust-plugin");
    std::fs::copy(&built, dir.path().join(name)).unwrap();
    dir
}

/// The memory storage on the manual clock.
const MEMORY: &str = r#""storage": {"type": "memory"}, "clock": "manual""#;

/// A config with `storage` (the "storage" member, and "clock" if any) and a
/// rule "api" of 10/10s by sliding_buckets.
fn config(dir: &TempDir, storage: &str, rule_extra: &str) -> String {
    format!(
        r#"{{{storage}, "plugin_paths": [{:?}],
            "rules": [{{"id": "api", "path": "/api/**", "algorithm": "sliding_buckets",
                        "rate": "10/10s"{rule_extra}}}]}}"#,
        dir.path().to_str().unwrap()
    )
}

/// (allowed, remaining, retry_after in ms, reset_after in ms)
fn check(engine: &Engine, cost: u64) -> (bool, u64, u128, u128) {
    let d = engine.check(&Request::new("GET", "/api/v1/items").api_key("key-1").cost(cost)).unwrap();
    assert_eq!((d.rule_id(), d.limit(), d.period()), ("api", Some(10), 10 * SECOND));
    (
        d.allowed(),
        d.remaining().unwrap(),
        d.retry_after().map_or(u128::MAX, |r| r.as_millis()),
        d.reset_after().as_millis(),
    )
}

#[test]
fn the_plugin_is_listed_with_its_file_and_abi() {
    let dir = plugin_dir();
    let listing = limify::list_plugins(Some(&config(&dir, MEMORY, ""))).unwrap();
    let file = dir.path().join("liblimify_sliding_buckets.so");
    // The ABI the plugin was built against: limify-sys's, which the layout
    // test holds to the installed plugin.h.
    let abi = format!("{LIMIFY_PLUGIN_ABI_MAJOR}.{LIMIFY_PLUGIN_ABI_MINOR}");
    let entry = format!(
        r#"{{"name":"sliding_buckets","version":"0.1.0","abi":"{abi}","file":{:?},"algorithms":["sliding_buckets"],"storages":[]}}"#,
        file.to_str().unwrap()
    );
    assert!(listing.contains(&entry), "{entry} not in {listing}");
}

#[test]
fn its_decisions_are_exact_on_the_manual_clock() {
    let dir = plugin_dir();
    let engine = Engine::new(&config(&dir, MEMORY, "")).unwrap();
    // 10 per 10 s in ten 1 s buckets. Five requests at 0 s, five at 3.5 s.
    for remaining in (5..10).rev() {
        assert_eq!(check(&engine, 1), (true, remaining, 0, 10_000));
    }
    engine.set_clock(3 * SECOND + SECOND / 2).unwrap();
    for remaining in (0..5).rev() {
        assert_eq!(check(&engine, 1), (true, remaining, 0, 9_500));
    }
    // Full. The bucket of 0 s leaves at 10 s; everything has left at 13 s.
    engine.set_clock(9 * SECOND + SECOND / 2).unwrap();
    assert_eq!(check(&engine, 1), (false, 0, 500, 3_500));
    // A peek at 10 s: five have left (a fixed window would have emptied).
    engine.set_clock(10 * SECOND).unwrap();
    let peek = engine.peek(&Request::new("GET", "/api/x").api_key("key-1")).unwrap();
    assert_eq!((peek.allowed(), peek.remaining()), (true, Some(5)));
    assert_eq!(check(&engine, 1), (true, 4, 0, 10_000));
    // A cost of 5 must wait for the 3.5 s bucket, which leaves at 13 s.
    assert_eq!(check(&engine, 5), (false, 4, 3_000, 10_000));
    // More than the limit can never pass.
    assert_eq!(check(&engine, 11), (false, 4, u128::MAX, 10_000));
    engine.set_clock(13 * SECOND).unwrap();
    assert_eq!(check(&engine, 5), (true, 4, 0, 10_000));
    // Another identity is untouched.
    let other = engine.check(&Request::new("GET", "/api/v1").api_key("key-2")).unwrap();
    assert_eq!(other.remaining(), Some(9));
}

#[test]
fn the_plugin_needs_no_symbol_of_liblimify() {
    // Only the C ABI connects them: the host hands the plugin everything it
    // calls (set_error), so the shared object must not even link the library.
    let dir = plugin_dir();
    let so = dir.path().join("liblimify_sliding_buckets.so");
    let output = std::process::Command::new("readelf")
        .args(["--dynamic", "--wide"])
        .arg(&so)
        .output()
        .expect("running readelf (binutils)");
    assert!(output.status.success());
    let dynamic = String::from_utf8_lossy(&output.stdout);
    let needed: Vec<&str> = dynamic.lines().filter(|l| l.contains("(NEEDED)")).collect();
    assert!(!needed.is_empty(), "readelf printed no NEEDED entries: {dynamic}");
    assert!(needed.iter().all(|l| !l.contains("liblimify")), "{needed:#?}");
}

#[test]
fn a_spec_the_plugin_refuses_is_a_config_error_with_its_message() {
    let dir = plugin_dir();
    let err = Engine::new(&config(&dir, MEMORY, r#", "burst": 20"#)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Config);
    assert!(err.message().contains("sliding_buckets: burst is not used"), "{err}");
}

#[test]
fn an_unknown_algorithm_without_the_plugin_is_refused() {
    let empty = TempDir::new("limify-rust-no-plugin");
    let config = format!(
        r#"{{"storage": {{"type": "memory"}}, "plugin_paths": [{:?}],
            "rules": [{{"id": "api", "path": "/api", "algorithm": "sliding_buckets", "rate": "1/s"}}]}}"#,
        empty.path().to_str().unwrap()
    );
    let err = Engine::new(&config).unwrap_err();
    assert!(err.message().contains("sliding_buckets"), "{err}");
}

#[test]
fn on_redis_the_generic_path_shares_its_limit_between_engines() {
    let redis = RedisServer::start();
    let dir = plugin_dir();
    // The clock is the Redis server's (the manual one is refused there).
    // Generous timeouts and failure_mode closed: a slow machine fails the
    // count below loudly (degraded) instead of letting extra requests pass.
    let storage = format!(
        r#""storage": {{"type": "redis", "url": "{}", "connect_timeout_ms": 5000, "command_timeout_ms": 5000}},
            "failure_mode": "closed""#,
        redis.url
    );
    let (a, b) = (Engine::new(&config(&dir, &storage, "")).unwrap(), Engine::new(&config(&dir, &storage, "")).unwrap());
    let threads: Vec<_> = [a, b]
        .into_iter()
        .map(|engine| {
            std::thread::spawn(move || {
                let r = Request::new("GET", "/api/v1/items").api_key("key-1");
                let decisions: Vec<_> = (0..15).map(|_| engine.check(&r).unwrap()).collect();
                assert!(decisions.iter().all(|d| !d.degraded()), "Redis failed during the test");
                decisions.iter().filter(|d| d.allowed()).count()
            })
        })
        .collect();
    let allowed: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(allowed, 10, "two engines, thirty requests, one limit of ten");
}
