"""Turns each benchmark program's output into plain rows (lists of dicts).

One function per program. Each takes the text the program printed (or the
path of the file it wrote) and returns what it measured; a line it does not
recognise is ignored, so a program that gains a column or a section does not
break the report (its raw log is kept beside the results anyway).
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

ALGORITHMS = ["token_bucket", "fixed_window", "sliding_window", "sliding_window_counter", "gcra"]


def google_benchmark(path: Path) -> list[dict]:
    """A Google Benchmark --benchmark_out JSON file: one row per benchmark.

    Keeps the name's parts (algo, keys, threads, a bare argument) as fields,
    ns per iteration (real time) and iterations per second.
    """
    data = json.loads(Path(path).read_text())
    rows = []
    for b in data.get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            if b.get("error_occurred"):
                rows.append({"name": b["name"], "error": b.get("error_message", "error")})
            continue
        unit = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        ns = b["real_time"] * unit
        row = {"name": b["name"], "benchmark": b["name"].split("/")[0], "ns": ns,
               "per_second": 1e9 / ns if ns > 0 else None, "threads": b.get("threads", 1),
               "iterations": b.get("iterations")}
        for part in b["name"].split("/")[1:]:
            if ":" in part:
                key, value = part.split(":", 1)
                if value.isdigit():
                    row[key] = int(value)
            elif part.isdigit():
                row["arg"] = int(part)
        if "algo" in row and row["algo"] < len(ALGORITHMS):
            row["algorithm"] = ALGORITHMS[row["algo"]]
        if b.get("label"):
            row["label"] = b["label"]
        rows.append(row)
    return rows


def google_benchmark_context(path: Path) -> dict:
    """The context block Google Benchmark records (CPU scaling, caches, load)."""
    try:
        return json.loads(Path(path).read_text()).get("context", {})
    except (OSError, ValueError):
        return {}


def memory_per_key(text: str) -> list[dict]:
    """memory_per_key: "storage keys bytes_total bytes_per_key seconds" lines."""
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0] in ("memory", "redis") and parts[1].isdigit():
            rows.append({"storage": parts[0], "keys": int(parts[1]), "bytes_total": int(parts[2]),
                         "bytes_per_key": float(parts[3]), "seconds": float(parts[4])})
    return rows


def sqlite_bench(text: str) -> dict:
    """sqlite_bench's two markdown tables: engine rows and the bare-upsert floor."""
    engine, floor = [], []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0] in ("normal", "full", "off") and cells[1].isdigit():
            engine.append({"synchronous": cells[0], "processes": int(cells[1]),
                           "per_second": float(cells[2]), "us_per_check_per_process": float(cells[3]),
                           "note": cells[4] if len(cells) > 4 and cells[4] else ""})
        elif len(cells) == 3 and cells[0] in ("normal", "full", "off"):
            try:
                floor.append({"synchronous": cells[0], "per_second": float(cells[1]),
                              "us_per_statement": float(cells[2])})
            except ValueError:
                pass
    return {"engine": engine, "bare_upsert": floor}


_REDIS_SECTION = re.compile(r"^(\w+) \(native path\)")
_REDIS_ROW = re.compile(
    r"^\s*(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+\|\s+-c\s+\d+\s+-P\s+\d+\s+([\d.]+)\s+([\d.]+)\s+(\d+)%")
_REDIS_PIPED = re.compile(r"-c\s+(\d+)\s+-P\s+(\d+)\s+\(ceiling\)\s+([\d.]+)")
_REDIS_MEMORY = re.compile(r"(\w+) (\d+) B;")
# "  64 callers / ceiling: 73% (3 runs: 66%..79%)": the median of paired runs, ours then the ceiling's.
_REDIS_VS_CEILING = re.compile(r"^\s*(\d+) callers / ceiling: (\d+)%\s*(.*)$")


def redis_bench(text: str) -> dict:
    """redis_bench: per algorithm, limify's rows beside redis-benchmark's."""
    rows, ceilings, memory = [], [], {}
    algorithm = None
    for line in text.splitlines():
        m = _REDIS_SECTION.match(line)
        if m:
            algorithm = m.group(1)
            continue
        m = _REDIS_ROW.match(line)
        if m and algorithm:
            rows.append({"algorithm": algorithm, "callers": int(m.group(1)), "per_second": float(m.group(2)),
                         "p50_us": float(m.group(3)), "p99_us": float(m.group(4)),
                         "user_cpu_us_per_check": float(m.group(5)),
                         "redis_benchmark_per_second": float(m.group(6)),
                         "redis_benchmark_p50_us": float(m.group(7)), "errors": "errors" in line})
            continue
        m = _REDIS_VS_CEILING.match(line)
        if m and algorithm and ceilings and ceilings[-1]["algorithm"] == algorithm:
            ceilings[-1].update(callers=int(m.group(1)), paired_percent=int(m.group(2)),
                                spread=m.group(3).strip(" ()"))
            continue
        m = _REDIS_PIPED.search(line)
        if m and algorithm:
            ceilings.append({"algorithm": algorithm, "clients": int(m.group(1)), "pipeline": int(m.group(2)),
                             "per_second": float(m.group(3))})
            continue
        if line.startswith("memory per key"):
            memory = {a: int(b) for a, b in _REDIS_MEMORY.findall(line)}
    return {"rows": rows, "pipelined_ceiling": ceilings, "memory_usage_bytes": memory}


def json_lines(text: str) -> list[dict]:
    """Lines that are JSON objects (the peers' and the Python bench's output)."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                rows.append(json.loads(line))
            except ValueError:
                pass
    return rows


_GO_BENCH = re.compile(r"^(Benchmark\S+?)(?:-(\d+))?\s+(\d+)\s+([\d.]+) ns/op(.*)$")


def go_bench(text: str) -> list[dict]:
    """`go test -bench` lines: name, GOMAXPROCS, ns/op and extra metrics."""
    rows = []
    for line in text.splitlines():
        m = _GO_BENCH.match(line.strip())
        if not m:
            continue
        row = {"name": m.group(1), "procs": int(m.group(2) or 1), "iterations": int(m.group(3)),
               "ns": float(m.group(4))}
        for value, unit in re.findall(r"([\d.]+) (\S+)", m.group(5)):
            row[unit.replace("/", "_per_")] = float(value)
        rows.append(row)
    return rows


_RUST_ROW = re.compile(r"^(.+?) / (.+?)\s+([\d.]+)$")


def rust_bench(text: str) -> list[dict]:
    """bindings/rust/bench/run.sh's closing table: "group / bench   ns"."""
    rows, in_table = [], False
    for line in text.splitlines():
        if line.startswith("== ns per check"):
            in_table = True
            continue
        m = _RUST_ROW.match(line.strip()) if in_table else None
        if m:
            rows.append({"group": m.group(1).strip(), "name": m.group(2).strip(), "ns": float(m.group(3))})
    return rows


def python_bench(text: str) -> dict:
    """bindings/python/bench/run.sh: its JSON rows and the peers' versions."""
    versions = {}
    for name, version in re.findall(r"\b(limits|pylimitx|distributed-rate-limiter|redis|limifyrate)==(\S+)", text):
        versions[name] = version
    report = _python_bench_report()
    rows = report.medians(json_lines(text))  # run.sh runs every case once per round
    return {"rows": rows, "versions": versions, "fastest_ways": report.fastest_ways(rows)}


def _python_bench_report():
    """bindings/python/bench/report.py, whose medians and paired ratios the report reuses."""
    spec = importlib.util.spec_from_file_location(
        "python_bench_report", Path(__file__).resolve().parents[2] / "bindings/python/bench/report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def markdown_tables(text: str) -> list[dict]:
    """Every row of every markdown table in `text`, keyed by its table's header."""
    rows, header = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if header is None:
            header = cells
        elif not all(set(c) <= set("-: ") for c in cells):
            rows.append(dict(zip(header, cells)))
    return rows


_PG_ROW = re.compile(r"^(on|off)\s+(\d+)\s+(\S+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)")


def postgres_bench(text: str) -> dict:
    """postgres_bench: "sync callers client checks/s p50 p99 [ratio]" rows (client: pgbench or limify)."""
    rows = []
    for line in text.splitlines():
        m = _PG_ROW.match(line.strip())
        if m:
            rows.append({"synchronous_commit": m.group(1), "callers": int(m.group(2)), "client": m.group(3),
                         "per_second": float(m.group(4)), "p50_us": float(m.group(5)), "p99_us": float(m.group(6))})
    return {"rows": rows, "headline": text.splitlines()[0] if text.strip() else ""}
