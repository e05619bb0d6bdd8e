"""Prints the benchmark's table: checks/s per contender, storage and threads, and limify's ratio."""

from __future__ import annotations

import json
import sys


def main(path: str) -> None:
    rows = [json.loads(line) for line in open(path) if line.strip()]
    best: dict[tuple[str, int], int] = {}
    for r in rows:
        if "checks_per_s" in r and "error" not in r and r["contender"] == "limify":
            best[(r["storage"], r["threads"])] = r["checks_per_s"]
    print(f"| contender | storage | threads | checks/s | limify's check() is N x faster |")
    print("|---|---|---|---|---|")
    for r in rows:
        if "storage" not in r:
            print(f"| {r['contender']} | - | - | not run | {r['error']} |")
            continue
        if "error" in r:
            print(f"| {r['contender']} | {r['storage']} | {r['threads']} | not run | {r['error']} |")
            continue
        ours = best.get((r["storage"], r["threads"]))
        ratio = f"{ours / r['checks_per_s']:.1f}x" if ours and r["contender"] != "limify" else ""
        print(f"| {r['contender']} | {r['storage']} | {r['threads']} | {r['checks_per_s']:,} | {ratio} |")
    for storage in ("memory", "redis"):
        for threads in (1, 8):
            peers = [r for r in rows if r.get("storage") == storage and r.get("threads") == threads
                     and "error" not in r and not r["contender"].startswith("limify")]
            ours = best.get((storage, threads))
            if peers and ours:
                top = max(peers, key=lambda r: r["checks_per_s"])
                print(f"{storage}, {threads} thread(s): limify {ours:,}/s vs fastest peer "
                      f"{top['contender']} {top['checks_per_s']:,}/s = {ours / top['checks_per_s']:.1f}x")


if __name__ == "__main__":
    main(sys.argv[1])
