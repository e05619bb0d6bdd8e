#!/usr/bin/env bash
# Builds the Python binding as a wheel that bundles liblimify and its plugins,
# then uses it where no other limify can be found:
#
#   bindings/python/test-wheel.sh      (from a checkout of the repository)
#
#  1. LIMIFY_BUNDLE_LIBRARY=1 pip wheel bindings/python: scikit-build-core
#     builds the repository's CMake project (Release, Ninja, no tests or
#     benchmarks, only the `limify` target and the plugins it depends on) in a
#     temporary directory and installs its `limify_runtime` component into the
#     wheel under limify/_lib (see pyproject.toml);
#  2. checks the wheel: tagged py3-none-<this platform>; the package exactly as
#     src/limify (py.typed included); limify/_lib holds liblimify.so.0 and one
#     limify/plugins/limify_<name>.so per plugin under plugins/, and nothing
#     else (no headers, liblimify.so link, pkg-config, CMake package or CLI);
#  3. installs it into a fresh venv and, from a directory outside the
#     repository, with no LIMIFY_LIBRARY, PKG_CONFIG_PATH, LD_LIBRARY_PATH or
#     LIMIFY_PLUGIN_PATH, checks from Python that the library is the bundled
#     copy in that venv's site-packages (also as the process maps it), that
#     list_plugins() lists exactly the bundled plugins, and that engines on the
#     memory and the sqlite storage (a plugin with an external library) decide
#     exactly.
#
# Compiles the engine and the plugins once more (77 build steps: about 90 s on 2 cores).
# Needs what scripts/setup installs, python3-venv and PyPI (scikit-build-core).
# Exits non-zero on any failure.
set -euo pipefail

die() { echo "bindings/python/test-wheel.sh: $*" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ -f "$root/CMakeLists.txt" ] && [ -d "$root/plugins" ] ||
  die "$root is not the repository's root: the bundled wheel is built from a checkout"

python=${PYTHON:-python3}
"$python" -c 'import sys; assert sys.version_info >= (3, 10)' 2>/dev/null ||
  die "$python is missing or older than 3.10"
"$python" -c 'import venv, ensurepip' 2>/dev/null ||
  die "$python cannot create venvs (Debian: apt-get install python3-venv)"

# The plugins the project builds: limify_add_plugin(<name> ...) and
# limify_add_algorithm_plugin(<name>) under plugins/algorithms and plugins/storage.
plugins=$(cat "$root"/plugins/algorithms/*/CMakeLists.txt "$root"/plugins/storage/*/CMakeLists.txt |
  sed -nE 's/^[[:space:]]*limify_add_(algorithm_)?plugin\(([A-Za-z0-9_]+).*/\2/p' | sort -u | tr '\n' ' ')
[ -n "$plugins" ] || die "found no plugin under $root/plugins"
version=$(sed -nE 's/^project\(limify VERSION ([0-9.]+).*/\1/p' "$root/CMakeLists.txt")
[ -n "$version" ] || die "no project(limify VERSION ...) in $root/CMakeLists.txt"

work=$(mktemp -d "${TMPDIR:-/tmp}/limify-python-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$python" -m venv "$work/venv"
py="$work/venv/bin/python"

echo "== python wheel: build with the library bundled ($("$python" --version))"
start=$SECONDS
# pip builds in the source tree (nothing is written there: scikit-build-core
# builds in a temporary directory) in an isolated environment holding
# scikit-build-core; CMake and Ninja are the system's (scripts/setup).
if ! LIMIFY_BUNDLE_LIBRARY=1 CMAKE_GENERATOR=Ninja \
     CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
     "$py" -m pip wheel -v --no-deps --no-cache-dir --disable-pip-version-check \
       -w "$work/dist" "$here" >"$work/build.log" 2>&1; then
  tail -60 "$work/build.log"
  echo "test-wheel: FAILED: pip wheel (above: the end of its log)"
  exit 1
fi
echo "built in $((SECONDS - start))s: $(cd "$work/dist" && ls)"

echo "== python wheel: contents"
"$py" -I - "$work/dist" "$here/src/limify" "$plugins" <<'PY'
import pathlib, sys, sysconfig, zipfile

dist, src, plugins = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3].split()
wheels = sorted(dist.glob("*.whl"))
assert len(wheels) == 1, f"expected one wheel, got {[w.name for w in wheels]}"
wheel = wheels[0]
platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
want_name = f"limify-{wheel.name.split('-')[1]}-py3-none-{platform}.whl"
assert wheel.name == want_name, f"{wheel.name}: expected {want_name} (platform-specific, any Python 3)"
with zipfile.ZipFile(wheel) as z:
    names = set(z.namelist())
    wheel_meta = next(z.read(n).decode() for n in names if n.endswith(".dist-info/WHEEL"))
assert "Root-Is-Purelib: false" in wheel_meta, wheel_meta
python_files = {
    "limify/" + p.relative_to(src).as_posix()
    for p in src.rglob("*")
    if p.is_file() and "__pycache__" not in p.parts and p.suffix not in {".pyc", ".pyo"}
}
assert "limify/py.typed" in python_files
lib_files = {n for n in names if n.startswith("limify/_lib/")}
want_lib = {"limify/_lib/liblimify.so.0"} | {f"limify/_lib/limify/plugins/limify_{p}.so" for p in plugins}
package = {n for n in names if not n.startswith("limify/_lib/") and ".dist-info/" not in n}
problems = []
if package != python_files:
    problems.append(f"package files: missing {sorted(python_files - package)}, extra {sorted(package - python_files)}")
if lib_files != want_lib:
    problems.append(f"limify/_lib: missing {sorted(want_lib - lib_files)}, extra {sorted(lib_files - want_lib)}")
assert not problems, "\n".join(problems)
for n in sorted(names):
    print("  " + n)
print(f"ok: {wheel.name}: the package, liblimify.so.0 and {len(plugins)} plugins, nothing else")
PY

echo "== python wheel: install into a fresh venv, use it from outside the repository"
"$py" -m pip install -q --no-deps --no-cache-dir --disable-pip-version-check "$work"/dist/*.whl
mkdir "$work/run"
cd "$work/run"
env -u LIMIFY_LIBRARY -u PKG_CONFIG_PATH -u LD_LIBRARY_PATH -u LIMIFY_PLUGIN_PATH \
  "$py" -I - "$version" "$plugins" <<'PY'
import os, pathlib, sys, sysconfig, tempfile

import limify
import limify._lib as L

version, plugins = sys.argv[1], sys.argv[2].split()
site = pathlib.Path(sysconfig.get_paths()["platlib"]).resolve()
assert site.is_relative_to(pathlib.Path(sys.prefix).resolve()), (site, sys.prefix)
bundled = site / "limify" / "_lib"
plugin_dir = bundled / "limify" / "plugins"

def ok(what):
    print("ok: " + what)

def mapped():
    """Every limify binary this process has mapped: the loader's view, not ours."""
    with open("/proc/self/maps") as maps:
        paths = {line.split(None, 5)[5].strip() for line in maps if len(line.split(None, 5)) == 6}
    return {p for p in paths if os.path.basename(p).startswith(("liblimify", "limify_"))}

loaded = pathlib.Path(L.lib()._name)
assert loaded == bundled / "liblimify.so.0", f"loaded {loaded}, expected the bundled {bundled / 'liblimify.so.0'}"
assert limify.version() == version, (limify.version(), version)
assert mapped() == {str(bundled / "liblimify.so.0")}, mapped()
ok(f"liblimify {version} loaded from the bundled {loaded}")

listed = limify.list_plugins()
files = sorted(pathlib.Path(p["file"]) for p in listed)
assert files == sorted(plugin_dir / f"limify_{p}.so" for p in plugins), files
storages = {s for p in listed for s in p["storages"]}
assert {"memory", "sqlite", "redis", "postgres"} <= storages, storages
ok(f"list_plugins(): the {len(listed)} bundled plugins, from {plugin_dir}")

def exact(storage):
    config = {"storage": storage, "clock": "manual",
              "rules": [{"id": "search", "path": "/search", "rate": "3/hour"}]}
    with limify.Engine(config) as engine:
        got = [engine.check("GET", "/search", user_id="ann") for _ in range(4)]
        assert [d.allowed for d in got] == [True, True, True, False], got
        assert [d.remaining for d in got] == [2, 1, 0, 0], got
        assert all(d.limit == 3 and d.rule_id == "search" for d in got), got
        assert got[3].retry_after == 1200.0, got[3]
        assert engine.check("GET", "/search", user_id="bob").allowed
        engine.clock_advance(1200 * 1_000_000)
        again = engine.check("GET", "/search", user_id="ann")
        assert again.allowed and again.remaining == 0, again
        outside = mapped() - {str(bundled / "liblimify.so.0")}
        assert outside and all(os.path.dirname(p) == str(plugin_dir) for p in outside), outside
    return config

exact({"type": "memory"})
ok("memory storage, 3/hour: allow, allow, allow, deny (retry after 1200 s), allow after 1200 s")

with tempfile.TemporaryDirectory() as tmp:
    db = os.path.join(tmp, "limits.db")
    config = exact({"type": "sqlite", "path": db})
    assert os.path.getsize(db) > 0
    with limify.Engine(config) as other:   # the state is in the file: another engine sees it
        d = other.check("GET", "/search", user_id="ann")
        assert not d.allowed and d.remaining == 0, d
        with open("/proc/self/maps") as maps:   # while the plugin is loaded
            sqlite_libs = [p for p in maps.read().split() if "/libsqlite3" in p]
        assert sqlite_libs, "libsqlite3 is not mapped"
ok(f"sqlite storage ({db}): the same exact decisions, kept in the file; "
   f"the plugin loaded {os.path.basename(sqlite_libs[0])} from the system")
PY
echo "test-wheel: passed in $((SECONDS - start))s"
