//! The safe Engine API against the real liblimify: exact decisions on the
//! manual clock, headers, errors with their codes, reloads, batches, stats
//! and the plugin listing.

mod common;

use std::time::Duration;

use common::{manual_config, RULES};
use limify::{Engine, ErrorCode, FailureMode, HeaderFlags, Request, StatsFormat};

fn engine() -> Engine {
    Engine::new(&manual_config(RULES, "")).expect("the test configuration is valid")
}

const US: fn(u64) -> Duration = Duration::from_micros;

#[test]
fn token_bucket_decisions_are_exact_on_the_manual_clock() {
    let engine = engine();
    let alice = Request::new("GET", "/search").user_id("alice");
    // 3/second: a full bucket of 3, one token back every 333 333.3 µs.
    for (remaining, reset_after_us) in [(2, 333_334), (1, 666_667), (0, 1_000_000)] {
        let d = engine.check(&alice).unwrap();
        assert!(d.allowed() && d.matched() && !d.degraded());
        assert_eq!(d.limit(), Some(3));
        assert_eq!(d.remaining(), Some(remaining));
        assert_eq!(d.reset_after(), US(reset_after_us));
        assert_eq!(d.retry_after(), Some(Duration::ZERO));
        assert_eq!(d.period(), Duration::from_secs(1));
        assert_eq!((d.rule_id(), d.plan_id()), ("search", "default"));
    }
    let denied = engine.check(&alice).unwrap();
    assert!(!denied.allowed());
    assert_eq!((denied.remaining(), denied.retry_after()), (Some(0), Some(US(333_334))));

    // One microsecond short of a token: still denied, and it says so exactly.
    engine.advance_clock(US(333_333)).unwrap();
    assert_eq!(engine.check(&alice).unwrap().retry_after(), Some(US(1)));
    engine.advance_clock(US(1)).unwrap();
    let d = engine.check(&alice).unwrap();
    assert!(d.allowed());
    assert_eq!(d.remaining(), Some(0));

    // Another identity has its own bucket.
    assert_eq!(engine.check(&Request::new("GET", "/search").user_id("bob")).unwrap().remaining(), Some(2));
}

#[test]
fn set_clock_moves_time_to_an_absolute_instant() {
    let engine = engine();
    let r = Request::new("GET", "/items/1").api_key("k");
    engine.set_clock(Duration::from_secs(600)).unwrap(); // a window boundary
    assert!(engine.check(&r).unwrap().allowed());
    assert!(engine.check(&r).unwrap().allowed());
    let denied = engine.check(&r).unwrap();
    assert_eq!((denied.allowed(), denied.retry_after()), (false, Some(Duration::from_secs(60))));
    engine.set_clock(Duration::from_secs(659)).unwrap();
    assert_eq!(engine.check(&r).unwrap().retry_after(), Some(Duration::from_secs(1)));
    engine.set_clock(Duration::from_secs(660)).unwrap();
    assert!(engine.check(&r).unwrap().allowed());
}

#[test]
fn peek_consumes_nothing_and_reset_forgets() {
    let engine = engine();
    let r = Request::new("GET", "/search").client_ip("192.0.2.1");
    for _ in 0..5 {
        assert_eq!(engine.peek(&r).unwrap().remaining(), Some(3));
    }
    engine.check(&r.cost(3)).unwrap();
    assert!(!engine.peek(&r).unwrap().allowed());
    engine.reset(&r).unwrap();
    assert_eq!(engine.check(&r).unwrap().remaining(), Some(2));
}

#[test]
fn a_cost_above_the_limit_can_never_pass() {
    let engine = engine();
    let d = engine.check(&Request::new("GET", "/search").user_id("u").cost(4)).unwrap();
    assert!(!d.allowed());
    assert_eq!(d.retry_after(), None, "waiting never helps");
    assert_eq!(d.remaining(), Some(3), "nothing was consumed");
    assert_eq!(d.headers(HeaderFlags::DEFAULT).get("Retry-After"), None);
}

#[test]
fn plans_give_their_own_limits() {
    let engine = engine();
    let pro = engine.check(&Request::new("GET", "/items/9").user_id("u").plan("pro")).unwrap();
    assert_eq!((pro.limit(), pro.remaining(), pro.plan_id()), (Some(5), Some(4), "pro"));
    // A plan the rule does not define gets the rule's own rate.
    let other = engine.check(&Request::new("GET", "/items/9").user_id("u").plan("gold")).unwrap();
    assert_eq!((other.limit(), other.plan_id()), (Some(2), "default"));
}

#[test]
fn an_unmatched_request_is_not_limited_and_has_no_headers() {
    let d = engine().check(&Request::new("GET", "/elsewhere")).unwrap();
    assert!(d.allowed() && !d.matched());
    assert_eq!((d.limit(), d.remaining(), d.rule_id()), (None, None, ""));
    assert!(d.headers(HeaderFlags::DEFAULT | HeaderFlags::IETF).is_empty());
}

#[test]
fn headers_are_the_c_api_text() {
    let engine = engine();
    let r = Request::new("GET", "/search").user_id("h");
    let first = engine.check(&r).unwrap();
    assert_eq!(
        first.headers(HeaderFlags::DEFAULT).as_str(),
        "X-RateLimit-Limit: 3\r\nX-RateLimit-Remaining: 2\r\nX-RateLimit-Reset: 1\r\n"
    );
    engine.check(&r.cost(2)).unwrap();
    let denied = engine.check(&r).unwrap();
    let headers = denied.headers(HeaderFlags::DEFAULT | HeaderFlags::IETF);
    assert_eq!(headers.get("retry-after"), Some("1"));
    assert_eq!(headers.get("X-RateLimit-Remaining"), Some("0"));
    assert_eq!(headers.get("RateLimit-Policy"), Some(r#""search";q=3;w=1"#));
    assert_eq!(headers.iter().count(), 6, "{}", headers.as_str());
    assert!(denied.headers(HeaderFlags::IETF).get("X-RateLimit-Limit").is_none());
}

#[test]
fn check_key_limits_an_identity_under_a_rule() {
    let engine = engine();
    for remaining in [1, 0] {
        assert_eq!(engine.check_key("items", "job-7", 0).unwrap().remaining(), Some(remaining));
    }
    assert!(!engine.check_key("items", "job-7", 1).unwrap().allowed());
    engine.reset_key("items", "job-7").unwrap();
    assert!(engine.check_key("items", "job-7", 2).unwrap().allowed());

    let err = engine.check_key("no_such_rule", "job-7", 1).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    assert_eq!(err.code().status(), 6);
    assert!(err.message().contains("no_such_rule"), "{err}");
}

#[test]
fn a_bad_configuration_is_a_config_error_naming_the_json_path() {
    let err = Engine::new(&manual_config(r#"[{"id": "a", "path": "/", "rate": "3/fortnight"}]"#, "")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Config);
    assert_eq!(err.code().name(), "config_error");
    assert!(err.message().starts_with("rules[0].rate: unknown unit \"fortnight\""), "{err}");
    assert!(err.to_string().contains("(config_error)"));

    let err = Engine::new("{not json").unwrap_err();
    assert_eq!(err.code(), ErrorCode::Config);
    let err = Engine::new(r#"{"rulez": []}"#).unwrap_err();
    assert!(err.message().contains("rulez"), "{err}");
}

#[test]
fn arguments_c_cannot_carry_are_refused_before_the_call() {
    let engine = engine();
    let err = engine.check(&Request::new("GET", "/search").user_id("a\0b")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    assert_eq!(err.message(), "request.user_id contains a NUL byte at offset 1");
    let err = engine.check(&Request::new("GET", "/search").cost(u64::MAX)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    assert!(err.message().starts_with("request.cost:"), "{err}");
    assert_eq!(Engine::new("{\"a\0\": 1}").unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(engine.check_key("items", "x\0", 1).unwrap_err().message(), "identity contains a NUL byte at offset 1");
}

#[test]
fn moving_a_system_clock_is_a_failed_precondition() {
    let engine = Engine::new(r#"{"clock": "system"}"#).unwrap();
    let err = engine.advance_clock(Duration::from_secs(1)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::FailedPrecondition);
    assert!(err.message().contains("manual"), "{err}");
    assert_eq!(engine.set_clock(Duration::ZERO).unwrap_err().code(), ErrorCode::FailedPrecondition);
}

#[test]
fn configurations_load_from_files() {
    let dir = common::tempdir::TempDir::new("limify-rust-config");
    let path = dir.path().join("limify.json");
    std::fs::write(&path, manual_config(RULES, r#""failure_mode": "closed""#)).unwrap();
    let engine = Engine::from_file(&path).unwrap();
    assert_eq!(engine.failure_mode(), FailureMode::Closed);
    assert_eq!(engine.check(&Request::new("GET", "/search")).unwrap().limit(), Some(3));

    let err = Engine::from_file(dir.path().join("missing.json")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    assert!(err.message().contains("missing.json"), "{err}");
}

#[test]
fn reload_swaps_the_configuration_and_a_bad_one_changes_nothing() {
    let engine = engine();
    assert_eq!(engine.failure_mode(), FailureMode::Open);
    let r = Request::new("GET", "/search").user_id("r");
    engine
        .reload(&manual_config(
            r#"[{"id": "search", "path": "/search", "rate": "10/second"}]"#,
            r#""failure_mode": "closed""#,
        ))
        .unwrap();
    assert_eq!(engine.check(&r).unwrap().limit(), Some(10));
    assert_eq!(engine.failure_mode(), FailureMode::Closed);

    let err = engine.reload(r#"{"rules": [{"id": "search"}]}"#).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Config);
    assert_eq!(engine.check(&r).unwrap().limit(), Some(10), "the old configuration stays in force");
    assert_eq!(engine.failure_mode(), FailureMode::Closed);
}

#[test]
fn a_batch_answers_each_request_in_order() {
    let engine = engine();
    let requests = [
        Request::new("GET", "/items/1").user_id("b"),
        Request::new("GET", "/items/2").user_id("b"),
        Request::new("GET", "/items/3").user_id("b"),
        Request::new("GET", "/search").user_id("b").cost(3),
        Request::new("GET", "/nowhere"),
    ];
    let decisions: Vec<_> = engine.check_batch(&requests).unwrap().into_iter().map(Result::unwrap).collect();
    let allowed: Vec<bool> = decisions.iter().map(|d| d.allowed()).collect();
    assert_eq!(allowed, [true, true, false, true, true]);
    assert_eq!(decisions[3].remaining(), Some(0));
    assert!(!decisions[4].matched());
    assert!(engine.check_batch(&[]).unwrap().is_empty());

    let err = engine.check_batch(&[Request::new("GET", "/x"), Request::new("GET", "/\0")]).unwrap_err();
    assert_eq!(err.message(), "requests[1].path contains a NUL byte at offset 1");
}

#[test]
fn a_key_batch_decides_each_identity_in_order_as_check_key_would() {
    let (engine, one_by_one) = (engine(), engine());
    let identities = ["job-1", "job-1", "job-1", "job-2"];
    let decisions: Vec<_> =
        engine.check_key_batch("items", &identities, None).unwrap().into_iter().map(Result::unwrap).collect();
    let allowed: Vec<bool> = decisions.iter().map(|d| d.allowed()).collect();
    assert_eq!(allowed, [true, true, false, true]);
    assert_eq!(decisions.iter().map(|d| d.remaining()).collect::<Vec<_>>(), [Some(1), Some(0), Some(0), Some(1)]);
    assert_eq!((decisions[3].rule_id(), decisions[3].limit()), ("items", Some(2)));

    // The same checks one by one on a fresh engine: the same decisions, field for field.
    for (identity, batched) in identities.iter().zip(&decisions) {
        let single = one_by_one.check_key("items", identity, 1).unwrap();
        assert_eq!(format!("{batched:?}"), format!("{single:?}"), "{identity}");
    }
    // The batch consumed what check_key counts.
    assert!(!engine.check_key("items", "job-1", 1).unwrap().allowed());
    assert_eq!(engine.check_key("items", "job-2", 1).unwrap().remaining(), Some(0));
}

#[test]
fn a_key_batch_charges_each_identity_its_cost() {
    let engine = engine();
    // "search": 3/second. A cost of 0 counts as 1; 4 is above the limit.
    let decisions: Vec<_> = engine
        .check_key_batch("search", &["a", "b", "c", "a"], Some(&[2, 0, 4, 1]))
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let got: Vec<_> = decisions.iter().map(|d| (d.allowed(), d.remaining())).collect();
    assert_eq!(got, [(true, Some(1)), (true, Some(2)), (false, Some(3)), (true, Some(0))]);
    assert_eq!(decisions[2].retry_after(), None, "a cost above the limit can never pass");

    let err = engine.check_key_batch("search", &["a", "b"], Some(&[1])).unwrap_err();
    assert_eq!((err.code(), err.message()), (ErrorCode::InvalidArgument, "costs has 1 items for 2 identities"));
    let err = engine.check_key_batch("search", &["d", "d"], Some(&[1, u64::MAX])).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    assert!(err.message().starts_with("costs[1]: "), "{err}");
    assert_eq!(engine.check_key("search", "d", 1).unwrap().remaining(), Some(2), "a refused batch decides nothing");
}

#[test]
fn a_failing_item_of_a_key_batch_fails_alone() {
    let engine = engine();
    let results = engine.check_key_batch("items", &["job-1", "", "job-2", ""], None).unwrap();
    assert_eq!(results.len(), 4);
    assert!(results[0].as_ref().unwrap().allowed());
    assert!(results[2].as_ref().unwrap().allowed());
    let first = results[1].as_ref().unwrap_err();
    assert_eq!(first.code(), ErrorCode::InvalidArgument);
    assert_eq!(first.message(), "limify_check_key_batch: item 1: limify_check_key: identity must not be empty");
    let other = results[3].as_ref().unwrap_err();
    assert_eq!((other.code(), other.message()), (ErrorCode::InvalidArgument, "identities[3]: invalid_argument"));
    assert_eq!(engine.check_key("items", "job-1", 1).unwrap().remaining(), Some(0), "job-1 was counted once");
}

#[test]
fn a_key_batch_refuses_a_nul_byte_naming_the_item() {
    let engine = engine();
    let err = engine.check_key_batch("items", &["ok", "x\0y"], None).unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (ErrorCode::InvalidArgument, "identities[1] contains a NUL byte at offset 1")
    );
    let err = engine.check_key_batch("it\0ms", &["ok"], None).unwrap_err();
    assert_eq!(err.message(), "rule_id contains a NUL byte at offset 2");
    assert_eq!(engine.check_key("items", "ok", 1).unwrap().remaining(), Some(1), "nothing was decided");
}

#[test]
fn a_key_batch_under_an_unknown_rule_fails_every_item() {
    let engine = engine();
    let results = engine.check_key_batch("no_such_rule", &["a", "b"], None).unwrap();
    assert_eq!(results.len(), 2);
    for result in &results {
        assert_eq!(result.as_ref().unwrap_err().code(), ErrorCode::NotFound);
    }
    let first = results[0].as_ref().unwrap_err();
    assert!(first.message().starts_with("limify_check_key_batch: item 0: "), "{first}");
    assert!(first.message().contains("no_such_rule"), "{first}");
    assert_eq!(results[1].as_ref().unwrap_err().message(), "identities[1]: not_found");
}

#[test]
fn an_empty_key_batch_is_empty() {
    let engine = engine();
    assert!(engine.check_key_batch("items", &[], None).unwrap().is_empty());
    assert!(engine.check_key_batch("items", &[], Some(&[])).unwrap().is_empty());
}

#[test]
fn stats_count_decisions_in_both_formats() {
    let engine = engine();
    let r = Request::new("GET", "/search").user_id("s");
    for _ in 0..4 {
        engine.check(&r).unwrap();
    }
    let json = engine.stats(StatsFormat::Json).unwrap();
    assert!(json.contains(r#"{"rule":"search","plan":"default","allowed":3,"denied":1,"#), "{json}");
    let prometheus = engine.stats(StatsFormat::Prometheus).unwrap();
    assert!(
        prometheus.contains(r#"limify_decisions_total{rule="search",plan="default",outcome="denied"} 1"#),
        "{prometheus}"
    );
}

#[test]
fn the_library_lists_its_plugins_and_version() {
    let plugins = limify::list_plugins(None).unwrap();
    for name in ["\"token_bucket\"", "\"memory\"", "\"redis\""] {
        assert!(plugins.contains(name), "{name} missing from {plugins}");
    }
    assert_eq!(limify::version(), "0.1.0");
    let err = limify::list_plugins(Some(r#"{"plugin_paths": ["/no/such/dir"]}"#)).unwrap_err();
    assert!(err.message().contains("/no/such/dir"), "{err}");
}
