//! A request to decide, and the read-only view of one that hooks and plan
//! providers receive.

use std::ffi::{c_char, CStr};

use limify_sys as sys;

use crate::c_strings::with_c_strings;
use crate::error::{Error, ErrorCode, Result};

/// One request, borrowed for the duration of a call. An empty string means
/// "absent" for every field, as in the C API.
///
/// ```
/// let request = limify::Request::new("GET", "/items/42").user_id("42");
/// assert_eq!(request.cost, 0); // 0 counts as 1
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Request<'a> {
    /// "GET"; rules match it case-insensitively.
    pub method: &'a str,
    /// "/items/42": matched as raw text, so normalise it first ("." and ".."
    /// segments, percent-decoding); the tower layer does.
    pub path: &'a str,
    pub user_id: &'a str,
    pub org_id: &'a str,
    pub api_key: &'a str,
    pub client_ip: &'a str,
    /// An explicit plan wins over every other source.
    pub plan: &'a str,
    /// What the request costs; 0 counts as 1.
    pub cost: u64,
}

impl<'a> Request<'a> {
    pub fn new(method: &'a str, path: &'a str) -> Self {
        Request { method, path, ..Request::default() }
    }

    pub fn user_id(self, user_id: &'a str) -> Self {
        Request { user_id, ..self }
    }

    pub fn org_id(self, org_id: &'a str) -> Self {
        Request { org_id, ..self }
    }

    pub fn api_key(self, api_key: &'a str) -> Self {
        Request { api_key, ..self }
    }

    pub fn client_ip(self, client_ip: &'a str) -> Self {
        Request { client_ip, ..self }
    }

    pub fn plan(self, plan: &'a str) -> Self {
        Request { plan, ..self }
    }

    pub fn cost(self, cost: u64) -> Self {
        Request { cost, ..self }
    }

    /// Calls `f` with the C form of this request (strings copied and
    /// NUL-terminated for the duration of `f`).
    pub(crate) fn with_raw<R>(&self, f: impl FnOnce(&sys::limify_request) -> R) -> Result<R> {
        let cost = c_cost(self.cost, "request.cost")?;
        with_c_strings(
            [self.method, self.path, self.user_id, self.org_id, self.api_key, self.client_ip, self.plan],
            FIELD_NAMES,
            |[method, path, user_id, org_id, api_key, client_ip, plan]| {
                let raw = sys::limify_request {
                    method,
                    path,
                    user_id,
                    org_id,
                    api_key,
                    client_ip,
                    plan,
                    cost,
                    ..sys::limify_request::new()
                };
                f(&raw)
            },
        )
    }

    /// The strings of this request, in the order of the C struct's fields.
    pub(crate) fn strings(&self) -> [&'a str; 7] {
        [self.method, self.path, self.user_id, self.org_id, self.api_key, self.client_ip, self.plan]
    }
}

pub(crate) const FIELD_NAMES: [&str; 7] = [
    "request.method",
    "request.path",
    "request.user_id",
    "request.org_id",
    "request.api_key",
    "request.client_ip",
    "request.plan",
];

/// A cost as the C API's int64, refusing what does not fit.
pub(crate) fn c_cost(cost: u64, what: &str) -> Result<i64> {
    i64::try_from(cost)
        .map_err(|_| Error::new(ErrorCode::InvalidArgument, format!("{what}: {cost} is larger than {}", i64::MAX)))
}

/// The request a hook or a plan provider is called for: the host's own
/// request, as the engine passed it on.
#[derive(Clone, Copy)]
pub struct RequestView<'a> {
    raw: &'a sys::limify_request,
}

impl<'a> RequestView<'a> {
    pub(crate) fn new(raw: &'a sys::limify_request) -> Self {
        RequestView { raw }
    }

    fn text(p: *const c_char) -> &'a str {
        if p.is_null() {
            return "";
        }
        // SAFETY: the engine passes NUL-terminated strings valid for the call.
        unsafe { CStr::from_ptr(p) }.to_str().unwrap_or("")
    }

    pub fn method(&self) -> &'a str {
        Self::text(self.raw.method)
    }
    pub fn path(&self) -> &'a str {
        Self::text(self.raw.path)
    }
    pub fn user_id(&self) -> &'a str {
        Self::text(self.raw.user_id)
    }
    pub fn org_id(&self) -> &'a str {
        Self::text(self.raw.org_id)
    }
    pub fn api_key(&self) -> &'a str {
        Self::text(self.raw.api_key)
    }
    pub fn client_ip(&self) -> &'a str {
        Self::text(self.raw.client_ip)
    }
    pub fn plan(&self) -> &'a str {
        Self::text(self.raw.plan)
    }
    pub fn cost(&self) -> u64 {
        self.raw.cost.max(0) as u64
    }
}

impl std::fmt::Debug for RequestView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestView")
            .field("method", &self.method())
            .field("path", &self.path())
            .field("user_id", &self.user_id())
            .field("org_id", &self.org_id())
            .field("api_key", &self.api_key())
            .field("client_ip", &self.client_ip())
            .field("plan", &self.plan())
            .field("cost", &self.cost())
            .finish()
    }
}
