//! Raw, hand-written declarations of limify's C API, `limify/limify.h`, and
//! (in [`plugin`]) of the plugin ABI, `limify/plugin.h`.
//!
//! Nothing here is safe to call without reading the header: the `limify`
//! crate is the safe layer. The declarations are written by hand rather than
//! generated (bindgen needs libclang at build time); `tests/layout.rs` compiles
//! a C program against the installed headers and checks that every struct has
//! the same size and field offsets as here.
//!
//! With the default feature `link`, the build script finds `liblimify.so` with
//! pkg-config (`PKG_CONFIG_PATH=<prefix>/lib/pkgconfig`). A plugin, which must
//! not link the library, depends on this crate with `default-features = false`.
#![no_std]
#![allow(non_camel_case_types)]

pub mod plugin;

use core::ffi::{c_char, c_void};

pub const LIMIFY_VERSION_MAJOR: i32 = 0;
pub const LIMIFY_VERSION_MINOR: i32 = 1;
pub const LIMIFY_VERSION_PATCH: i32 = 0;
pub const LIMIFY_VERSION_NUMBER: i32 = 1000;

pub type limify_status = i32;

pub const LIMIFY_OK: limify_status = 0;
pub const LIMIFY_INVALID_ARGUMENT: limify_status = 1;
pub const LIMIFY_CONFIG_ERROR: limify_status = 2;
pub const LIMIFY_PLUGIN_ERROR: limify_status = 3;
pub const LIMIFY_STORAGE_ERROR: limify_status = 4;
pub const LIMIFY_TIMEOUT: limify_status = 5;
pub const LIMIFY_NOT_FOUND: limify_status = 6;
pub const LIMIFY_INTERNAL: limify_status = 7;
pub const LIMIFY_BUFFER_TOO_SMALL: limify_status = 8;
pub const LIMIFY_FAILED_PRECONDITION: limify_status = 9;

pub const LIMIFY_ERROR_MESSAGE_SIZE: usize = 512;
pub const LIMIFY_ID_MAX: usize = 64;

pub const LIMIFY_UNLIMITED: i64 = -1;
pub const LIMIFY_RETRY_NEVER: i64 = -1;

pub const LIMIFY_HEADERS_X_RATELIMIT: u32 = 0x1;
pub const LIMIFY_HEADERS_RETRY_AFTER: u32 = 0x2;
pub const LIMIFY_HEADERS_IETF: u32 = 0x4;
pub const LIMIFY_HEADERS_DEFAULT: u32 = LIMIFY_HEADERS_X_RATELIMIT | LIMIFY_HEADERS_RETRY_AFTER;

pub const LIMIFY_OPERATION_CHECK: i32 = 0;
pub const LIMIFY_OPERATION_PEEK: i32 = 1;
pub const LIMIFY_OPERATION_CHECK_KEY: i32 = 2;

pub const LIMIFY_STATS_JSON: i32 = 0;
pub const LIMIFY_STATS_PROMETHEUS: i32 = 1;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct limify_error {
    pub code: i32,
    pub message: [c_char; LIMIFY_ERROR_MESSAGE_SIZE],
}

impl limify_error {
    /// A cleared error (the library writes it only on failure).
    pub const fn new() -> Self {
        limify_error { code: LIMIFY_OK, message: [0; LIMIFY_ERROR_MESSAGE_SIZE] }
    }
}

impl Default for limify_error {
    fn default() -> Self {
        Self::new()
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct limify_request {
    pub struct_size: u32,
    pub reserved: u32,
    pub method: *const c_char,
    pub path: *const c_char,
    pub user_id: *const c_char,
    pub org_id: *const c_char,
    pub api_key: *const c_char,
    pub client_ip: *const c_char,
    pub plan: *const c_char,
    pub cost: i64,
}

impl limify_request {
    /// `LIMIFY_REQUEST_INIT`: every string absent, cost 0 (= 1).
    pub const fn new() -> Self {
        let null = core::ptr::null();
        limify_request {
            struct_size: core::mem::size_of::<limify_request>() as u32,
            reserved: 0,
            method: null,
            path: null,
            user_id: null,
            org_id: null,
            api_key: null,
            client_ip: null,
            plan: null,
            cost: 0,
        }
    }
}

impl Default for limify_request {
    fn default() -> Self {
        Self::new()
    }
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct limify_decision {
    pub struct_size: u32,
    pub allowed: i32,
    pub matched: i32,
    pub degraded: i32,
    pub limit: i64,
    pub remaining: i64,
    pub reset_after_us: i64,
    pub retry_after_us: i64,
    pub period_us: i64,
    pub rule_id: [c_char; LIMIFY_ID_MAX + 1],
    pub plan_id: [c_char; LIMIFY_ID_MAX + 1],
}

impl limify_decision {
    /// `LIMIFY_DECISION_INIT`.
    pub const fn new() -> Self {
        limify_decision {
            struct_size: core::mem::size_of::<limify_decision>() as u32,
            allowed: 0,
            matched: 0,
            degraded: 0,
            limit: 0,
            remaining: 0,
            reset_after_us: 0,
            retry_after_us: 0,
            period_us: 0,
            rule_id: [0; LIMIFY_ID_MAX + 1],
            plan_id: [0; LIMIFY_ID_MAX + 1],
        }
    }
}

impl Default for limify_decision {
    fn default() -> Self {
        Self::new()
    }
}

/// Opaque engine handle.
#[repr(C)]
pub struct limify_engine {
    _private: [u8; 0],
}

pub type limify_on_decision_fn = unsafe extern "C" fn(
    ctx: *mut c_void,
    operation: i32,
    request: *const limify_request,
    decision: *const limify_decision,
);
pub type limify_on_error_fn = unsafe extern "C" fn(ctx: *mut c_void, error: *const limify_error);

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct limify_hooks {
    pub struct_size: u32,
    pub reserved: u32,
    pub ctx: *mut c_void,
    pub on_decision: Option<limify_on_decision_fn>,
    pub on_error: Option<limify_on_error_fn>,
}

impl limify_hooks {
    pub const fn new() -> Self {
        limify_hooks {
            struct_size: core::mem::size_of::<limify_hooks>() as u32,
            reserved: 0,
            ctx: core::ptr::null_mut(),
            on_decision: None,
            on_error: None,
        }
    }
}

impl Default for limify_hooks {
    fn default() -> Self {
        Self::new()
    }
}

/// `plan_out` has room for `LIMIFY_ID_MAX + 1` bytes.
pub type limify_plan_provider_fn = unsafe extern "C" fn(
    ctx: *mut c_void,
    request: *const limify_request,
    rule_id: *const c_char,
    plan_out: *mut c_char,
) -> i32;

extern "C" {
    pub fn limify_version() -> *const c_char;
    pub fn limify_version_number() -> i32;
    pub fn limify_status_name(status: limify_status) -> *const c_char;

    pub fn limify_request_init(request: *mut limify_request);
    pub fn limify_decision_init(decision: *mut limify_decision);
    pub fn limify_hooks_init(hooks: *mut limify_hooks);

    pub fn limify_engine_new(
        config_json: *const c_char,
        out: *mut *mut limify_engine,
        err: *mut limify_error,
    ) -> limify_status;
    pub fn limify_engine_new_from_file(
        path: *const c_char,
        out: *mut *mut limify_engine,
        err: *mut limify_error,
    ) -> limify_status;
    pub fn limify_engine_reload(
        engine: *mut limify_engine,
        config_json: *const c_char,
        err: *mut limify_error,
    ) -> limify_status;
    pub fn limify_engine_free(engine: *mut limify_engine);

    pub fn limify_check(
        engine: *mut limify_engine,
        request: *const limify_request,
        decision: *mut limify_decision,
        err: *mut limify_error,
    ) -> limify_status;
    pub fn limify_peek(
        engine: *mut limify_engine,
        request: *const limify_request,
        decision: *mut limify_decision,
        err: *mut limify_error,
    ) -> limify_status;
    pub fn limify_reset(
        engine: *mut limify_engine,
        request: *const limify_request,
        err: *mut limify_error,
    ) -> limify_status;
    pub fn limify_check_batch(
        engine: *mut limify_engine,
        requests: *const *const limify_request,
        n: usize,
        decisions: *const *mut limify_decision,
        statuses: *mut limify_status,
        err: *mut limify_error,
    ) -> limify_status;
    pub fn limify_check_key(
        engine: *mut limify_engine,
        rule_id: *const c_char,
        identity: *const c_char,
        cost: i64,
        decision: *mut limify_decision,
        err: *mut limify_error,
    ) -> limify_status;
    pub fn limify_check_key_batch(
        engine: *mut limify_engine,
        rule_id: *const c_char,
        identities: *const *const c_char,
        n: usize,
        costs: *const i64,
        decisions: *const *mut limify_decision,
        statuses: *mut limify_status,
        err: *mut limify_error,
    ) -> limify_status;
    pub fn limify_reset_key(
        engine: *mut limify_engine,
        rule_id: *const c_char,
        identity: *const c_char,
        err: *mut limify_error,
    ) -> limify_status;

    pub fn limify_format_headers(decision: *const limify_decision, flags: u32, buf: *mut c_char, len: usize) -> usize;

    pub fn limify_set_hooks(
        engine: *mut limify_engine,
        hooks: *const limify_hooks,
        err: *mut limify_error,
    ) -> limify_status;
    pub fn limify_set_plan_provider(
        engine: *mut limify_engine,
        provider: Option<limify_plan_provider_fn>,
        ctx: *mut c_void,
        err: *mut limify_error,
    ) -> limify_status;

    pub fn limify_stats(
        engine: *mut limify_engine,
        format: i32,
        buf: *mut c_char,
        len: usize,
        needed: *mut usize,
        err: *mut limify_error,
    ) -> limify_status;
    pub fn limify_list_plugins(
        config_json: *const c_char,
        buf: *mut c_char,
        len: usize,
        needed: *mut usize,
        err: *mut limify_error,
    ) -> limify_status;

    pub fn limify_clock_set(engine: *mut limify_engine, now_us: i64, err: *mut limify_error) -> limify_status;
    pub fn limify_clock_advance(engine: *mut limify_engine, delta_us: i64, err: *mut limify_error) -> limify_status;
}
