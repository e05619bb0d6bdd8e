//! What the integration tests share: configurations on the manual clock, and
//! a throwaway redis-server started by the project's scripts/redis-local.
#![allow(dead_code)] // each test binary uses part of it

use std::path::{Path, PathBuf};
use std::process::Command;

/// A memory-storage configuration on the manual clock (which starts at 0)
/// with `rules` (a JSON array) and any extra top-level `"key": value` pairs.
pub fn manual_config(rules: &str, extra: &str) -> String {
    let extra = if extra.is_empty() { String::new() } else { format!(", {extra}") };
    format!(r#"{{"storage": {{"type": "memory"}}, "clock": "manual", "rules": {rules}{extra}}}"#)
}

/// "search": 3/second (token bucket); "items": 2/minute (fixed window) with a
/// "pro" plan of 5/minute.
pub const RULES: &str = r#"[
  {"id": "search", "path": "/search", "rate": "3/second"},
  {"id": "items", "path": "/items/**", "algorithm": "fixed_window", "rate": "2/minute",
   "plans": {"pro": "5/minute"}}
]"#;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..").canonicalize().expect("the repository root")
}

/// A redis-server on a free loopback port, stopped (by the PID its script
/// recorded) when dropped.
pub struct RedisServer {
    dir: tempdir::TempDir,
    pub url: String,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        let dir = tempdir::TempDir::new("limify-rust-redis");
        let script = repo_root().join("scripts/redis-local");
        let output = Command::new(&script)
            .arg("server")
            .arg(dir.path())
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
        assert!(
            output.status.success(),
            "scripts/redis-local server failed (is redis-server installed? scripts/setup installs it): {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let url = String::from_utf8(output.stdout).unwrap().trim().to_string();
        assert!(url.starts_with("redis://127.0.0.1:"), "unexpected URL {url:?}");
        RedisServer { dir, url }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = Command::new(repo_root().join("scripts/redis-local")).arg("stop").arg(self.dir.path()).status();
    }
}

/// A loopback URL where nothing listens: every connect is refused at once.
pub fn dead_redis_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("redis://127.0.0.1:{port}")
}

/// A fresh temporary directory, removed when dropped (std has none, and it
/// is not worth a dependency).
pub mod tempdir {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU32, Ordering};

    pub struct TempDir(PathBuf);

    impl TempDir {
        pub fn new(prefix: &str) -> TempDir {
            static N: AtomicU32 = AtomicU32::new(0);
            let n = N.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
