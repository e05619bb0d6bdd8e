"""Prints the benchmark's table: checks/s per contender, storage and threads, and limify's ratio."""

from __future__ import annotations

import json
import sys


def is_limify(contender: str) -> bool:
    """limify's own cases ("limify", "limify-batch", ...); "limifyrate" is a peer."""
    return contender == "limify" or contender.startswith("limify-")


def medians(rows: list[dict]) -> list[dict]:
    """One row per case (contender, storage, threads, tasks): the median of its rounds' checks/s.

    A case with no successful round keeps its last error."""
    cases: dict[tuple, list[dict]] = {}
    for r in rows:
        cases.setdefault((r["contender"], r.get("storage"), r.get("threads"), r.get("tasks")), []).append(r)
    out = []
    for runs in cases.values():
        ok = sorted((r for r in runs if "error" not in r and "checks_per_s" in r), key=lambda r: r["checks_per_s"])
        if not ok:
            out.append(runs[-1])
            continue
        row = dict(ok[(len(ok) - 1) // 2])  # the median (the lower one for an even count)
        row["rounds"] = [r["checks_per_s"] for r in ok]
        # Round by round, in the order run (None: failed), for ratios paired within a round.
        row["by_round"] = [None if "error" in r else r.get("checks_per_s") for r in runs]
        out.append(row)
    return out


def fastest_ways(rows: list[dict]) -> dict | None:
    """Redis from one thread, each side's fastest way (per call, batch, async) against the other's.

    `ours` and `peer` are the best medians; `paired` is, for each round, limify's best figure of
    that round over the peers' best of the same round: the contenders of a round run minutes
    apart at most, while the machine's speed drifts between rounds (the ratio of two medians may
    take them from different rounds).
    """
    ok = [r for r in rows if r.get("storage") == "redis" and r.get("threads") == 1 and "error" not in r]
    ours = [r for r in ok if is_limify(r["contender"])]
    peers = [r for r in ok if not is_limify(r["contender"])]
    if not ours or not peers:
        return None

    def best_in(side: list[dict], k: int) -> int | None:
        values = [r["by_round"][k] for r in side if k < len(r.get("by_round", [])) and r["by_round"][k]]
        return max(values, default=None)

    rounds = max(len(r.get("by_round", [])) for r in ok)
    paired = []
    for k in range(rounds):
        mine, theirs = best_in(ours, k), best_in(peers, k)
        if mine and theirs:
            paired.append(round(mine / theirs, 2))
    return {"ours": max(ours, key=lambda r: r["checks_per_s"]), "peer": max(peers, key=lambda r: r["checks_per_s"]),
            "paired": paired}


def median(values: list[float]) -> float:
    values = sorted(values)
    return values[(len(values) - 1) // 2]


def load(path: str) -> list[dict]:
    return medians([json.loads(line) for line in open(path) if line.strip()])


def main(path: str) -> None:
    rows = load(path)
    best: dict[tuple[str, int], int] = {}
    for r in rows:
        if "checks_per_s" in r and "error" not in r and r["contender"] == "limify" and "tasks" not in r:
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
        if "tasks" in r:
            continue  # the async rows have their own table
        ours = best.get((r["storage"], r["threads"]))
        ratio = f"{ours / r['checks_per_s']:.1f}x" if ours and not is_limify(r["contender"]) else ""
        print(f"| {r['contender']} | {r['storage']} | {r['threads']} | {r['checks_per_s']:,} | {ratio} |")
    for storage in ("memory", "redis"):
        for threads in (1, 8):
            peers = [r for r in rows if r.get("storage") == storage and r.get("threads") == threads
                     and "error" not in r and "tasks" not in r and not is_limify(r["contender"])]
            ours = best.get((storage, threads))
            if peers and ours:
                top = max(peers, key=lambda r: r["checks_per_s"])
                print(f"{storage}, {threads} thread(s): limify {ours:,}/s vs fastest peer "
                      f"{top['contender']} {top['checks_per_s']:,}/s = {ours / top['checks_per_s']:.1f}x")


def async_table(rows: list[dict]) -> None:
    """One event loop on one thread running N tasks, on Redis: limify's acheck vs limits.aio."""
    rows = [r for r in rows if "tasks" in r]
    if not rows:
        return
    print()
    print("| async API, one event loop | tasks | checks/s | limify / limits.aio |")
    print("|---|---|---|---|")
    by = {(r["contender"], r["tasks"]): r for r in rows}
    for r in rows:
        if "error" in r:
            print(f"| {r['contender']} | {r['tasks']} | not run | {r['error']} |")
            continue
        peer = by.get(("limits", r["tasks"]))
        ratio = (f"{r['checks_per_s'] / peer['checks_per_s']:.1f}x"
                 if r["contender"] == "limify" and peer and "error" not in peer else "")
        print(f"| {r['contender']} | {r['tasks']} | {r['checks_per_s']:,} | {ratio} |")


def one_thread_summary(rows: list[dict]) -> None:
    """Redis from one thread: each side's best way (per call, batch, async) against the other's."""
    ways = fastest_ways(rows)
    if ways is None:
        return
    best, top, paired = ways["ours"], ways["peer"], ways["paired"]

    def how(r: dict) -> str:
        return r["contender"] + (f" async, {r['tasks']} tasks" if "tasks" in r else "")

    print(f"redis, one thread, best of each: limify {how(best)} {best['checks_per_s']:,}/s vs "
          f"{how(top)} {top['checks_per_s']:,}/s = {best['checks_per_s'] / top['checks_per_s']:.1f}x"
          + (f"; round by round {median(paired):.1f}x (rounds: {', '.join(f'{x:.1f}x' for x in paired)})"
             if paired else ""))


if __name__ == "__main__":
    main(sys.argv[1])
    all_rows = load(sys.argv[1])
    async_table(all_rows)
    one_thread_summary(all_rows)
