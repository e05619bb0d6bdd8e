//! The answer to one request, and the HTTP response headers it implies.

use std::ffi::{c_char, CStr};
use std::fmt;
use std::ops::BitOr;
use std::time::Duration;

use limify_sys as sys;

/// The answer to one request: whether it may pass, and the numbers a 429
/// response needs. A thin wrapper over the C API's `limify_decision`.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct Decision {
    raw: sys::limify_decision,
}

fn duration_us(us: i64) -> Duration {
    Duration::from_micros(us.max(0) as u64)
}

fn id_text(id: &[c_char; sys::LIMIFY_ID_MAX + 1]) -> &str {
    // SAFETY: the library NUL-terminates ids within the array (and the
    // initialiser zeroes it).
    unsafe { CStr::from_ptr(id.as_ptr()) }.to_str().unwrap_or("")
}

impl Decision {
    pub(crate) fn empty() -> Decision {
        Decision { raw: sys::limify_decision::new() }
    }

    /// The decision a hook receives, borrowed.
    pub(crate) fn from_raw_ref(raw: &sys::limify_decision) -> &Decision {
        // SAFETY: Decision is repr(transparent) over limify_decision.
        unsafe { &*(raw as *const sys::limify_decision as *const Decision) }
    }

    pub(crate) fn raw_mut(&mut self) -> &mut sys::limify_decision {
        &mut self.raw
    }

    /// The C struct, for code that talks to limify.h directly.
    pub fn as_raw(&self) -> &sys::limify_decision {
        &self.raw
    }

    /// True: let the request through. False: answer 429.
    pub fn allowed(&self) -> bool {
        self.raw.allowed != 0
    }

    /// True when a rule (or the default rule) applied; an unmatched request
    /// is not limited and has no headers.
    pub fn matched(&self) -> bool {
        self.raw.matched != 0
    }

    /// True when the failure policy decided without the storage (it was
    /// unreachable or too slow).
    pub fn degraded(&self) -> bool {
        self.raw.degraded != 0
    }

    /// The binding limit's capacity; `None` when no rule matched (unlimited).
    pub fn limit(&self) -> Option<u64> {
        (self.raw.limit != sys::LIMIFY_UNLIMITED).then(|| self.raw.limit.max(0) as u64)
    }

    /// Whole requests left under the binding limit; `None` when unlimited.
    pub fn remaining(&self) -> Option<u64> {
        (self.raw.remaining != sys::LIMIFY_UNLIMITED).then(|| self.raw.remaining.max(0) as u64)
    }

    /// Until every limit of the rule is back to full.
    pub fn reset_after(&self) -> Duration {
        duration_us(self.raw.reset_after_us)
    }

    /// Until a request of the same cost would pass: zero when allowed, `None`
    /// when waiting can never help (the cost exceeds the limit).
    pub fn retry_after(&self) -> Option<Duration> {
        (self.raw.retry_after_us != sys::LIMIFY_RETRY_NEVER).then(|| duration_us(self.raw.retry_after_us))
    }

    /// The window of the binding limit (zero when unmatched).
    pub fn period(&self) -> Duration {
        duration_us(self.raw.period_us)
    }

    /// The rule that applied; "" when none.
    pub fn rule_id(&self) -> &str {
        id_text(&self.raw.rule_id)
    }

    /// The plan the request was decided under ("default" for the rule's own rate).
    pub fn plan_id(&self) -> &str {
        id_text(&self.raw.plan_id)
    }

    /// The HTTP response headers for this decision, as `limify_format_headers`
    /// writes them (none when no rule matched).
    pub fn headers(&self, flags: HeaderFlags) -> Headers {
        let mut buf = [0 as c_char; 512];
        // SAFETY: valid decision; buf of the stated length.
        let len = unsafe { sys::limify_format_headers(&self.raw, flags.0, buf.as_mut_ptr(), buf.len()) };
        let text = if len < buf.len() {
            // SAFETY: the first `len` bytes were written.
            unsafe { std::slice::from_raw_parts(buf.as_ptr() as *const u8, len) }.to_vec()
        } else {
            let mut big = vec![0u8; len + 1];
            // SAFETY: big holds len + 1 bytes.
            let written =
                unsafe { sys::limify_format_headers(&self.raw, flags.0, big.as_mut_ptr() as *mut c_char, big.len()) };
            big.truncate(written.min(len));
            big
        };
        Headers { text: String::from_utf8_lossy(&text).into_owned() }
    }
}

impl fmt::Debug for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decision")
            .field("allowed", &self.allowed())
            .field("matched", &self.matched())
            .field("degraded", &self.degraded())
            .field("limit", &self.limit())
            .field("remaining", &self.remaining())
            .field("reset_after", &self.reset_after())
            .field("retry_after", &self.retry_after())
            .field("period", &self.period())
            .field("rule_id", &self.rule_id())
            .field("plan_id", &self.plan_id())
            .finish()
    }
}

/// Which response headers to write (`LIMIFY_HEADERS_*`); combine with `|`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HeaderFlags(u32);

impl HeaderFlags {
    /// X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset.
    pub const X_RATELIMIT: HeaderFlags = HeaderFlags(sys::LIMIFY_HEADERS_X_RATELIMIT);
    /// Retry-After, on a denied decision that waiting can help.
    pub const RETRY_AFTER: HeaderFlags = HeaderFlags(sys::LIMIFY_HEADERS_RETRY_AFTER);
    /// The IETF draft's RateLimit and RateLimit-Policy fields.
    pub const IETF: HeaderFlags = HeaderFlags(sys::LIMIFY_HEADERS_IETF);
    /// X_RATELIMIT | RETRY_AFTER.
    pub const DEFAULT: HeaderFlags = HeaderFlags(sys::LIMIFY_HEADERS_DEFAULT);

    pub fn bits(self) -> u32 {
        self.0
    }

    pub fn contains(self, other: HeaderFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl Default for HeaderFlags {
    fn default() -> Self {
        HeaderFlags::DEFAULT
    }
}

impl BitOr for HeaderFlags {
    type Output = HeaderFlags;
    fn bitor(self, other: HeaderFlags) -> HeaderFlags {
        HeaderFlags(self.0 | other.0)
    }
}

/// Response headers: the `Name: value\r\n` text, and its (name, value) pairs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    text: String,
}

impl Headers {
    /// "X-RateLimit-Limit: 5\r\nX-RateLimit-Remaining: 4\r\n..."
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// ("X-RateLimit-Limit", "5"), ...
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.text.split("\r\n").filter_map(|line| line.split_once(": "))
    }

    /// The value of the header `name` (case-insensitive), if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }
}
