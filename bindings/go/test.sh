#!/usr/bin/env bash
# Builds and tests the Go binding against an installed limify.
#
#   bindings/go/test.sh PREFIX      (PREFIX: where `cmake --install` put limify)
#
# Points pkg-config (cgo's `#cgo pkg-config: limify`) and the dynamic loader
# at PREFIX, so the module finds liblimify the way a user's would, then runs
# the whole suite under the race detector with every `go vet` check (go
# test's -vet=all vets each package, the example too, from the same race
# build: one compile of the standard library instead of two, which halves a
# cold-cache run). The Redis tests start
# their own redis-server (scripts/redis-local) and stop it. No benchmarks
# (those are `go test -run '^$' -bench .`, see README.md).
set -euo pipefail

die() { echo "bindings/go/test.sh: $*" >&2; exit 2; }
[ $# -eq 1 ] || die "usage: $0 PREFIX"
prefix=$(cd "$1" 2>/dev/null && pwd) || die "no such directory: $1"
here=$(cd "$(dirname "$0")" && pwd)

command -v go >/dev/null || die "go is not installed"
command -v pkg-config >/dev/null || die "pkg-config is not installed (Debian: apt-get install pkg-config)"
pc=$(find "$prefix" -path '*/pkgconfig/limify.pc' -print -quit)
[ -n "$pc" ] || die "no limify.pc under $prefix (is limify installed there?)"
so=$(find "$prefix" -name 'liblimify.so*' -print -quit)
[ -n "$so" ] || die "no liblimify.so under $prefix"

export PKG_CONFIG_PATH="$(dirname "$pc")"
export LD_LIBRARY_PATH="$(dirname "$so")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export CGO_ENABLED=1
# Go's build cache keys a cgo package on CGO_LDFLAGS but not on what
# `pkg-config --libs` printed: without this, a package built against an
# earlier (since deleted) prefix is reused and links against that prefix.
export CGO_LDFLAGS="-g -O2 -L$(dirname "$so")"
unset LIMIFY_PLUGIN_PATH   # the plugins installed beside the library, nothing else

cd "$here"
echo "== go: vet and test -race ($(go version | cut -d' ' -f3), limify $(pkg-config --modversion limify) from $prefix)"
go test -race -vet=all -count=1 ./...
