#!/usr/bin/env bash
# Runs the Rust binding's criterion benchmark against an installed limify and
# prints ns per check, limify beside governor, from this one run.
#
#   bindings/rust/bench/run.sh PREFIX [criterion args...]
#
# Criterion's own report is printed as it goes; the table at the end reads
# estimates (target/criterion/*/*/new/estimates.json).
set -euo pipefail

die() { echo "bindings/rust/bench/run.sh: $*" >&2; exit 2; }
[ $# -ge 1 ] || die "usage: $0 PREFIX [criterion args...]"
prefix=$(cd "$1" 2>/dev/null && pwd) || die "no such directory: $1"
shift
here=$(cd "$(dirname "$0")" && pwd)

pc=$(find "$prefix" -path '*/pkgconfig/limify.pc' -print -quit)
[ -n "$pc" ] || die "no limify.pc under $prefix (is limify installed there?)"
export PKG_CONFIG_PATH="$(dirname "$pc")"
libdir=$(pkg-config --variable=libdir limify)
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
unset LIMIFY_PLUGIN_PATH

cd "$here"
target=${CARGO_TARGET_DIR:-$here/target}
rm -rf "$target/criterion"
cargo bench --locked --bench check -- "$@"

echo
echo "== ns per check, the estimate criterion prints above; $(nproc) cores, limify $(pkg-config --modversion limify)"
python3 - "$target/criterion" <<'PY'
import json, pathlib, sys
for path in sorted(pathlib.Path(sys.argv[1]).glob("*/*/new/estimates.json")):
    e = json.loads(path.read_text())
    best = e.get("slope") or e["mean"]  # criterion shows the slope when it has one
    print(f"{path.parts[-4] + ' / ' + path.parts[-3]:<60} {best['point_estimate']:10.1f}")
PY
