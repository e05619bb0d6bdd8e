//! Hooks and plan providers: Rust closures called by the C library, from
//! many threads; panics in them never reach C; replacing or dropping them
//! frees them.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{dead_redis_url, manual_config, RULES};
use limify::{Engine, ErrorCode, Hooks, Operation, Request};

fn engine() -> Engine {
    Engine::new(&manual_config(RULES, "")).unwrap()
}

#[test]
fn on_decision_sees_every_decision_with_its_request() {
    let engine = engine();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    engine
        .set_hooks(Hooks::new().on_decision(move |op, request, decision| {
            let who = request.map(|r| format!("{} {} {}", r.method(), r.path(), r.user_id()));
            log.lock().unwrap().push((op, who, decision.allowed(), decision.remaining()));
        }))
        .unwrap();
    let r = Request::new("GET", "/search").user_id("ann");
    engine.check(&r).unwrap();
    engine.peek(&r).unwrap();
    engine.check_key("items", "job", 1).unwrap();
    let who = Some("GET /search ann".to_string());
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (Operation::Check, who.clone(), true, Some(2)),
            (Operation::Peek, who, true, Some(2)),
            (Operation::CheckKey, None, true, Some(1)),
        ]
    );
    engine.clear_hooks().unwrap();
    engine.check(&r).unwrap();
    assert_eq!(seen.lock().unwrap().len(), 3, "cleared hooks are not called");
}

#[test]
fn on_error_sees_errors_with_their_codes() {
    let engine = engine();
    let codes = Arc::new(Mutex::new(Vec::new()));
    let log = codes.clone();
    engine.set_hooks(Hooks::new().on_error(move |e| log.lock().unwrap().push(e.code()))).unwrap();
    assert!(engine.check_key("missing", "x", 1).is_err());
    assert_eq!(*codes.lock().unwrap(), [ErrorCode::NotFound]);
}

#[test]
fn a_panicking_hook_changes_no_decision_and_never_unwinds_into_c() {
    let engine = engine();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    engine
        .set_hooks(
            Hooks::new()
                .on_decision(move |_, _, _| {
                    counted.fetch_add(1, Ordering::Relaxed);
                    panic!("a bug in the host's hook");
                })
                .on_error(|_| panic!("and another")),
        )
        .unwrap();
    let r = Request::new("GET", "/search").user_id("p");
    for remaining in [2, 1, 0] {
        assert_eq!(engine.check(&r).unwrap().remaining(), Some(remaining));
    }
    assert_eq!(engine.check_key("missing", "x", 1).unwrap_err().code(), ErrorCode::NotFound);
    assert_eq!(calls.load(Ordering::Relaxed), 3);
}

#[test]
fn changing_hooks_from_inside_a_hook_fails_instead_of_deadlocking() {
    let engine = Arc::new(engine());
    let result = Arc::new(Mutex::new(None));
    let (inner, out) = (Arc::downgrade(&engine), result.clone());
    engine
        .set_hooks(Hooks::new().on_decision(move |_, _, _| {
            if let Some(engine) = inner.upgrade() {
                *out.lock().unwrap() = Some(engine.clear_hooks().map_err(|e| e.code()));
            }
        }))
        .unwrap();
    engine.check(&Request::new("GET", "/search")).unwrap();
    assert_eq!(*result.lock().unwrap(), Some(Err(ErrorCode::FailedPrecondition)));
    // Outside the hook the same call works.
    engine.clear_hooks().unwrap();
}

#[test]
fn the_plan_provider_names_plans_and_its_faults_mean_no_plan() {
    let engine = engine();
    engine
        .set_plan_provider(|request, rule_id| match request.user_id() {
            "vip" => Some("pro".to_string()).filter(|_| rule_id == "items"),
            "panics" => panic!("a bug in the provider"),
            "too_long" => Some("p".repeat(65)),
            "nul" => Some("pr\0o".to_string()),
            _ => None,
        })
        .unwrap();
    let plan_of = |user: &str| {
        let d = engine.check(&Request::new("GET", "/items/1").user_id(user)).unwrap();
        (d.plan_id().to_string(), d.limit())
    };
    assert_eq!(plan_of("vip"), ("pro".to_string(), Some(5)));
    for user in ["someone", "panics", "too_long", "nul"] {
        assert_eq!(plan_of(user), ("default".to_string(), Some(2)), "user {user}");
    }
    // An explicit plan wins over the provider.
    let d = engine.check(&Request::new("GET", "/items/1").user_id("vip").plan("gold")).unwrap();
    assert_eq!(d.plan_id(), "default");
    engine.clear_plan_provider().unwrap();
    assert_eq!(plan_of("vip").0, "default");
}

#[test]
fn many_threads_share_one_engine_and_never_exceed_the_limit() {
    // 8 threads × 250 checks on one identity, 1000/hour, the clock stopped:
    // exactly 1000 pass, whatever the interleaving.
    let engine =
        Arc::new(Engine::new(&manual_config(r#"[{"id": "hot", "path": "/hot", "rate": "1000/hour"}]"#, "")).unwrap());
    let hooked = Arc::new(AtomicUsize::new(0));
    let h = hooked.clone();
    engine
        .set_hooks(Hooks::new().on_decision(move |_, _, _| {
            h.fetch_add(1, Ordering::Relaxed);
        }))
        .unwrap();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                let r = Request::new("GET", "/hot").api_key("shared");
                (0..250).filter(|_| engine.check(&r).unwrap().allowed()).count()
            })
        })
        .collect();
    let allowed: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(allowed, 1000);
    assert_eq!(hooked.load(Ordering::Relaxed), 2000);
    assert!(!engine.check(&Request::new("GET", "/hot").api_key("shared")).unwrap().allowed());
}

#[test]
fn the_engine_is_send_and_sync() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Engine>();
    shareable::<limify::Decision>();
    shareable::<limify::Error>();
}

#[test]
fn dropping_the_engine_frees_the_callbacks_it_held() {
    let token = Arc::new(());
    let engine = engine();
    let (a, b) = (token.clone(), token.clone());
    engine.set_hooks(Hooks::new().on_decision(move |_, _, _| drop(a.clone()))).unwrap();
    engine
        .set_plan_provider(move |_, _| {
            let _held = &b;
            None::<String>
        })
        .unwrap();
    assert_eq!(Arc::strong_count(&token), 3);
    engine.set_hooks(Hooks::new()).unwrap();
    assert_eq!(Arc::strong_count(&token), 2, "replaced hooks are dropped");
    drop(engine);
    assert_eq!(Arc::strong_count(&token), 1, "the engine's drop released the provider");
}

#[test]
fn a_dead_storage_is_decided_by_the_failure_mode_and_reported() {
    for (mode, allowed) in [("open", true), ("closed", false)] {
        let config = format!(
            r#"{{"storage": {{"type": "redis", "url": "{}", "connect_timeout_ms": 100, "command_timeout_ms": 100}},
                "failure_mode": "{mode}",
                "rules": [{{"id": "search", "path": "/search", "rate": "3/second"}}]}}"#,
            dead_redis_url()
        );
        let engine = Engine::new(&config).unwrap();
        let errors = Arc::new(Mutex::new(Vec::new()));
        let log = errors.clone();
        engine.set_hooks(Hooks::new().on_error(move |e| log.lock().unwrap().push(e.code()))).unwrap();
        let d = engine.check(&Request::new("GET", "/search").user_id("d")).unwrap();
        assert_eq!((d.allowed(), d.degraded()), (allowed, true), "failure_mode {mode}");
        let errors = errors.lock().unwrap();
        assert!(
            errors.iter().all(|c| matches!(c, ErrorCode::Storage | ErrorCode::Timeout)) && !errors.is_empty(),
            "{errors:?}"
        );
    }
}
