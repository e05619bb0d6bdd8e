//! LimifyLayer in front of a real axum Router (and a bare tower service),
//! driven with tower::ServiceExt::oneshot: headers on every response, 429
//! with Retry-After and a JSON body, identities, trusted proxies, and the
//! failure mode when the engine fails. Never a 500.
#![cfg(feature = "tower")]

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::routing::get as route_get;
use axum::Router;
use common::{dead_redis_url, manual_config};
use http::{HeaderMap, HeaderName, Request, StatusCode};
use limify::{Engine, ErrorPolicy, HeaderFlags, IpNet, LimifyLayer};
use tower::ServiceExt;

const RULES: &str = r#"[{"id": "search", "path": "/search", "rate": "3/minute"}]"#;

fn engine(extra: &str) -> Arc<Engine> {
    Arc::new(Engine::new(&manual_config(RULES, extra)).unwrap())
}

/// The connection's address, as a server puts it in the request's extensions
/// (axum's own `ConnectInfo` needs its `tokio` feature, which would bring a
/// whole HTTP server into the tests).
#[derive(Clone, Copy)]
struct Peer(SocketAddr);

/// An axum app whose /search and /free count their calls, behind `layer`
/// (told where the peer address is).
fn app(layer: LimifyLayer, calls: &Arc<AtomicUsize>) -> Router {
    let (a, b) = (calls.clone(), calls.clone());
    let search = move || async move {
        a.fetch_add(1, Ordering::Relaxed);
        "results"
    };
    let free = move || async move {
        b.fetch_add(1, Ordering::Relaxed);
        "free"
    };
    Router::new()
        .route("/search", route_get(search))
        .route("/free", route_get(free))
        .layer(layer.peer_addr_with(|p| p.extensions.get::<Peer>().map(|peer| peer.0.ip())))
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
}

/// GET `uri` from `peer`, with extra headers.
fn get_from(app: &Router, uri: &str, peer: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = Request::get(uri).extension(Peer(SocketAddr::new(peer.parse().unwrap(), 40000)));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = block_on(app.clone().oneshot(request.body(Body::empty()).unwrap())).unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = block_on(axum::body::to_bytes(response.into_body(), 1 << 20)).unwrap();
    Reply { status, headers, body: String::from_utf8(bytes.to_vec()).unwrap() }
}

fn get(app: &Router, uri: &str) -> Reply {
    get_from(app, uri, "203.0.113.5", &[])
}

#[test]
fn allowed_responses_carry_the_headers_and_the_fourth_is_a_429() {
    let engine = engine("");
    let calls = Arc::new(AtomicUsize::new(0));
    let app = app(LimifyLayer::new(engine.clone()), &calls);
    for remaining in ["2", "1", "0"] {
        let reply = get(&app, "/search");
        assert_eq!((reply.status, reply.body.as_str()), (StatusCode::OK, "results"));
        assert_eq!(reply.header("x-ratelimit-limit"), Some("3"));
        assert_eq!(reply.header("x-ratelimit-remaining"), Some(remaining));
        assert_eq!(reply.header("retry-after"), None);
    }
    let blocked = get(&app, "/search");
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(blocked.header("retry-after"), Some("20"));
    assert_eq!(blocked.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(blocked.header("content-type"), Some("application/json"));
    assert_eq!(
        blocked.json(),
        serde_json::json!({"detail": "Rate limit exceeded", "rule": "search", "plan": "default",
                           "limit": 3, "remaining": 0, "retry_after": 20})
    );
    assert_eq!(calls.load(Ordering::Relaxed), 3, "a blocked request never reaches the handler");

    // 20 s later (the manual clock) one token is back.
    engine.advance_clock(Duration::from_secs(20)).unwrap();
    assert_eq!(get(&app, "/search").status, StatusCode::OK);
}

#[test]
fn a_request_no_rule_limits_passes_without_headers() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = app(LimifyLayer::new(engine("")), &calls);
    for _ in 0..10 {
        let reply = get(&app, "/free");
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.header("x-ratelimit-limit"), None);
    }
}

#[test]
fn the_ietf_headers_can_be_chosen() {
    let app = app(LimifyLayer::new(engine("")).headers(HeaderFlags::IETF), &Arc::default());
    let reply = get(&app, "/search");
    assert_eq!(reply.header("ratelimit-policy"), Some(r#""search";q=3;w=60"#));
    assert_eq!(reply.header("x-ratelimit-limit"), None);
}

#[test]
fn identities_come_from_headers_and_functions() {
    let layer = LimifyLayer::new(engine(""))
        .user_id_header(HeaderName::from_static("x-user"))
        .org_id_with(|p| p.uri.query().and_then(|q| q.strip_prefix("org=")).map(str::to_string));
    let app = app(layer, &Arc::default());
    let remaining = |headers: &[(&str, &str)], uri: &str| {
        get_from(&app, uri, "198.51.100.1", headers).header("x-ratelimit-remaining").map(str::to_string)
    };
    assert_eq!(remaining(&[("x-user", "ann")], "/search").as_deref(), Some("2"));
    assert_eq!(remaining(&[("x-user", "bob")], "/search").as_deref(), Some("2"), "another user");
    assert_eq!(remaining(&[("x-user", "ann")], "/search?org=acme").as_deref(), Some("1"), "user_id comes first");
    assert_eq!(remaining(&[], "/search?org=acme").as_deref(), Some("2"), "then org_id");
    assert_eq!(remaining(&[("x-api-key", "key-1")], "/search").as_deref(), Some("2"), "then the API key");
    assert_eq!(remaining(&[], "/search").as_deref(), Some("2"), "then the client address");
    assert_eq!(remaining(&[], "/search").as_deref(), Some("1"));
}

#[test]
fn x_forwarded_for_counts_only_from_trusted_proxies() {
    let layer = LimifyLayer::new(engine("")).trusted_proxies(["10.0.0.0/8".parse::<IpNet>().unwrap()]);
    let app = app(layer, &Arc::default());
    let remaining = |peer: &str, xff: &str| {
        get_from(&app, "/search", peer, &[("x-forwarded-for", xff)])
            .header("x-ratelimit-remaining")
            .unwrap()
            .to_string()
    };
    // An untrusted peer forging the header is counted as itself, whatever it claims.
    assert_eq!(remaining("203.0.113.7", "192.0.2.1"), "2");
    assert_eq!(remaining("203.0.113.7", "192.0.2.2"), "1");
    // Behind the trusted proxy, the right-most untrusted hop is the client.
    assert_eq!(remaining("10.0.0.1", "6.6.6.6, 192.0.2.9"), "2");
    assert_eq!(remaining("10.0.0.2", "7.7.7.7, 192.0.2.9, 10.0.0.3"), "1", "same client via another proxy");
    assert_eq!(remaining("10.0.0.1", "192.0.2.1"), "2", "not the forger's bucket: that was 203.0.113.7's");
}

#[test]
fn dot_segments_cannot_slip_past_a_rule() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = app(LimifyLayer::new(engine("")), &calls);
    for _ in 0..3 {
        assert_eq!(get(&app, "/search").status, StatusCode::OK);
    }
    // axum would route "/free/../search" to neither handler, but the limit
    // must see it as /search: the response is limify's 429, not a 404.
    assert_eq!(get(&app, "/free/../search").status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(get(&app, "/%73earch").status, StatusCode::TOO_MANY_REQUESTS);
}

/// A layer whose user id cannot be passed to C (it holds a NUL byte): every
/// check fails with an error, as a broken engine would.
fn failing_layer(engine: Arc<Engine>) -> LimifyLayer {
    LimifyLayer::new(engine).user_id_with(|_| Some("bad\0id".to_string()))
}

#[test]
fn an_engine_error_follows_the_failure_mode() {
    let calls = Arc::new(AtomicUsize::new(0));
    let open = app(failing_layer(engine(r#""failure_mode": "open""#)), &calls);
    let reply = get(&open, "/search");
    assert_eq!((reply.status, reply.body.as_str()), (StatusCode::OK, "results"));
    assert_eq!(reply.header("x-ratelimit-limit"), None);

    let closed = app(failing_layer(engine(r#""failure_mode": "closed""#)), &calls);
    let reply = get(&closed, "/search");
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert_eq!(reply.json(), serde_json::json!({"detail": "Rate limiter unavailable"}));
    assert_eq!(calls.load(Ordering::Relaxed), 1);

    // An explicit policy overrides the engine's.
    let reply = get(&app(failing_layer(engine("")).on_error(ErrorPolicy::Reject), &calls), "/search");
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    let closed_engine = engine(r#""failure_mode": "closed""#);
    let reply = get(&app(failing_layer(closed_engine).on_error(ErrorPolicy::Allow), &calls), "/search");
    assert_eq!(reply.status, StatusCode::OK);
}

#[test]
fn a_dead_storage_never_turns_into_a_500() {
    for (mode, status) in [("open", StatusCode::OK), ("closed", StatusCode::TOO_MANY_REQUESTS)] {
        let config = format!(
            r#"{{"storage": {{"type": "redis", "url": "{}", "connect_timeout_ms": 100, "command_timeout_ms": 100}},
                "failure_mode": "{mode}", "rules": {RULES}}}"#,
            dead_redis_url()
        );
        let app = app(LimifyLayer::new(Arc::new(Engine::new(&config).unwrap())), &Arc::default());
        assert_eq!(get(&app, "/search").status, status, "failure_mode {mode}");
    }
}

#[test]
fn many_threads_through_one_router_never_exceed_the_limit() {
    let engine = Arc::new(
        Engine::new(&manual_config(r#"[{"id": "search", "path": "/search", "rate": "100/hour"}]"#, "")).unwrap(),
    );
    let calls = Arc::new(AtomicUsize::new(0));
    let app = app(LimifyLayer::new(engine), &calls);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let app = app.clone();
            std::thread::spawn(move || (0..30).filter(|_| get(&app, "/search").status == StatusCode::OK).count())
        })
        .collect();
    let ok: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!((ok, calls.load(Ordering::Relaxed)), (100, 100));
}

#[test]
fn any_tower_service_with_a_string_body_can_be_wrapped() {
    // The peer is a SocketAddr extension here: the layer's default.
    use tower::Layer;
    let service = LimifyLayer::new(engine("")).layer(tower::service_fn(|_req: Request<String>| async {
        Ok::<_, std::convert::Infallible>(http::Response::new("inner".to_string()))
    }));
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let request = Request::get("/search").extension(SocketAddr::from(([192, 0, 2, 4], 1))).body(String::new());
        let response = block_on(service.clone().oneshot(request.unwrap())).unwrap();
        statuses.push((response.status().as_u16(), response.headers().contains_key("x-ratelimit-limit")));
    }
    assert_eq!(statuses, [(200, true), (200, true), (200, true), (429, true)]);
}
