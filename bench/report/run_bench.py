"""Runs every limify benchmark and its peers in one go; writes the results and the report.

    python3 bench/report/run_bench.py [--quick] [--out DIR] [--build-dir DIR]

scripts/bench is the way in (it makes the venv with matplotlib this needs for
the charts). Steps run one after another, each printed on one line with its
elapsed time; each step's full output goes to a log file. A step that fails
(a peer that will not install, a server that will not start) is recorded with
its reason and the run goes on: the report says what is missing and why.
Servers are started on loopback by the project's scripts and stopped by PID
at the end, whatever happened.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402
import parsers  # noqa: E402
import write_report  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

# Step sizes for the two modes. quick: under five minutes of measuring on a
# 2-core machine; full: the longer runs the noise needs (about 20 minutes).
MODES = {
    # engine_bench re-creates its 1,000,000 keys on each calibration pass (~12 s a row here): quick
    # leaves those rows to the full run; capi_bench covers 1M keys through the C API.
    "quick": {"latency_threads": "1,4", "latency_seconds": "0.5", "peer_seconds": "0.5",
              "engine_filter": "keys:1/|BM_CheckRequest|BM_IdentityHash|BM_RouteMatch",
              "gbench_min_time": "0.05", "seconds": 1, "python_seconds": "1", "redis_callers": "1,8,64", "redis_rounds": "3",
              "memory_keys": "10000,1000000,10000000", "redis_keys": "10000,1000000",
              "go_benchtime": "0.2s", "criterion": ["--warm-up-time", "0.3", "--measurement-time", "1",
                                                    "--sample-size", "10", "--noplot"]},
    "full": {"latency_threads": "1,2,4,8,16", "latency_seconds": "2", "peer_seconds": "2", "engine_filter": ".", "gbench_min_time": "0.5",
             "seconds": 3, "python_seconds": "3", "redis_callers": "1,2,8,32,64", "redis_rounds": "3",
             "memory_keys": "10000,1000000,10000000", "redis_keys": "10000,1000000,10000000",
             "go_benchtime": "1s", "criterion": ["--noplot"]},
}

BENCH_TARGETS = ["limify", "limify_all_plugins", "limify_cli", "engine_bench", "capi_bench",
                 "memory_per_key", "latency_bench", "sqlite_bench", "redis_bench"]


class StepFailed(Exception):
    """A step that could not produce (all) its figures; the message is the reason, `out` what it printed."""

    def __init__(self, reason: str, out: str = "") -> None:
        super().__init__(reason)
        self.out = out


class Runner:
    """Runs steps, shows progress, keeps a record of each for the results."""

    def __init__(self, total: int, log_dir: Path) -> None:
        self.total = total
        self.index = 0
        self.log_dir = log_dir
        self.records: list[dict] = []
        self.tty = sys.stdout.isatty()

    def _ticker(self, label: str, started: float, done: threading.Event) -> None:
        while not done.wait(1.0):
            print(f"\r{label} {time.monotonic() - started:6.0f}s", end="", flush=True)

    def run(self, name: str, command: list[str] | None, *, kind: str = "measure", cwd: Path | None = None,
            env: dict | None = None, timeout: float = 900, parse=None, skip_reason: str | None = None):
        """Runs `command`; returns parse(stdout) (or stdout). Never raises for a failed step."""
        self.index += 1
        label = f"[{self.index:2d}/{self.total}] {name:<58.58}"
        record = {"name": name, "kind": kind, "command": shlex.join(command) if command else None,
                  "cwd": str(cwd or ROOT), "seconds": 0.0, "status": "ok", "error": None}
        self.records.append(record)
        if skip_reason is not None:
            record.update(status="not run", error=skip_reason)
            print(f"{label} not run: {skip_reason}", flush=True)
            return None
        log = self.log_dir / (f"{self.index:02d}-" + "".join(c if c.isalnum() else "-" for c in name)[:60] + ".log")
        record["log"] = str(log)
        started = time.monotonic()
        done = threading.Event()
        if self.tty:
            print(label, end="", flush=True)
            threading.Thread(target=self._ticker, args=(label, started, done), daemon=True).start()
        try:
            out = self._execute(command, cwd, env, timeout, log)
            result = parse(out) if parse else out
        except StepFailed as exc:
            record.update(status="failed", error=str(exc))
            result = None
            if parse and exc.out:  # what it measured before failing still counts; the failure is recorded
                try:
                    result = parse(exc.out) or None
                except Exception:
                    result = None
        except Exception as exc:  # a parser that chokes is a failed step, not a dead run
            record.update(status="failed", error=f"could not read the output: {type(exc).__name__}: {exc}")
            result = None
        finally:
            done.set()
        record["seconds"] = round(time.monotonic() - started, 1)
        status = "ok" if record["status"] == "ok" else f"FAILED: {record['error']}"
        print(f"\r{label} {record['seconds']:6.1f}s {status}", flush=True)
        return result

    @staticmethod
    def _execute(command: list[str], cwd: Path | None, env: dict | None, timeout: float, log: Path) -> str:
        """Runs `command` in its own session; the log gets the command, its stdout, then its stderr."""
        err_path = log.with_suffix(".stderr")
        with open(err_path, "w") as err_file:
            try:
                proc = subprocess.Popen(command, cwd=cwd or ROOT, env=env, stdout=subprocess.PIPE,
                                        stderr=err_file, text=True, start_new_session=True)
            except OSError as exc:
                log.write_text(f"$ {shlex.join(command)}\n{exc}\n")
                raise StepFailed(f"cannot start {command[0]}: {exc}") from exc
            timed_out = False
            try:
                out, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # its own session: the step's whole process group
                out, _ = proc.communicate()
                timed_out = True
            except BaseException:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                raise
        err = err_path.read_text(errors="replace")
        err_path.unlink()
        log.write_text(f"$ {shlex.join(command)}\n--- stdout\n{out}--- stderr\n{err}")
        if timed_out:
            raise StepFailed(f"timed out after {timeout:.0f} s (log: {log})", out or "")
        if proc.returncode != 0:
            # The reason is on stderr (the last lines); stdout when a program says nothing there.
            tail = [line for line in (err or out or "").splitlines() if line.strip()][-3:]
            raise StepFailed(f"exit {proc.returncode}: " + " | ".join(tail)[-400:] + f" (log: {log})", out or "")
        return out


def find_prefix_file(prefix: Path, pattern: str) -> Path | None:
    return next(iter(sorted(prefix.rglob(pattern))), None)


def binding_env(prefix: Path) -> dict:
    """The environment a user's program would have: limify found through the prefix only."""
    env = dict(os.environ)
    env.pop("LIMIFY_PLUGIN_PATH", None)
    env.pop("LIMIFY_LIBRARY", None)
    pc = find_prefix_file(prefix, "limify.pc")
    so = find_prefix_file(prefix, "liblimify.so*")
    if pc is not None:
        env["PKG_CONFIG_PATH"] = str(pc.parent)
    if so is not None:
        env["LD_LIBRARY_PATH"] = str(so.parent) + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    env["CGO_ENABLED"] = "1"
    return env


def ninja_targets(build: Path) -> set[str]:
    try:
        out = subprocess.run(["ninja", "-C", str(build), "-t", "targets", "all"], capture_output=True, text=True,
                             timeout=120).stdout
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return {line.split(":", 1)[0] for line in out.splitlines() if ":" in line}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short runs: under five minutes of measuring")
    ap.add_argument("--out", type=Path, default=ROOT / "bench",
                    help="where results/<date>.json, REPORT.md and charts/ go (default: bench/)")
    ap.add_argument("--build-dir", type=Path, default=None,
                    help="build here (Ninja, Release) instead of the release preset's build/release")
    ap.add_argument("--work", type=Path, default=ROOT / "build" / "bench-run",
                    help="scratch: logs, the install prefix, the Rust target dir (default build/bench-run)")
    args = ap.parse_args()
    mode = "quick" if args.quick else "full"
    cfg = MODES[mode]
    out_dir = args.out.resolve()
    work = args.work.resolve()
    build = (args.build_dir or ROOT / "build" / "release").resolve()
    started_at = dt.datetime.now(dt.timezone.utc)
    stamp = started_at.strftime("%Y-%m-%dT%H%M%SZ")
    log_dir = work / "logs" / stamp
    log_dir.mkdir(parents=True, exist_ok=True)
    prefix = work / "prefix"
    servers = Path(tempfile.mkdtemp(prefix="limify-bench-"))
    os.chmod(servers, 0o755)  # pg-local, run as root, hands a subdirectory to the postgres user
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    have_pg_local = (ROOT / "scripts/pg-local").exists()
    load_start = machine.load_average()
    print(f"limify benchmarks, {mode} mode, {os.cpu_count()} cores, load {load_start}; "
          f"logs in {log_dir}", flush=True)
    runner = Runner(total=32 if have_pg_local else 31, log_dir=log_dir)
    data: dict = {}
    redis_url = pg_url = None
    try:
        # -- build and install ------------------------------------------------
        if args.build_dir is None:
            runner.run("configure (release preset)", ["cmake", "--preset", "release"], kind="build")
        else:
            runner.run(f"configure {os.path.relpath(build, ROOT)}",
                       ["cmake", "-S", str(ROOT), "-B", str(build), "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release"],
                       kind="build")
        targets = list(BENCH_TARGETS)
        has_postgres_bench = "postgres_bench" in ninja_targets(build)
        if has_postgres_bench:
            targets.append("postgres_bench")
        runner.run("build release targets", ["cmake", "--build", str(build), "-j", str(os.cpu_count() or 1),
                                             "--target", *targets], kind="build", timeout=3600)
        shutil.rmtree(prefix, ignore_errors=True)
        runner.run("install into a scratch prefix", ["cmake", "--install", str(build), "--prefix", str(prefix)],
                   kind="build")
        benv = binding_env(prefix)

        # -- servers ----------------------------------------------------------
        out = runner.run("start redis-server (scripts/redis-local)",
                         [str(ROOT / "scripts/redis-local"), "server", str(servers / "redis")], kind="setup")
        redis_url = out.strip() if out else None
        if have_pg_local:
            out = runner.run("start PostgreSQL (scripts/pg-local, durable)",
                             [str(ROOT / "scripts/pg-local"), "server", str(servers / "pg"), "main", "--durable"],
                             kind="setup")
            pg_url = out.strip().splitlines()[-1] if out else None
        else:
            runner.run("start PostgreSQL", None, skip_reason="scripts/pg-local is not in this tree")
        no_redis = None if redis_url else "redis-server did not start (see the step above)"

        # -- in-process: the engine, the C API, memory per key ------------------
        bench_bin = build / "bench"
        gb = [f"--benchmark_min_time={cfg['gbench_min_time']}", "--benchmark_out_format=json"]
        engine_json = log_dir / "engine_bench.json"
        data["engine"] = runner.run(
            "engine_bench: C++ engine, memory storage, 5 algorithms",
            [str(bench_bin / "engine_bench"), *gb, f"--benchmark_filter={cfg['engine_filter']}",
             f"--benchmark_out={engine_json}"],
            parse=lambda _: parsers.google_benchmark(engine_json))
        data["engine_context"] = parsers.google_benchmark_context(engine_json) if engine_json.exists() else {}
        capi_json = log_dir / "capi_bench.json"
        data["capi"] = runner.run(
            "capi_bench: the same through liblimify.so (limify.h)",
            [str(bench_bin / "capi_bench"), *gb, f"--benchmark_out={capi_json}"],
            parse=lambda _: parsers.google_benchmark(capi_json))
        # The in-process peers at the key and thread counts capi_bench uses.
        xt_bin = work / "xtimerate_bench"
        xt_built = runner.run("build x/time/rate peer (Go module proxy)", ["go", "build", "-o", str(xt_bin), "."],
                              cwd=ROOT / "bench/peers/xtimerate", kind="build", timeout=600)
        data["xtimerate"] = runner.run(
            "x/time/rate per key: 1 and 1,000,000 keys, 1 and 2 threads",
            [str(xt_bin), "-seconds", cfg["peer_seconds"], "-keys", "1,1000000", "-threads", "1,2"],
            parse=parsers.json_lines,
            skip_reason=None if xt_built is not None else "the peer did not build (see the step above)")
        gov_target = work / "rust-target"
        gov_built = runner.run("build governor peer (crates.io)",
                               ["cargo", "build", "--release", "--locked", "--target-dir", str(gov_target)],
                               cwd=ROOT / "bench/peers/governor", kind="build", timeout=1800)
        data["governor"] = runner.run(
            "governor keyed: 1 and 1,000,000 keys, 1 and 2 threads",
            [str(gov_target / "release/governor-bench"), "--seconds", cfg["peer_seconds"], "--keys", "1,1000000",
             "--threads", "1,2"], parse=parsers.json_lines,
            skip_reason=None if gov_built is not None else "the peer did not build (see the step above)")
        data["memory_per_key"] = runner.run(
            f"memory_per_key: memory storage at {cfg['memory_keys']} keys",
            [str(bench_bin / "memory_per_key"), "--storage", "memory", "--keys", cfg["memory_keys"]],
            parse=parsers.memory_per_key) or []
        redis_mem = runner.run(
            f"memory_per_key: Redis at {cfg['redis_keys']} keys",
            [str(bench_bin / "memory_per_key"), "--storage", "redis", "--redis-url", redis_url or "",
             "--keys", cfg["redis_keys"]], parse=parsers.memory_per_key, skip_reason=no_redis)
        data["memory_per_key"] += redis_mem or []

        # -- storages ----------------------------------------------------------
        data["latency"] = []
        for storage, extra, reason in (
                ("memory", [], None), ("sqlite", ["--dir", str(work)], None),
                ("redis", ["--url", redis_url or ""], no_redis),
                ("postgres", ["--url", pg_url or ""], None if pg_url else "PostgreSQL did not start")):
            rows = runner.run(
                f"latency_bench: {storage}, 5 algorithms, {cfg['latency_threads']} threads",
                [str(bench_bin / "latency_bench"), "--storage", storage, *extra, "--threads", cfg["latency_threads"],
                 "--seconds", cfg["latency_seconds"]], parse=parsers.json_lines, skip_reason=reason)
            data["latency"] += rows or []
        data["sqlite"] = runner.run(
            "sqlite_bench: 1 and 4 processes, NORMAL / FULL",
            [str(bench_bin / "sqlite_bench"), "--seconds", str(cfg["seconds"]), "--dir", str(servers)],
            parse=parsers.sqlite_bench)
        # redis_rate runs right before and right after redis_bench; the report keeps its better figure at each
        # caller count, so a load spike during one of its runs is not counted against the peer.
        peer_dir = ROOT / "bench/peers/redis_rate"
        peer_bin = work / "redis_rate_bench"
        built = runner.run("build go-redis/redis_rate peer (Go module proxy)",
                           ["go", "build", "-o", str(peer_bin), "."], cwd=peer_dir, kind="build", timeout=600)
        peer_cmd = [str(peer_bin), "-url", redis_url or "", "-seconds", str(cfg["seconds"]),
                    "-callers", cfg["redis_callers"]]
        peer_skip = no_redis or (None if built is not None else "the peer did not build (see the step above)")
        before = runner.run("go-redis/redis_rate on the same redis-server (before)", peer_cmd,
                            parse=parsers.json_lines, skip_reason=peer_skip)
        data["redis"] = runner.run(
            "redis_bench: limify beside redis-benchmark (same EVALSHA)",
            [str(bench_bin / "redis_bench"), "--url", redis_url or "", "--seconds", str(cfg["seconds"]),
             "--threads", cfg["redis_callers"], "--rounds", cfg["redis_rounds"]],
            parse=parsers.redis_bench, skip_reason=no_redis)
        after = runner.run("go-redis/redis_rate on the same redis-server (after)", peer_cmd,
                           parse=parsers.json_lines, skip_reason=peer_skip)
        data["redis_rate_runs"] = {"before": before, "after": after}
        best: dict = {}
        for row in (before or []) + (after or []):
            if row["callers"] not in best or row["checks_per_s"] > best[row["callers"]]["checks_per_s"]:
                best[row["callers"]] = row
        data["redis_rate"] = [best[c] for c in sorted(best)] if best else None
        if not has_postgres_bench:
            reason = ("bench/postgres_bench is not in this tree yet (its helper is building it), so limify on "
                      "PostgreSQL and pgbench running the same SQL function were not measured")
            runner.run("postgres_bench: limify beside pgbench", None, skip_reason=reason)
        else:
            data["postgres_raw"] = runner.run(
                "postgres_bench: limify beside pgbench (same SQL function)",
                [str(bench_bin / "postgres_bench"), "--url", pg_url or "", "--seconds", str(cfg["seconds"])],
                skip_reason=None if pg_url else "PostgreSQL did not start (see the step above)")
            data["postgres"] = parsers.postgres_bench(data["postgres_raw"] or "")

        # -- bindings and their in-process peers --------------------------------
        # The C call again, right before the bindings run: their overhead is read against a baseline
        # taken under the same load, not the one capi_bench saw minutes earlier.
        base_json = log_dir / "capi_baseline.json"
        data["capi_baseline"] = runner.run(
            "C API baseline for the bindings (capi_bench, 10,000 keys)",
            [str(bench_bin / "capi_bench"), "--benchmark_min_time=0.2", "--benchmark_out_format=json",
             "--benchmark_filter=keys:10000/real_time/threads:1$|BM_CapiCallFloor",
             f"--benchmark_out={base_json}"], parse=lambda _: parsers.google_benchmark(base_json))
        go_dir = ROOT / "bindings/go"
        go_common = ["go", "test", "-count=1", "-run", "^$", "-benchtime", cfg["go_benchtime"]]
        go1 = runner.run("Go binding (cgo) beside x/time/rate, 1 thread",
                         [*go_common, "-bench", "^Benchmark(CgoFloor|Check|CheckRedis)$", "-cpu", "1", "."],
                         cwd=go_dir, env=benv, parse=parsers.go_bench)
        go2 = runner.run("Go binding beside x/time/rate, 2 goroutines in parallel",
                         [*go_common, "-bench", "^BenchmarkCheckParallel$", "-cpu", "2", "."],
                         cwd=go_dir, env=benv, parse=parsers.go_bench)
        data["go"] = (go1 or []) + (go2 or [])
        if go1 is None and go2 is None:
            data["go"] = None
        renv = dict(benv, CARGO_TARGET_DIR=str(work / "rust-target"))
        rust_dir = ROOT / "bindings/rust/bench"
        compiled = runner.run("Rust binding bench: compile (criterion, governor)",
                              ["cargo", "bench", "--locked", "--bench", "check", "--no-run"],
                              cwd=rust_dir, env=renv, kind="build", timeout=1800)
        data["rust"] = runner.run(
            "Rust binding beside keyed governor (criterion)",
            [str(rust_dir / "run.sh"), str(prefix), *cfg["criterion"]], env=renv, parse=parsers.rust_bench,
            skip_reason=None if compiled is not None else "the benchmark did not compile (see the step above)")
        data["python"] = runner.run(
            "Python binding beside limits, limifyrate, pylimitx, d-r-l",
            [str(ROOT / "bindings/python/bench/run.sh"), str(prefix), cfg["python_seconds"]], env=benv,
            parse=parsers.python_bench, timeout=1800)
    finally:
        stops = [("stop redis-server (by PID)", ROOT / "scripts/redis-local", servers / "redis")]
        if have_pg_local:
            stops.append(("stop PostgreSQL (by PID)", ROOT / "scripts/pg-local", servers / "pg"))
        for name, script, where in stops:
            if where.exists():
                runner.run(name, [str(script), "stop", str(where)], kind="setup")
        shutil.rmtree(servers, ignore_errors=True)

    finished_at = dt.datetime.now(dt.timezone.utc)
    measured = sum(r["seconds"] for r in runner.records if r["kind"] == "measure")
    results = {
        "schema": 1,
        "mode": mode,
        "started_utc": started_at.isoformat(timespec="seconds"),
        "finished_utc": finished_at.isoformat(timespec="seconds"),
        "wall_seconds": round((finished_at - started_at).total_seconds(), 1),
        "measure_seconds": round(measured, 1),
        "load_average_start": load_start,
        "load_average_end": machine.load_average(),
        "machine": machine.machine(),
        "versions": machine.versions(ROOT, build, prefix),
        "settings": cfg,
        "steps": runner.records,
        "data": data,
    }
    if data.get("python") and data["python"].get("versions"):
        results["versions"]["peers"].update({f"{k} (Python)": v for k, v in data["python"]["versions"].items()})
    for row in data.get("redis_rate") or []:
        results["versions"]["peers"]["go-redis/redis_rate (Go)"] = row.get("version", "unknown")
    (out_dir / "results").mkdir(parents=True, exist_ok=True)
    results_path = out_dir / "results" / f"{stamp}.json"
    results_path.write_text(json.dumps(results, indent=1) + "\n")
    runner.index += 1
    print(f"[{runner.index:2d}/{runner.total}] report", end="", flush=True)
    report = write_report.write(results, results_path, out_dir)
    failed = [r for r in runner.records if r["status"] != "ok"]
    print(f"\nresults: {results_path}\nreport:  {report}\n{len(failed)} step(s) not ok; "
          f"{measured:.0f} s measuring, {results['wall_seconds']:.0f} s in all", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
