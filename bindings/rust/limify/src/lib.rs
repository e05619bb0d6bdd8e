//! limify: an embeddable rate-limiting engine, from Rust.
//!
//! A safe layer over the C API of `liblimify.so` (`limify/limify.h`, through
//! the `limify-sys` crate). One [`Engine`] per configuration, shared by every
//! thread; [`Engine::check`] answers "may this request pass?" with a
//! [`Decision`] carrying the numbers a 429 response needs.
//!
//! ```no_run
//! use limify::{Engine, HeaderFlags, Request};
//!
//! let engine = Engine::new(r#"{"rules": [{"id": "search", "path": "/search", "rate": "5/second"}]}"#)?;
//! let decision = engine.check(&Request::new("GET", "/search").user_id("alice"))?;
//! if !decision.allowed() {
//!     println!("429, retry in {:?}", decision.retry_after());
//!     for (name, value) in decision.headers(HeaderFlags::DEFAULT).iter() {
//!         println!("{name}: {value}");
//!     }
//! }
//! # Ok::<(), limify::Error>(())
//! ```
//!
//! With the feature `tower`, [`LimifyLayer`] puts an engine in front of any
//! tower (axum, hyper, tonic) HTTP service.

mod c_strings;
mod callbacks;
mod decision;
mod engine;
mod error;
mod request;

#[cfg(feature = "tower")]
mod layer;

pub use callbacks::{Hooks, Operation};
pub use decision::{Decision, HeaderFlags, Headers};
pub use engine::{Engine, FailureMode, StatsFormat};
pub use error::{Error, ErrorCode, Result};
pub use request::{Request, RequestView};

#[cfg(feature = "tower")]
pub use layer::{ErrorPolicy, IpNet, Limify, LimifyLayer, ResponseFuture};

/// The raw C API, for what the safe layer does not cover.
pub use limify_sys as sys;

/// The version of the library actually loaded, e.g. "0.1.0".
pub fn version() -> &'static str {
    // SAFETY: a static NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(sys::limify_version()) }.to_str().unwrap_or("")
}

/// Describes the plugins a configuration would load (`None`: the default
/// search path), as the JSON array of `limify_list_plugins`:
/// `[{"name", "version", "abi", "file", "algorithms", "storages"}, ...]`.
pub fn list_plugins(config_json: Option<&str>) -> Result<String> {
    engine::list_plugins(config_json)
}
