//! The headers and the 429 / 503 responses the middleware writes.

use http::header::{HeaderName, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, Response, StatusCode};

use crate::decision::{Decision, HeaderFlags};

/// The decision's headers (`limify_format_headers`) as a HeaderMap.
pub(crate) fn header_map(decision: &Decision, flags: HeaderFlags) -> HeaderMap {
    let headers = decision.headers(flags);
    let mut map = HeaderMap::with_capacity(4);
    for (name, value) in headers.iter() {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            map.insert(name, value);
        }
    }
    map
}

/// Whole seconds, rounded up, as Retry-After counts them.
fn ceil_seconds(d: std::time::Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// A JSON string literal (ids are [A-Za-z0-9_.-], but never trust that).
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// 429 with the decision's headers, Retry-After (when waiting helps) and
/// `{"detail": "Rate limit exceeded", "rule", "plan", "limit", "remaining",
/// "retry_after": seconds or null}`.
pub(crate) fn too_many_requests<B: From<String>>(decision: &Decision, flags: HeaderFlags) -> Response<B> {
    let retry_after = decision.retry_after().map_or("null".to_string(), |d| ceil_seconds(d).to_string());
    let body = format!(
        r#"{{"detail":"Rate limit exceeded","rule":{},"plan":{},"limit":{},"remaining":{},"retry_after":{}}}"#,
        json_string(decision.rule_id()),
        json_string(decision.plan_id()),
        decision.limit().map_or("null".to_string(), |l| l.to_string()),
        decision.remaining().map_or("null".to_string(), |r| r.to_string()),
        retry_after,
    );
    let mut response = Response::new(B::from(body));
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    *response.headers_mut() = header_map(decision, flags | HeaderFlags::RETRY_AFTER);
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// 503 for an engine error when the policy blocks.
pub(crate) fn unavailable<B: From<String>>() -> Response<B> {
    let mut response = Response::new(B::from(r#"{"detail":"Rate limiter unavailable"}"#.to_string()));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("1"));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
