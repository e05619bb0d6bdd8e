#!/usr/bin/env bash
# Side-by-side benchmark: limify from Python vs limifyrate, pylimitx,
# distributed-rate-limiter and limits, on the memory storage (where a peer has
# one) and on one shared throwaway redis-server, at 1 and 8 threads, in one run.
#
#   bindings/python/bench/run.sh PREFIX [SECONDS] [ROUNDS]   (default 3 s per case, 3 rounds)
#
# Every contender runs once per round, in turn, and the report keeps each case's
# median: one thread ping-ponging with redis-server swings by up to 4x on this
# kind of VM with where the scheduler puts the two (same core or not).
#
# Installs the peers from PyPI into venvs under build/h-python/bench (limifyrate
# alone: it is imported as `limify` too); a peer that fails to install or run
# is reported with the reason. Not part of test.sh.
set -euo pipefail

die() { echo "bench/run.sh: $*" >&2; exit 2; }
[ $# -ge 1 ] || die "usage: $0 PREFIX [SECONDS]"
prefix=$(cd "$1" && pwd) || die "no such directory: $1"
seconds=${2:-3}
rounds=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
pc=$(find "$prefix" -path '*/pkgconfig/limify.pc' -print -quit)
[ -n "$pc" ] || die "no limify.pc under $prefix"
export PKG_CONFIG_PATH=$(dirname "$pc")
unset LIMIFY_LIBRARY

work="$root/build/h-python/bench"
mkdir -p "$work"
python=${PYTHON:-python3}
results="$work/results.jsonl"
: >"$results"

venv() {  # venv NAME PACKAGES... : creates or reuses a venv; returns 1 if pip fails
  local dir="$work/venv-$1"; shift
  [ -x "$dir/bin/python" ] || "$python" -m venv "$dir"
  "$dir/bin/python" -m pip install -q --disable-pip-version-check "$@" >"$dir.log" 2>&1
}

echo "== installing (logs in $work)"
rm -rf "$work/src" && mkdir "$work/src" && cp -r "$here/../pyproject.toml" "$here/../README.md" "$here/../src" "$work/src/"
venv limify "$work/src" limits redis || die "cannot install limify's own package (see $work/venv-limify.log)"
declare -A peer_venv=([limits]=limify)
for peer in pylimitx distributed-rate-limiter; do
  if venv limify "$peer"; then peer_venv[$peer]=limify; else
    echo "{\"contender\": \"$peer\", \"error\": \"pip install failed: $(tail -1 "$work/venv-limify.log" | tr '"' "'")\"}" >>"$results"
  fi
done
if venv limifyrate limifyrate redis; then peer_venv[limifyrate]=limifyrate; else
  echo "{\"contender\": \"limifyrate\", \"error\": \"pip install failed: $(tail -1 "$work/venv-limifyrate.log" | tr '"' "'")\"}" >>"$results"
fi
"$work/venv-limify/bin/python" -m pip freeze 2>/dev/null | grep -iE '^(limits|pylimitx|distributed-rate-limiter|redis)==' | tr '\n' ' '
"$work/venv-limifyrate/bin/python" -m pip freeze 2>/dev/null | grep -iE '^limifyrate==' || true

redis_dir=$(mktemp -d "${TMPDIR:-/tmp}/limify-py-bench.XXXXXX")
trap '"$root/scripts/redis-local" stop "$redis_dir"' EXIT
url=$("$root/scripts/redis-local" server "$redis_dir")
echo "== redis $url ($(redis-server --version | awk '{print $3}')), $seconds s per case"

run() {  # run CONTENDER STORAGE
  local py="$work/venv-${peer_venv[$1]:-limify}/bin/python"
  [ "${1%%-*}" = limify ] || [ -n "${peer_venv[$1]:-}" ] || return 0
  "$py" "$here/bench_one.py" "$1" "$2" "$url" --threads 1 8 --seconds "$seconds" | tee -a "$results"
}
for round in $(seq "$rounds"); do
  echo "== round $round of $rounds"
  for storage in memory redis; do
    run limify "$storage"
    run limits "$storage"
  done
  run limify-batch redis
  run limify-key-batch redis
  for contender in limify limits; do  # one event loop, many tasks: the async APIs
    "$work/venv-limify/bin/python" "$here/bench_one.py" "$contender" redis "$url" --tasks 1 64 --seconds "$seconds" | tee -a "$results"
  done
  for peer in limifyrate pylimitx distributed-rate-limiter; do run "$peer" redis; done
done

echo
"$work/venv-limify/bin/python" "$here/report.py" "$results"
