//! A limify algorithm plugin written in Rust: `sliding_buckets` (see
//! [`algorithm`]). Built as `liblimify_sliding_buckets.so`, it exports one
//! symbol, `limify_plugin_entry`, and is loaded by configuration:
//!
//! ```json
//! {"plugin_paths": ["/opt/limify/plugins-rs"],
//!  "rules": [{"id": "api", "path": "/api/**", "algorithm": "sliding_buckets", "rate": "100/minute"}]}
//! ```
//!
//! The ABI (`limify/plugin.h`) is plain C: this file only adapts it. Every
//! exported function catches panics (none may unwind into the host) and
//! reports them through the host's `set_error`; a build with
//! `panic = "abort"` aborts instead, as it would anywhere.

pub mod algorithm;

use std::ffi::{c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicPtr, Ordering};

use limify_sys::plugin::*;

use crate::algorithm::{Refusal, STATE_SIZE};

/// The host's services, kept by the entry function (the same host for as
/// long as the plugin is loaded).
static HOST: AtomicPtr<limify_host_api> = AtomicPtr::new(std::ptr::null_mut());

/// Reports an error to the host and returns its code.
fn fail(err: *mut limify_plugin_error, code: i32, message: &CStr) -> i32 {
    // SAFETY: HOST is null or the host API, valid while the plugin is loaded.
    if let Some(set_error) = unsafe { HOST.load(Ordering::Acquire).as_ref() }.and_then(|h| h.set_error) {
        // SAFETY: the host copies the message; err may be NULL (allowed).
        unsafe { set_error(err, code, message.as_ptr()) };
    }
    code
}

fn refuse(err: *mut limify_plugin_error, refusal: Refusal) -> i32 {
    let (code, text) = match refusal {
        Refusal::InvalidArgument(text) => (LIMIFY_PLUGIN_INVALID_ARGUMENT, text),
        Refusal::Internal(text) => (LIMIFY_PLUGIN_INTERNAL, text),
    };
    // The messages are static and free of NUL bytes.
    let message = std::ffi::CString::new(text).unwrap_or_default();
    fail(err, code, &message)
}

/// Runs an exported function's body; a panic becomes LIMIFY_PLUGIN_INTERNAL.
fn guarded(err: *mut limify_plugin_error, body: impl FnOnce() -> Result<(), Refusal>) -> i32 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => LIMIFY_PLUGIN_OK,
        Ok(Err(refusal)) => refuse(err, refusal),
        Err(_) => fail(err, LIMIFY_PLUGIN_INTERNAL, c"sliding_buckets: panicked (a bug in the plugin)"),
    }
}

/// The spec, if the host handed in a whole one.
fn read_spec<'a>(spec: *const limify_limit_spec) -> Result<&'a limify_limit_spec, Refusal> {
    // SAFETY: the host passes a valid spec or NULL; struct_size is checked
    // before any field past it is read.
    match unsafe { spec.as_ref() } {
        Some(s) if s.struct_size as usize >= std::mem::size_of::<limify_limit_spec>() => Ok(s),
        _ => Err(Refusal::Internal("sliding_buckets: limit spec is missing or too short")),
    }
}

unsafe extern "C" fn validate(spec: *const limify_limit_spec, err: *mut limify_plugin_error) -> i32 {
    guarded(err, || algorithm::validate(read_spec(spec)?))
}

unsafe extern "C" fn state_size(_spec: *const limify_limit_spec) -> usize {
    STATE_SIZE
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn step(
    spec: *const limify_limit_spec,
    state: *mut c_void,
    state_size: usize,
    now_us: i64,
    cost: i64,
    peek: c_int,
    out: *mut limify_verdict,
    err: *mut limify_plugin_error,
) -> i32 {
    guarded(err, || {
        let spec = read_spec(spec)?;
        // SAFETY: checked non-NULL and of the declared size; the host writes
        // no byte of `out` past its struct_size, and neither do we.
        let out = unsafe { out.as_mut() }
            .filter(|o| o.struct_size as usize >= std::mem::size_of::<limify_verdict>())
            .ok_or(Refusal::Internal("sliding_buckets: verdict is missing or too short"))?;
        if state.is_null() || state_size != STATE_SIZE {
            return Err(Refusal::Internal("sliding_buckets: state is missing or of the wrong size"));
        }
        // The state may be unaligned: work on a copy (a byte array has no
        // alignment), write it back only if the step changed it.
        let mut bytes = [0u8; STATE_SIZE];
        // SAFETY: state holds STATE_SIZE bytes (checked above).
        unsafe { std::ptr::copy_nonoverlapping(state as *const u8, bytes.as_mut_ptr(), STATE_SIZE) };
        let before = bytes;
        let verdict = algorithm::step(spec, &mut bytes, now_us, cost, peek != 0)?;
        if bytes != before {
            // SAFETY: as above.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), state as *mut u8, STATE_SIZE) };
        }
        *out = limify_verdict { struct_size: out.struct_size, ..verdict };
        Ok(())
    })
}

/// Statics holding raw pointers: immutable, so sharing them is safe.
#[repr(transparent)]
struct Shared<T>(T);
// SAFETY: the wrapped values are never written after initialisation.
unsafe impl<T> Sync for Shared<T> {}

static ALGORITHM: Shared<limify_algorithm> = Shared(limify_algorithm {
    struct_size: std::mem::size_of::<limify_algorithm>() as u32,
    reserved: 0,
    name: c"sliding_buckets".as_ptr(),
    validate: Some(validate),
    state_size: Some(state_size),
    step: Some(step),
});
static ALGORITHMS: Shared<[*const limify_algorithm; 1]> = Shared([&ALGORITHM.0]);
static MANIFEST: Shared<limify_plugin_manifest> = Shared(limify_plugin_manifest {
    magic: LIMIFY_PLUGIN_MAGIC,
    abi_major: LIMIFY_PLUGIN_ABI_MAJOR,
    abi_minor: LIMIFY_PLUGIN_ABI_MINOR,
    struct_size: std::mem::size_of::<limify_plugin_manifest>() as u32,
    reserved: 0,
    name: c"sliding_buckets".as_ptr(),
    version: VERSION.as_ptr(),
    n_algorithms: 1,
    algorithms: ALGORITHMS.0.as_ptr(),
    n_storages: 0,
    storages: std::ptr::null(),
});
const VERSION: &CStr = match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
    Ok(v) => v,
    Err(_) => panic!("the crate version holds a NUL"),
};

/// The one exported symbol. Returns the manifest, or NULL (refusing to
/// load) for a host of another ABI major version.
///
/// # Safety
/// `host` is NULL or points at a `limify_host_api` that stays valid while the
/// plugin is loaded, as plugin.h promises.
#[no_mangle]
pub unsafe extern "C" fn limify_plugin_entry(host: *const limify_host_api) -> *const limify_plugin_manifest {
    catch_unwind(|| {
        // SAFETY: see the function's contract.
        let accepted = unsafe { host.as_ref() }.is_some_and(|h| {
            h.struct_size as usize >= std::mem::size_of::<limify_host_api>()
                && h.abi_major == LIMIFY_PLUGIN_ABI_MAJOR
                && h.set_error.is_some()
        });
        if !accepted {
            return std::ptr::null();
        }
        HOST.store(host as *mut limify_host_api, Ordering::Release);
        &MANIFEST.0 as *const limify_plugin_manifest
    })
    .unwrap_or(std::ptr::null())
}

// The entry has exactly the type plugin.h declares.
const _: limify_plugin_entry_fn = limify_plugin_entry;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// What a host's set_error received (the tests' host is this process).
    static ERRORS: Mutex<Vec<(i32, String)>> = Mutex::new(Vec::new());

    unsafe extern "C" fn record_error(_err: *mut limify_plugin_error, code: i32, message: *const std::ffi::c_char) {
        // SAFETY: the plugin passes a NUL-terminated message.
        let text = unsafe { CStr::from_ptr(message) }.to_string_lossy().into_owned();
        ERRORS.lock().unwrap().push((code, text));
    }

    fn host(abi_major: u16) -> limify_host_api {
        limify_host_api {
            struct_size: std::mem::size_of::<limify_host_api>() as u32,
            abi_major,
            abi_minor: 0,
            set_error: Some(record_error),
        }
    }

    fn spec(limit: i64, burst: i64) -> limify_limit_spec {
        limify_limit_spec {
            struct_size: std::mem::size_of::<limify_limit_spec>() as u32,
            limit,
            period_us: 1_000_000,
            burst,
            ..Default::default()
        }
    }

    // One test: the entry keeps the host in a process-wide static.
    #[test]
    fn the_exported_functions_speak_the_c_abi_and_never_unwind() {
        // A host of another major version is refused; so is none.
        assert!(unsafe { limify_plugin_entry(&host(LIMIFY_PLUGIN_ABI_MAJOR + 1)) }.is_null());
        assert!(unsafe { limify_plugin_entry(std::ptr::null()) }.is_null());

        let good: &'static limify_host_api = Box::leak(Box::new(host(LIMIFY_PLUGIN_ABI_MAJOR)));
        let manifest = unsafe { &*limify_plugin_entry(good) };
        assert_eq!((manifest.magic, manifest.n_algorithms, manifest.n_storages), (LIMIFY_PLUGIN_MAGIC, 1, 0));
        let algorithm = unsafe { &**manifest.algorithms };
        assert_eq!(unsafe { CStr::from_ptr(algorithm.name) }, c"sliding_buckets");

        // validate reports a refusal through set_error.
        let validate = algorithm.validate.unwrap();
        assert_eq!(unsafe { validate(&spec(5, 0), std::ptr::null_mut()) }, LIMIFY_PLUGIN_OK);
        assert_eq!(unsafe { validate(&spec(5, 9), std::ptr::null_mut()) }, LIMIFY_PLUGIN_INVALID_ARGUMENT);
        assert_eq!(unsafe { validate(std::ptr::null(), std::ptr::null_mut()) }, LIMIFY_PLUGIN_INTERNAL);

        // step on an unaligned state, through the function pointer.
        let step = algorithm.step.unwrap();
        let size = unsafe { algorithm.state_size.unwrap()(&spec(2, 0)) };
        let mut buffer = vec![0u8; size + 1];
        let state = buffer[1..].as_mut_ptr() as *mut c_void;
        let mut out =
            limify_verdict { struct_size: std::mem::size_of::<limify_verdict>() as u32, ..Default::default() };
        for expected in [1, 1, 0] {
            let code = unsafe { step(&spec(2, 0), state, size, 0, 1, 0, &mut out, std::ptr::null_mut()) };
            assert_eq!((code, out.allowed), (LIMIFY_PLUGIN_OK, expected));
        }
        assert_eq!(out.retry_after_us, 1_000_000);
        let code = unsafe { step(&spec(2, 0), state, size - 1, 0, 1, 0, &mut out, std::ptr::null_mut()) };
        assert_eq!(code, LIMIFY_PLUGIN_INTERNAL);

        // A panic inside becomes an error code and a message, not an unwind into C.
        assert_eq!(guarded(std::ptr::null_mut(), || panic!("boom")), LIMIFY_PLUGIN_INTERNAL);

        let errors = ERRORS.lock().unwrap();
        let messages: Vec<&str> = errors.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(
            messages,
            [
                "sliding_buckets: burst is not used (the limit is the most a window holds)",
                "sliding_buckets: limit spec is missing or too short",
                "sliding_buckets: state is missing or of the wrong size",
                "sliding_buckets: panicked (a bug in the plugin)",
            ]
        );
        assert_eq!(errors.iter().map(|(c, _)| *c).collect::<Vec<_>>(), [1, 7, 7, 7]);
    }
}
