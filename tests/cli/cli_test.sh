#!/usr/bin/env bash
# Tests of the limify CLI: outputs and exit codes, one group of cases per
# subcommand. Run by ctest as `cli_test.sh <group>` with
#   LIMIFY_CLI          the limify binary
#   LIMIFY_FIXTURE_DIR  the plugin fixtures (tests/fixtures in the build tree)
# Every failed expectation is printed; the group fails if any did.
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
configs="$here/configs"
cli="${LIMIFY_CLI:?set LIMIFY_CLI to the limify binary}"
fixtures="${LIMIFY_FIXTURE_DIR:-}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failures=0
OUT="" ERR="" RC=0

# run <args...>: runs the CLI; sets OUT, ERR and RC.
run() {
  "$cli" "$@" >"$tmp/out" 2>"$tmp/err"
  RC=$?
  OUT="$(cat "$tmp/out")"
  ERR="$(cat "$tmp/err")"
  # Under ASan/UBSan/TSan a report may come with an ordinary exit code (ASan's is 1).
  if grep -qE 'Sanitizer|runtime error:' "$tmp/err"; then
    fail "limify $*: sanitizer report"
  fi
}
fail() {
  echo "FAIL: $*"
  echo "  command output:"; sed 's/^/    | /' "$tmp/out"
  echo "  command stderr:"; sed 's/^/    | /' "$tmp/err"
  failures=$((failures + 1))
}
expect_rc() { [ "$RC" -eq "$1" ] || fail "$2: exit code $RC, expected $1"; }
expect_out() { [ "$OUT" == "$1" ] || fail "$2: stdout differs; expected:"$'\n'"$1"; }
expect_out_has() { grep -qF -- "$1" <<<"$OUT" || fail "$2: stdout lacks \"$1\""; }
expect_err_has() { grep -qF -- "$1" <<<"$ERR" || fail "$2: stderr lacks \"$1\""; }
expect_no_crash() {
  # Exit codes above 128 are signals; 7 would be an internal error.
  [ "$RC" -lt 7 ] || fail "$1: exit code $RC (crash or internal error)"
}

group_usage() {
  run
  expect_rc 2 "no subcommand"
  expect_err_has "A subcommand is required" "no subcommand"

  run --help
  expect_rc 0 "--help"
  expect_out_has "Exit codes:" "--help"
  expect_out_has "5  not found" "--help"
  expect_out_has "validate" "--help"

  run --version
  expect_rc 0 "--version"
  expect_out_has "liblimify 0." "--version"

  run frobnicate
  expect_rc 2 "unknown subcommand"

  run check "$configs/manual.json"
  expect_rc 2 "check without --path"
  expect_err_has "--path" "check without --path"

  run check "$configs/manual.json" --path /search --cost 0
  expect_rc 2 "--cost 0"
  run check "$configs/manual.json" --path /search --cost -3
  expect_rc 2 "--cost -3"
  run check "$configs/manual.json" --path /search --repeat 0
  expect_rc 2 "--repeat 0"
  run check "$configs/manual.json" --path /search --repeat 2 --interval soon
  expect_rc 2 "--interval soon"
  expect_err_has "--interval: \"soon\" is not a duration" "--interval soon"
}

group_validate() {
  run validate "$configs/manual.json"
  expect_rc 0 "valid config"
  expect_out "ok" "valid config"

  run validate - <"$configs/manual.json"
  expect_rc 0 "valid config on stdin"
  expect_out "ok" "valid config on stdin"

  run validate "$configs/bad_rate.json"
  expect_rc 1 "bad rate"
  expect_err_has "limify: $configs/bad_rate.json: rules[0].rate" "bad rate names file and JSON path"
  expect_err_has "fortnight" "bad rate says what is wrong"
  [ -z "$OUT" ] || fail "bad rate: nothing on stdout"

  run validate "$configs/bad_syntax.json"
  expect_rc 1 "bad JSON"
  expect_err_has "bad_syntax.json" "bad JSON names the file"

  run validate "$configs/unknown_algorithm.json"
  expect_no_crash "unknown algorithm"
  [ "$RC" -ne 0 ] || fail "unknown algorithm: accepted"
  expect_err_has "no_such_algorithm" "unknown algorithm named"

  run validate "$tmp/missing.json"
  expect_rc 5 "missing file"
  expect_err_has "cannot read config \"$tmp/missing.json\": No such file or directory" "missing file"

  run validate "$configs"
  expect_rc 5 "a directory"
  expect_err_has "is a directory" "a directory"

  printf '' >"$tmp/empty.json"
  run validate "$tmp/empty.json"
  expect_rc 1 "empty file"

  printf '{"storage": {"type": "memory"}, "plugin_paths": ["%s/nowhere"]}' "$tmp" >"$tmp/no_dir.json"
  run validate "$tmp/no_dir.json"
  expect_no_crash "missing plugin directory"
  [ "$RC" -ne 0 ] || fail "missing plugin directory: accepted"
  expect_err_has "plugin_paths[0]" "missing plugin directory: JSON path"
}

group_check() {
  # A burst on the manual clock: exact decisions.
  run check "$configs/manual.json" --path /search --user alice --repeat 7
  expect_rc 6 "burst: some denied"
  expect_out "allowed rule=search plan=default limit=5 remaining=4 reset=200ms retry_after=0s
allowed rule=search plan=default limit=5 remaining=3 reset=400ms retry_after=0s
allowed rule=search plan=default limit=5 remaining=2 reset=600ms retry_after=0s
allowed rule=search plan=default limit=5 remaining=1 reset=800ms retry_after=0s
allowed rule=search plan=default limit=5 remaining=0 reset=1s retry_after=0s
denied  rule=search plan=default limit=5 remaining=0 reset=1s retry_after=200ms
denied  rule=search plan=default limit=5 remaining=0 reset=1s retry_after=200ms" "burst"

  # --interval advances the manual clock: one token every 200 ms.
  run check "$configs/manual.json" --path /search --user alice --repeat 7 --interval 100ms
  expect_rc 0 "refill: all allowed"
  expect_out_has "allowed rule=search plan=default limit=5 remaining=2 reset=600ms" "refill"

  run check "$configs/manual.json" --path /search --user alice
  expect_rc 0 "one allowed"
  expect_out "allowed rule=search plan=default limit=5 remaining=4 reset=200ms retry_after=0s" "one allowed"

  # Two limits: 2/second binds first; nothing is consumed by a denied request.
  run check "$configs/manual.json" --method POST --path /export/a.csv --user bob --repeat 3
  expect_rc 6 "two limits"
  expect_out_has "denied  rule=export plan=default limit=2 remaining=0" "two limits: 2/second binds"

  # A cost above the limit can never pass.
  run check "$configs/manual.json" --path /search --user alice --cost 6
  expect_rc 6 "cost above limit"
  expect_out_has "retry_after=never" "cost above limit"

  # An explicit plan.
  run check "$configs/manual.json" --path /api/items --user carol --plan pro
  expect_rc 0 "plan"
  expect_out_has "rule=api plan=pro limit=100 remaining=99" "plan"

  # No rule matches: not limited.
  run check "$configs/manual.json" --path /health
  expect_rc 0 "unmatched"
  expect_out "allowed rule=- plan=- limit=unlimited remaining=unlimited reset=0s retry_after=0s" "unmatched"

  # JSON lines.
  run check "$configs/manual.json" --path /search --user alice --repeat 6 --json
  expect_rc 6 "json"
  expect_out_has '{"allowed":true,"matched":true,"degraded":false,"rule":"search","plan":"default","limit":5,"remaining":4,"period_us":1000000,"reset_after_us":200000,"retry_after_us":0}' "json allowed"
  expect_out_has '{"allowed":false,"matched":true,"degraded":false,"rule":"search","plan":"default","limit":5,"remaining":0,"period_us":1000000,"reset_after_us":1000000,"retry_after_us":200000}' "json denied"
  [ "$(wc -l <<<"$OUT")" -eq 6 ] || fail "json: one line per decision"

  # Response headers.
  run check "$configs/manual.json" --path /search --user alice --repeat 6 --headers
  expect_rc 6 "headers"
  expect_out_has "  X-RateLimit-Limit: 5" "headers"
  expect_out_has "  Retry-After: 1" "headers: Retry-After rounded up"
  run check "$configs/manual.json" --path /search --user alice --repeat 6 --headers --json
  expect_out_has '"headers":{"X-RateLimit-Limit":"5"' "json headers"

  # Errors.
  run check "$configs/bad_rate.json" --path /search
  expect_rc 1 "check with a bad config"
  expect_err_has "rules[0].rate" "check with a bad config"
  run check "$tmp/missing.json" --path /search
  expect_rc 5 "check with a missing file"
}

group_peek() {
  run peek "$configs/manual.json" --path /search --user alice --repeat 3
  expect_rc 0 "peek"
  local first
  first="$(head -1 <<<"$OUT")"
  [ "$(sort -u <<<"$OUT")" == "$first" ] || fail "peek consumes nothing: three identical lines"
  expect_out_has "allowed rule=search plan=default limit=5" "peek"

  run peek "$configs/manual.json" --path /search --user alice --cost 6 --json
  expect_rc 6 "peek denied"
  expect_out_has '"retry_after_us":-1' "peek: never"
}

group_reset() {
  run reset "$configs/manual.json" --path /search --user alice
  expect_rc 0 "reset"
  expect_out "ok" "reset"

  run reset "$configs/manual.json" --path /search --cost 2
  expect_rc 2 "reset takes no --cost"

  run reset "$configs/manual.json"
  expect_rc 2 "reset without --path"

  run reset "$tmp/missing.json" --path /search
  expect_rc 5 "reset with a missing file"
}

group_plugins() {
  run plugins
  expect_rc 0 "plugins"
  expect_out_has "NAME" "plugins: header"
  expect_out_has "algorithm token_bucket" "plugins: token_bucket"
  expect_out_has "storage memory" "plugins: memory"
  expect_out_has "limify_memory.so" "plugins: file"

  run plugins --json
  expect_rc 0 "plugins --json"
  [ "${OUT:0:1}" == "[" ] || fail "plugins --json: an array"
  expect_out_has '"name"' "plugins --json"

  run plugins "$configs/manual.json"
  expect_rc 0 "plugins CONFIG"

  run plugins "$tmp/missing.json"
  expect_rc 5 "plugins with a missing file"

  if [ -n "$fixtures" ] && [ -d "$fixtures/quota" ]; then
    printf '{"plugin_paths": ["%s/quota"]}' "$fixtures" >"$tmp/quota.json"
    run plugins "$tmp/quota.json"
    expect_rc 0 "plugins with a third-party plugin"
    expect_out_has "algorithm quota" "third-party plugin listed"
    expect_out_has "$fixtures/quota/limify_quota.so" "third-party plugin file"

    printf '{"plugin_paths": ["%s/wrong_major"], "rules": []}' "$fixtures" >"$tmp/wrong.json"
    run plugins "$tmp/wrong.json"
    expect_rc 3 "plugins: a plugin of another ABI"
    expect_err_has "wrong_major" "plugin error names the file"
    run validate "$tmp/wrong.json"
    expect_rc 3 "validate: a plugin of another ABI"
    expect_err_has "wrong_major" "validate: plugin error names the file"

    printf '{"plugin_paths": ["%s/not_elf"], "rules": []}' "$fixtures" >"$tmp/garbage.json"
    run check "$tmp/garbage.json" --path /x
    expect_rc 3 "check: a file that is not a plugin"
    expect_err_has "garbage.so" "not a plugin: names the file"
  else
    echo "note: LIMIFY_FIXTURE_DIR not set or not built; third-party plugin cases skipped"
  fi
}

group_bench() {
  run bench "$configs/manual.json" --path /search --threads 2 --keys 10 --duration 300ms
  expect_rc 0 "bench"
  expect_out_has "2 threads, 10 keys, 300ms" "bench: header"
  expect_out_has "checks" "bench: throughput"
  for p in "p50 " "p90 " "p99 " "p999 " "max "; do expect_out_has "$p" "bench: $p"; done
  grep -q $'\r' "$tmp/err" && fail "bench: a progress bar on a pipe"

  run bench "$configs/manual.json" --duration 200ms --json
  expect_rc 0 "bench --json"
  expect_out_has '"checks_per_second":' "bench --json"
  expect_out_has '"p999":' "bench --json"
  # json_number <key>: the integer after "key": in OUT.
  json_number() { sed -E 's/.*"'"$1"'":([0-9]+).*/\1/' <<<"$OUT"; }
  local checks allowed denied errors
  checks=$(json_number checks); allowed=$(json_number allowed)
  denied=$(json_number denied); errors=$(json_number errors)
  [ "$checks" -gt 0 ] && [ "$checks" -eq $((allowed + denied + errors)) ] ||
    fail "bench --json: checks ($checks) = allowed + denied + errors"
  local previous=0 value key
  for key in min p50 p90 p99 p999 max; do
    value=$(json_number "$key")
    [ "$value" -ge "$previous" ] || fail "bench --json: $key ($value) below the previous quantile"
    previous=$value
  done

  run bench "$configs/manual.json" --duration forever
  expect_rc 2 "bench: bad --duration"
  run bench "$configs/manual.json" --threads 0
  expect_rc 2 "bench: --threads 0"
  run bench "$configs/bad_rate.json" --duration 100ms
  expect_rc 1 "bench: bad config"
}

group="${1:?usage: cli_test.sh <usage|validate|check|peek|reset|plugins|bench>}"
if ! declare -F "group_$group" >/dev/null; then
  echo "unknown group \"$group\""
  exit 2
fi
"group_$group"
if [ "$failures" -ne 0 ]; then
  echo "$group: $failures failure(s)"
  exit 1
fi
echo "$group: ok"
