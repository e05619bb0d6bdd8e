#!/usr/bin/env bash
# Builds and runs the Python binding's test suite against an installed limify.
#
#   bindings/python/test.sh PREFIX      (PREFIX: where `cmake --install` put limify)
#
# Creates a throwaway venv, `pip install`s this package and the pinned test
# dependencies (requirements-test.txt), and runs pytest with PKG_CONFIG_PATH
# pointing at PREFIX, so the package finds liblimify the way a user's would.
# The Redis tests start their own redis-server (scripts/redis-local).
set -euo pipefail

die() { echo "bindings/python/test.sh: $*" >&2; exit 2; }
[ $# -eq 1 ] || die "usage: $0 PREFIX"
prefix=$(cd "$1" 2>/dev/null && pwd) || die "no such directory: $1"
here=$(cd "$(dirname "$0")" && pwd)

pc=$(find "$prefix" -path '*/pkgconfig/limify.pc' -print -quit)
[ -n "$pc" ] || die "no limify.pc under $prefix (is limify installed there?)"

python=${PYTHON:-python3}
"$python" -c 'import sys; assert sys.version_info >= (3, 10)' 2>/dev/null ||
  die "$python is missing or older than 3.10"
"$python" -c 'import venv, ensurepip' 2>/dev/null ||
  die "$python cannot create venvs (Debian: apt-get install python3-venv)"

work=$(mktemp -d "${TMPDIR:-/tmp}/limify-python-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "== python: venv and pip install ($("$python" --version))"
"$python" -m venv "$work/venv"
# Built from a copy: setuptools writes build/ and *.egg-info beside the sources.
mkdir "$work/src" && cp -r "$here/pyproject.toml" "$here/README.md" "$here/src" "$work/src/"
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check --no-cache-dir \
  "$work/src" -r "$here/requirements-test.txt"

echo "== python: pytest against $prefix"
cd "$here"
unset LIMIFY_LIBRARY
export PKG_CONFIG_PATH="$(dirname "$pc")"
rc=0
"$work/venv/bin/python" -m pytest -p no:cacheprovider -q tests || rc=$?
exit "$rc"
