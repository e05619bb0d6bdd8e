#!/usr/bin/env bash
# Builds and runs the Rust binding's whole test suite against an installed limify.
#
#   bindings/rust/test.sh PREFIX      (PREFIX: where `cmake --install` put limify)
#
# limify-sys finds liblimify with pkg-config, so PKG_CONFIG_PATH points at
# PREFIX's limify.pc and LD_LIBRARY_PATH at its libdir, as a user's would.
# Runs `cargo test` on the workspace (limify-sys, limify with its tower
# feature, the sliding_buckets plugin) with the committed Cargo.lock. The
# Redis tests start their own redis-server (scripts/redis-local) and stop it.
# Benchmarks live in bench/, a workspace of their own: not built here.
set -euo pipefail

die() { echo "bindings/rust/test.sh: $*" >&2; exit 2; }
[ $# -eq 1 ] || die "usage: $0 PREFIX"
prefix=$(cd "$1" 2>/dev/null && pwd) || die "no such directory: $1"
here=$(cd "$(dirname "$0")" && pwd)

pc=$(find "$prefix" -path '*/pkgconfig/limify.pc' -print -quit)
[ -n "$pc" ] || die "no limify.pc under $prefix (is limify installed there?)"
command -v cargo >/dev/null || die "cargo is not installed (rustup, or Debian's cargo package)"
command -v pkg-config >/dev/null || die "pkg-config is not installed"

export PKG_CONFIG_PATH="$(dirname "$pc")"
libdir=$(pkg-config --variable=libdir limify)
[ -e "$libdir/liblimify.so" ] || die "limify.pc names libdir $libdir, which has no liblimify.so"
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The installed library finds its own plugins; nothing from the caller's shell.
unset LIMIFY_PLUGIN_PATH

echo "== rust: cargo test against $prefix ($(cargo --version))"
cd "$here"
exec cargo test --locked --workspace --all-features
