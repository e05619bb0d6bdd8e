//! The hand-written declarations match the installed C headers: compiles
//! tests/layout.c against them with the system C compiler, runs it, and
//! compares every struct size, field offset and constant it prints with what
//! Rust computes for limify-sys's declarations.

use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};
use std::path::PathBuf;
use std::process::Command;

use limify_sys::plugin::*;
use limify_sys::*;

fn c_layout() -> BTreeMap<String, i64> {
    let include_dirs = env!("LIMIFY_SYS_INCLUDE_DIRS");
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let exe = out_dir.join("limify_layout");
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/layout.c");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let mut compile = Command::new(&cc);
    compile.args(["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-o"]).arg(&exe);
    for dir in include_dirs.split(':').filter(|d| !d.is_empty()) {
        compile.arg(format!("-I{dir}"));
    }
    let status = compile.arg(&source).status().unwrap_or_else(|e| panic!("running {cc}: {e}"));
    assert!(status.success(), "{cc} could not compile {}", source.display());
    let output = Command::new(&exe).output().expect("running the layout program");
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let mut words = line.split(' ');
            let (kind, name, value) = (words.next().unwrap(), words.next().unwrap(), words.next().unwrap());
            (format!("{kind} {name}"), value.parse().unwrap())
        })
        .collect()
}

fn rust_layout() -> BTreeMap<String, i64> {
    let mut m = BTreeMap::new();
    macro_rules! size {
        ($t:ident) => {
            m.insert(format!("size {}", stringify!($t)), size_of::<$t>() as i64);
        };
    }
    macro_rules! fields {
        ($t:ident: $($f:ident),+) => {
            size!($t);
            $(m.insert(format!("offset {}.{}", stringify!($t), stringify!($f)), offset_of!($t, $f) as i64);)+
        };
    }
    macro_rules! consts {
        ($($c:ident),+) => { $(m.insert(format!("const {}", stringify!($c)), $c as i64);)+ };
    }
    fields!(limify_error: code, message);
    fields!(limify_request: struct_size, reserved, method, path, user_id, org_id, api_key, client_ip, plan, cost);
    fields!(limify_decision: struct_size, allowed, matched, degraded, limit, remaining, reset_after_us,
            retry_after_us, period_us, rule_id, plan_id);
    fields!(limify_hooks: struct_size, reserved, ctx, on_decision, on_error);
    fields!(limify_host_api: struct_size, abi_major, abi_minor, set_error);
    fields!(limify_limit_spec: struct_size, reserved, limit, period_us, burst);
    fields!(limify_verdict: struct_size, allowed, limit, remaining, reset_after_us, retry_after_us,
            binding_limit, reserved2);
    fields!(limify_algorithm: struct_size, reserved, name, validate, state_size, step);
    fields!(limify_key: data, size);
    fields!(limify_storage_env: struct_size, reserved, now_us, clock_ctx);
    fields!(limify_storage_op: struct_size, mode, n_keys, keys, state_sizes, algorithm, specs, cost,
            apply, apply_ctx);
    fields!(limify_storage: struct_size, flags, name, create, destroy, execute, remove, key_count, execute_batch);
    fields!(limify_plugin_manifest: magic, abi_major, abi_minor, struct_size, reserved, name, version,
            n_algorithms, algorithms, n_storages, storages);
    m.insert("size limify_plugin_code".into(), size_of::<i32>() as i64);
    consts!(
        LIMIFY_VERSION_NUMBER,
        LIMIFY_OK,
        LIMIFY_INVALID_ARGUMENT,
        LIMIFY_CONFIG_ERROR,
        LIMIFY_PLUGIN_ERROR,
        LIMIFY_STORAGE_ERROR,
        LIMIFY_TIMEOUT,
        LIMIFY_NOT_FOUND,
        LIMIFY_INTERNAL,
        LIMIFY_BUFFER_TOO_SMALL,
        LIMIFY_FAILED_PRECONDITION,
        LIMIFY_ERROR_MESSAGE_SIZE,
        LIMIFY_ID_MAX,
        LIMIFY_UNLIMITED,
        LIMIFY_RETRY_NEVER,
        LIMIFY_HEADERS_X_RATELIMIT,
        LIMIFY_HEADERS_RETRY_AFTER,
        LIMIFY_HEADERS_IETF,
        LIMIFY_HEADERS_DEFAULT,
        LIMIFY_OPERATION_CHECK,
        LIMIFY_OPERATION_PEEK,
        LIMIFY_OPERATION_CHECK_KEY,
        LIMIFY_STATS_JSON,
        LIMIFY_STATS_PROMETHEUS,
        LIMIFY_PLUGIN_MAGIC,
        LIMIFY_PLUGIN_ABI_MAJOR,
        LIMIFY_PLUGIN_ABI_MINOR,
        LIMIFY_PLUGIN_OK,
        LIMIFY_PLUGIN_INVALID_ARGUMENT,
        LIMIFY_PLUGIN_UNAVAILABLE,
        LIMIFY_PLUGIN_TIMEOUT,
        LIMIFY_PLUGIN_INTERNAL,
        LIMIFY_MODE_CHECK,
        LIMIFY_MODE_PEEK,
        LIMIFY_STORAGE_USES_HOST_CLOCK
    );
    m
}

#[test]
fn structs_and_constants_match_the_installed_headers() {
    let c = c_layout();
    let rust = rust_layout();
    assert!(c.len() > 100, "the C program printed only {} entries", c.len());
    let mismatches: Vec<String> = c
        .iter()
        .filter(|(k, v)| rust.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}: C says {v}, Rust says {:?}", rust.get(k)))
        .chain(rust.keys().filter(|k| !c.contains_key(*k)).map(|k| format!("{k}: not printed by C")))
        .collect();
    assert!(mismatches.is_empty(), "layout mismatches:\n{}", mismatches.join("\n"));
}

#[test]
fn the_loaded_library_is_the_version_declared() {
    // SAFETY: static NUL-terminated string and a plain integer.
    let (text, number) =
        unsafe { (std::ffi::CStr::from_ptr(limify_version()).to_str().unwrap(), limify_version_number()) };
    assert_eq!(number, LIMIFY_VERSION_NUMBER);
    assert_eq!(text, format!("{LIMIFY_VERSION_MAJOR}.{LIMIFY_VERSION_MINOR}.{LIMIFY_VERSION_PATCH}"));
}

#[test]
fn init_functions_agree_with_the_const_initialisers() {
    let mut request = limify_request { cost: 7, ..limify_request::new() };
    let mut decision = limify_decision { allowed: 1, ..limify_decision::new() };
    let mut hooks = limify_hooks { reserved: 3, ..limify_hooks::new() };
    // SAFETY: valid pointers to structs of the declared sizes.
    unsafe {
        limify_request_init(&mut request);
        limify_decision_init(&mut decision);
        limify_hooks_init(&mut hooks);
    }
    assert_eq!((request.struct_size as usize, request.cost), (size_of::<limify_request>(), 0));
    assert_eq!((decision.struct_size as usize, decision.allowed), (size_of::<limify_decision>(), 0));
    assert_eq!((hooks.struct_size as usize, hooks.reserved), (size_of::<limify_hooks>(), 0));
}
