"""What the figures were measured on: the machine and every version involved."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from pathlib import Path


def _run(*command: str, cwd: Path | None = None) -> str:
    """The first line a command prints, or "not found: ..." when it cannot run."""
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"not available ({type(exc).__name__}: {exc})"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else f"not available (exit {out.returncode})"


def machine() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    mem_kb = re.search(r"^MemTotal:\s+(\d+) kB", meminfo, re.M)
    os_release = {}
    if Path("/etc/os-release").exists():
        for line in Path("/etc/os-release").read_text().splitlines():
            if "=" in line:
                key, value = line.split("=", 1)
                os_release[key] = value.strip('"')
    return {
        "cpu_model": model.group(1).strip() if model else platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "memory_gib": round(int(mem_kb.group(1)) / 1024 / 1024, 1) if mem_kb else None,
        "kernel": platform.release(),
        "os": os_release.get("PRETTY_NAME", platform.platform()),
        "hostname_hidden": True,  # the host's name says nothing about speed
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _cmake_cache(build: Path, key: str) -> str:
    cache = build / "CMakeCache.txt"
    if not cache.exists():
        return ""
    m = re.search(rf"^{re.escape(key)}:[A-Z]+=(.*)$", cache.read_text(), re.M)
    return m.group(1) if m else ""


def _cargo_lock_version(lock: Path, crate: str) -> str:
    if not lock.exists():
        return "not found (no Cargo.lock)"
    m = re.search(rf'name = "{re.escape(crate)}"\nversion = "([^"]+)"', lock.read_text())
    return m.group(1) if m else "not in Cargo.lock"


def _go_mod_version(go_mod: Path, module: str) -> str:
    if not go_mod.exists():
        return "not found (no go.mod)"
    m = re.search(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(\S+)", go_mod.read_text(), re.M)
    return m.group(1) if m else "not in go.mod"


def _tree_dirty(root: Path) -> bool | None:
    """Whether tracked files differ from the commit (the figures are then of that tree, not the commit)."""
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                             text=True, timeout=60, cwd=root)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return bool(out.stdout.strip()) if out.returncode == 0 else None


def versions(root: Path, build: Path, prefix: Path | None) -> dict:
    compiler = _cmake_cache(build, "CMAKE_CXX_COMPILER") or "c++"
    pg_bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    limify = "unknown"
    if prefix is not None:
        pc = next(prefix.rglob("limify.pc"), None)
        if pc is not None:
            m = re.search(r"^Version:\s*(\S+)", pc.read_text(), re.M)
            limify = m.group(1) if m else limify
    return {
        "limify": limify,
        "git_commit": _run("git", "rev-parse", "HEAD", cwd=root),
        "git_tree_dirty": _tree_dirty(root),
        "build_type": _cmake_cache(build, "CMAKE_BUILD_TYPE"),
        "cxx_compiler": f"{compiler}: {_run(compiler, '--version')}",
        "cc": _run("cc", "--version"),
        "cmake": _run("cmake", "--version"),
        "redis_server": _run("redis-server", "--version"),
        "redis_benchmark": _run("redis-benchmark", "--version"),
        "postgres": _run(str(pg_bins[-1]), "--version") if pg_bins else "not installed",
        "pgbench": _run("pgbench", "--version"),
        "sqlite3_library": _run("python3", "-c", "import sqlite3; print(sqlite3.sqlite_version)"),
        "python": _run("python3", "--version"),
        "go": _run("go", "version"),
        "rustc": _run("rustc", "--version"),
        "cargo": _run("cargo", "--version"),
        "google_benchmark": _run("dpkg-query", "-W", "-f=${Version}", "libbenchmark-dev"),
        "peers": {
            "governor (Rust)": _cargo_lock_version(root / "bindings/rust/bench/Cargo.lock", "governor"),
            "criterion (Rust)": _cargo_lock_version(root / "bindings/rust/bench/Cargo.lock", "criterion"),
            "golang.org/x/time/rate (Go)": _go_mod_version(root / "bindings/go/go.mod", "golang.org/x/time"),
            "go-redis/redis_rate (Go)": _go_mod_version(root / "bench/peers/redis_rate/go.mod",
                                                        "github.com/go-redis/redis_rate/v10"),
            "redis/go-redis (Go)": _go_mod_version(root / "bench/peers/redis_rate/go.mod",
                                                   "github.com/redis/go-redis/v9"),
        },
    }
