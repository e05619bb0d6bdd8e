//! `LimifyLayer`: limify as tower middleware (axum, hyper, tonic).
//!
//! Every request is checked before the inner service sees it: allowed ones go
//! through and their responses carry the rate-limit headers; denied ones get
//! 429 with `Retry-After`, the same headers and a JSON body, and never reach
//! the inner service. Headers come from `limify_format_headers`, so they are
//! exactly the C API's.
//!
//! The check runs inline in `call`. On the memory storage that takes well
//! under a microsecond; on a remote storage (Redis, PostgreSQL) it blocks the
//! calling thread for one round trip, bounded by the storage's timeout.

mod ip_net;
mod path;
mod response;

use std::borrow::Cow;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::HeaderName;
use http::request::Parts;
use http::{HeaderMap, Request as HttpRequest, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

pub use ip_net::IpNet;

use crate::decision::HeaderFlags;
use crate::engine::{Engine, FailureMode};
use crate::request::Request;

type Extract = Arc<dyn Fn(&Parts) -> Option<String> + Send + Sync>;
type PeerAddr = Arc<dyn Fn(&Parts) -> Option<IpAddr> + Send + Sync>;

/// Where one identity field of the limify request comes from.
#[derive(Clone)]
enum Source {
    Absent,
    Header(HeaderName),
    With(Extract),
}

impl Source {
    fn get<'p>(&self, parts: &'p Parts) -> Option<Cow<'p, str>> {
        match self {
            Source::Absent => None,
            Source::Header(name) => {
                let value = parts.headers.get(name)?.as_bytes();
                Some(String::from_utf8_lossy(value)).filter(|v| !v.is_empty())
            }
            Source::With(f) => f(parts).map(Cow::Owned),
        }
    }
}

/// What the middleware does when the engine returns an error (not a denial,
/// and not a storage outage: the engine's failure policy turns those into
/// degraded decisions, which pass or get 429 like any other). Never a 500.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ErrorPolicy {
    /// The engine's own `failure_mode` (the default): `open` lets the request
    /// through without rate-limit headers, `closed` answers 503.
    #[default]
    FailureMode,
    /// Let the request through without rate-limit headers.
    Allow,
    /// Answer 503 with `Retry-After: 1` and a JSON body.
    Reject,
}

#[derive(Clone)]
struct Config {
    engine: Arc<Engine>,
    user_id: Source,
    org_id: Source,
    api_key: Source,
    plan: Source,
    peer_addr: PeerAddr,
    trusted_proxies: Vec<IpNet>,
    flags: HeaderFlags,
    on_error: ErrorPolicy,
}

/// A tower `Layer` that rate-limits HTTP requests with a limify engine.
///
/// Defaults: the API key from the `x-api-key` header; no user id, org id or
/// plan (add them with the builder methods); the client address from a
/// `SocketAddr` in the request's extensions (see [`LimifyLayer::peer_addr_with`]),
/// `X-Forwarded-For` ignored unless the peer is a [trusted
/// proxy](LimifyLayer::trusted_proxies); `HeaderFlags::DEFAULT`; engine errors
/// follow the engine's `failure_mode` ([`ErrorPolicy::FailureMode`]). The
/// engine's `on_error` hook sees every error either way.
///
/// ```no_run
/// use std::net::SocketAddr;
/// use std::sync::Arc;
/// use axum::{routing::get, Router};
/// use limify::{Engine, LimifyLayer};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let engine = Arc::new(Engine::from_file("limify.json")?);
/// let app: Router = Router::new().route("/search", get(|| async { "results" })).layer(
///     LimifyLayer::new(engine)
///         .user_id_header("x-user-id".parse()?)
///         // axum::extract::ConnectInfo<SocketAddr> with axum's server:
///         .peer_addr_with(|p| p.extensions.get::<SocketAddr>().map(|a| a.ip()))
///         .trusted_proxies(["10.0.0.0/8".parse()?]),
/// );
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct LimifyLayer {
    config: Arc<Config>,
}

impl LimifyLayer {
    pub fn new(engine: Arc<Engine>) -> LimifyLayer {
        LimifyLayer {
            config: Arc::new(Config {
                engine,
                user_id: Source::Absent,
                org_id: Source::Absent,
                api_key: Source::Header(HeaderName::from_static("x-api-key")),
                plan: Source::Absent,
                peer_addr: Arc::new(|parts: &Parts| parts.extensions.get::<SocketAddr>().map(|a| a.ip())),
                trusted_proxies: Vec::new(),
                flags: HeaderFlags::DEFAULT,
                on_error: ErrorPolicy::FailureMode,
            }),
        }
    }

    fn with(mut self, change: impl FnOnce(&mut Config)) -> LimifyLayer {
        change(Arc::make_mut(&mut self.config));
        self
    }

    /// The user id is the value of this request header.
    pub fn user_id_header(self, name: HeaderName) -> LimifyLayer {
        self.with(|c| c.user_id = Source::Header(name))
    }

    /// The user id is what `f` returns (e.g. from an authentication
    /// extension the request carries).
    pub fn user_id_with(self, f: impl Fn(&Parts) -> Option<String> + Send + Sync + 'static) -> LimifyLayer {
        self.with(|c| c.user_id = Source::With(Arc::new(f)))
    }

    pub fn org_id_header(self, name: HeaderName) -> LimifyLayer {
        self.with(|c| c.org_id = Source::Header(name))
    }

    pub fn org_id_with(self, f: impl Fn(&Parts) -> Option<String> + Send + Sync + 'static) -> LimifyLayer {
        self.with(|c| c.org_id = Source::With(Arc::new(f)))
    }

    /// The API key header (default `x-api-key`).
    pub fn api_key_header(self, name: HeaderName) -> LimifyLayer {
        self.with(|c| c.api_key = Source::Header(name))
    }

    pub fn api_key_with(self, f: impl Fn(&Parts) -> Option<String> + Send + Sync + 'static) -> LimifyLayer {
        self.with(|c| c.api_key = Source::With(Arc::new(f)))
    }

    /// No API key: requests are identified by the other fields only.
    pub fn no_api_key(self) -> LimifyLayer {
        self.with(|c| c.api_key = Source::Absent)
    }

    /// The request's explicit plan is what `f` returns.
    pub fn plan_with(self, f: impl Fn(&Parts) -> Option<String> + Send + Sync + 'static) -> LimifyLayer {
        self.with(|c| c.plan = Source::With(Arc::new(f)))
    }

    /// How to find the address of the connection's other end. With axum:
    /// `.peer_addr_with(|p| p.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()))`
    /// (and `into_make_service_with_connect_info::<SocketAddr>()`).
    pub fn peer_addr_with(self, f: impl Fn(&Parts) -> Option<IpAddr> + Send + Sync + 'static) -> LimifyLayer {
        self.with(|c| c.peer_addr = Arc::new(f))
    }

    /// The proxies whose `X-Forwarded-For` is believed. The client is the
    /// rightmost hop that is not one of them; from any other peer the header
    /// is ignored (anyone can send it).
    pub fn trusted_proxies(self, proxies: impl IntoIterator<Item = IpNet>) -> LimifyLayer {
        self.with(|c| c.trusted_proxies = proxies.into_iter().collect())
    }

    /// Which headers every response carries (`Retry-After` is always added
    /// to a 429 that waiting can help).
    pub fn headers(self, flags: HeaderFlags) -> LimifyLayer {
        self.with(|c| c.flags = flags)
    }

    pub fn on_error(self, policy: ErrorPolicy) -> LimifyLayer {
        self.with(|c| c.on_error = policy)
    }
}

impl<S> Layer<S> for LimifyLayer {
    type Service = Limify<S>;

    fn layer(&self, inner: S) -> Limify<S> {
        Limify { inner, config: self.config.clone() }
    }
}

/// The middleware service `LimifyLayer` wraps around `S`.
#[derive(Clone)]
pub struct Limify<S> {
    inner: S,
    config: Arc<Config>,
}

/// What the check says to do with a request.
enum Outcome<B> {
    /// Call the inner service; add these headers to its response.
    Pass(HeaderMap),
    /// Answer without calling it.
    Respond(Response<B>),
}

impl Config {
    fn lets_errors_through(&self) -> bool {
        match self.on_error {
            ErrorPolicy::FailureMode => self.engine.failure_mode() == FailureMode::Open,
            ErrorPolicy::Allow => true,
            ErrorPolicy::Reject => false,
        }
    }

    fn decide<B: From<String>>(&self, parts: &Parts) -> Outcome<B> {
        let path = path::normalize(parts.uri.path());
        let forwarded = parts.headers.get_all("x-forwarded-for").iter().map(|v| v.as_bytes());
        let client_ip =
            ip_net::client_ip((self.peer_addr)(parts), forwarded, &self.trusted_proxies).map(|ip| ip.to_string());
        let user_id = self.user_id.get(parts);
        let org_id = self.org_id.get(parts);
        let api_key = self.api_key.get(parts);
        let plan = self.plan.get(parts);
        let request = Request {
            method: parts.method.as_str(),
            path: &path,
            user_id: user_id.as_deref().unwrap_or(""),
            org_id: org_id.as_deref().unwrap_or(""),
            api_key: api_key.as_deref().unwrap_or(""),
            client_ip: client_ip.as_deref().unwrap_or(""),
            plan: plan.as_deref().unwrap_or(""),
            cost: 0,
        };
        match self.engine.check(&request) {
            Ok(decision) if decision.allowed() => Outcome::Pass(response::header_map(&decision, self.flags)),
            Ok(decision) => Outcome::Respond(response::too_many_requests(&decision, self.flags)),
            Err(_) if self.lets_errors_through() => Outcome::Pass(HeaderMap::new()),
            Err(_) => Outcome::Respond(response::unavailable()),
        }
    }
}

impl<S, ReqBody, ResBody> Service<HttpRequest<ReqBody>> for Limify<S>
where
    S: Service<HttpRequest<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<String>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequest<ReqBody>) -> Self::Future {
        let (parts, body) = request.into_parts();
        let kind = match self.config.decide(&parts) {
            Outcome::Pass(headers) => {
                Kind::Inner { future: self.inner.call(HttpRequest::from_parts(parts, body)), headers }
            }
            Outcome::Respond(response) => Kind::Ready { response: Some(response) },
        };
        ResponseFuture { kind }
    }
}

pin_project! {
    /// The response of `Limify`: the inner service's, with headers added, or
    /// limify's own 429 / 503.
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner { #[pin] future: F, headers: HeaderMap },
        Ready { response: Option<Response<B>> },
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future, headers } => {
                let mut response = std::task::ready!(future.poll(cx))?;
                for (name, value) in std::mem::take(headers).into_iter() {
                    if let Some(name) = name {
                        response.headers_mut().insert(name, value);
                    }
                }
                Poll::Ready(Ok(response))
            }
            KindProj::Ready { response } => {
                Poll::Ready(Ok(response.take().expect("ResponseFuture polled after completion")))
            }
        }
    }
}
