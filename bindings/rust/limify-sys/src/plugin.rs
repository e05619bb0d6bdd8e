//! The plugin ABI, `limify/plugin.h`: what a plugin written in Rust exports
//! (one `limify_plugin_entry` returning a [`limify_plugin_manifest`]) and the
//! host services it receives. Needs no symbol of liblimify.
#![allow(non_camel_case_types)]

use core::ffi::{c_char, c_int, c_void};

/// "LMFY".
pub const LIMIFY_PLUGIN_MAGIC: u32 = 0x4C4D_4659;
pub const LIMIFY_PLUGIN_ABI_MAJOR: u16 = 1;
pub const LIMIFY_PLUGIN_ABI_MINOR: u16 = 2;
pub const LIMIFY_PLUGIN_ENTRY_SYMBOL: &str = "limify_plugin_entry";

/// `limify_plugin_code` values (a C enum; every function returns `int32_t`).
pub const LIMIFY_PLUGIN_OK: i32 = 0;
pub const LIMIFY_PLUGIN_INVALID_ARGUMENT: i32 = 1;
pub const LIMIFY_PLUGIN_UNAVAILABLE: i32 = 4;
pub const LIMIFY_PLUGIN_TIMEOUT: i32 = 5;
pub const LIMIFY_PLUGIN_INTERNAL: i32 = 7;

/// Same macro as limify.h's.
pub use crate::LIMIFY_RETRY_NEVER;

/// Opaque error sink owned by the host.
#[repr(C)]
pub struct limify_plugin_error {
    _private: [u8; 0],
}

pub type limify_set_error_fn = unsafe extern "C" fn(err: *mut limify_plugin_error, code: i32, message: *const c_char);

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct limify_host_api {
    pub struct_size: u32,
    pub abi_major: u16,
    pub abi_minor: u16,
    pub set_error: Option<limify_set_error_fn>,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct limify_limit_spec {
    pub struct_size: u32,
    pub reserved: u32,
    pub limit: i64,
    pub period_us: i64,
    pub burst: i64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct limify_verdict {
    pub struct_size: u32,
    pub allowed: u32,
    pub limit: i64,
    pub remaining: i64,
    pub reset_after_us: i64,
    pub retry_after_us: i64,
    pub binding_limit: u32,
    pub reserved2: u32,
}

pub type limify_validate_fn =
    unsafe extern "C" fn(spec: *const limify_limit_spec, err: *mut limify_plugin_error) -> i32;
pub type limify_state_size_fn = unsafe extern "C" fn(spec: *const limify_limit_spec) -> usize;
pub type limify_step_fn = unsafe extern "C" fn(
    spec: *const limify_limit_spec,
    state: *mut c_void,
    state_size: usize,
    now_us: i64,
    cost: i64,
    peek: c_int,
    out: *mut limify_verdict,
    err: *mut limify_plugin_error,
) -> i32;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct limify_algorithm {
    pub struct_size: u32,
    pub reserved: u32,
    pub name: *const c_char,
    pub validate: Option<limify_validate_fn>,
    pub state_size: Option<limify_state_size_fn>,
    pub step: Option<limify_step_fn>,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct limify_key {
    pub data: *const c_char,
    pub size: usize,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct limify_storage_env {
    pub struct_size: u32,
    pub reserved: u32,
    pub now_us: Option<unsafe extern "C" fn(clock_ctx: *mut c_void) -> i64>,
    pub clock_ctx: *mut c_void,
}

pub const LIMIFY_MODE_CHECK: u32 = 0;
pub const LIMIFY_MODE_PEEK: u32 = 1;

pub type limify_apply_fn = unsafe extern "C" fn(
    apply_ctx: *mut c_void,
    states: *const *mut c_void,
    now_us: i64,
    write_back: *mut c_int,
    ttl_us: *mut i64,
    out: *mut limify_verdict,
    err: *mut limify_plugin_error,
) -> i32;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct limify_storage_op {
    pub struct_size: u32,
    pub mode: u32,
    pub n_keys: usize,
    pub keys: *const limify_key,
    pub state_sizes: *const usize,
    pub algorithm: *const c_char,
    pub specs: *const limify_limit_spec,
    pub cost: i64,
    pub apply: Option<limify_apply_fn>,
    pub apply_ctx: *mut c_void,
}

pub const LIMIFY_STORAGE_USES_HOST_CLOCK: u32 = 0x1;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct limify_storage {
    pub struct_size: u32,
    pub flags: u32,
    pub name: *const c_char,
    pub create: Option<
        unsafe extern "C" fn(
            options_json: *const c_char,
            env: *const limify_storage_env,
            out_instance: *mut *mut c_void,
            err: *mut limify_plugin_error,
        ) -> i32,
    >,
    pub destroy: Option<unsafe extern "C" fn(instance: *mut c_void)>,
    pub execute: Option<
        unsafe extern "C" fn(
            instance: *mut c_void,
            op: *const limify_storage_op,
            out: *mut limify_verdict,
            err: *mut limify_plugin_error,
        ) -> i32,
    >,
    pub remove: Option<
        unsafe extern "C" fn(
            instance: *mut c_void,
            keys: *const limify_key,
            n_keys: usize,
            err: *mut limify_plugin_error,
        ) -> i32,
    >,
    /// ABI 1.1.
    pub key_count:
        Option<unsafe extern "C" fn(instance: *mut c_void, out_count: *mut i64, err: *mut limify_plugin_error) -> i32>,
    /// ABI 1.2.
    pub execute_batch: Option<
        unsafe extern "C" fn(
            instance: *mut c_void,
            ops: *const *const limify_storage_op,
            n_ops: usize,
            outs: *const *mut limify_verdict,
            codes: *mut i32,
            errs: *const *mut limify_plugin_error,
            err: *mut limify_plugin_error,
        ) -> i32,
    >,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct limify_plugin_manifest {
    pub magic: u32,
    pub abi_major: u16,
    pub abi_minor: u16,
    pub struct_size: u32,
    pub reserved: u32,
    pub name: *const c_char,
    pub version: *const c_char,
    pub n_algorithms: usize,
    pub algorithms: *const *const limify_algorithm,
    pub n_storages: usize,
    pub storages: *const *const limify_storage,
}

pub type limify_plugin_entry_fn = unsafe extern "C" fn(host: *const limify_host_api) -> *const limify_plugin_manifest;
