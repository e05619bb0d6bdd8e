"""Measures one contender on one storage at 1..N threads; prints one JSON line per case.

    python bench_one.py CONTENDER STORAGE REDIS_URL --threads 1 8 --seconds 3

Each thread checks identities drawn round-robin from 1,000 user ids for the
given time; checks per second = all threads' checks / wall time. For Redis
contenders the database is emptied first and the keys written are counted
afterwards, so a limiter that silently failed open without reaching Redis
shows up (keys == 0) instead of looking fast.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from contenders import ASYNC_CONTENDERS, CONTENDERS, limify_batch, limify_key_batch  # noqa: E402

IDENTITIES = [f"user-{i}" for i in range(1000)]


def redis_cli(url: str, *args: str) -> str:
    port = url.rsplit(":", 1)[1]
    return subprocess.run(["redis-cli", "-p", port, *args], capture_output=True, text=True, check=True).stdout.strip()


def measure(per_thread, threads: int, seconds: float, batch: int = 0) -> int:
    counts = [0] * threads
    checks = [per_thread() for _ in range(threads)]
    barrier = threading.Barrier(threads + 1)
    stop = threading.Event()

    def worker(i: int) -> None:
        check = checks[i]
        n = 0
        k = i * 97
        barrier.wait()
        while not stop.is_set():
            if batch:
                idents = [IDENTITIES[(k + j) % 1000] for j in range(batch)]
                assert check(idents) == batch, "a batch check was not allowed"
                n += batch
                k += batch
            else:
                for _ in range(32):
                    if not check(IDENTITIES[k % 1000]):
                        raise AssertionError("a check was denied: the limit is meant to be out of reach")
                    k += 1
                n += 32
        counts[i] = n

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - start
    return int(sum(counts) / elapsed)


def measure_async(make_check, url: str, tasks: int, seconds: float) -> int:
    """One event loop on this thread; `tasks` tasks each check in a loop for `seconds`."""

    async def run() -> int:
        check = make_check(url)
        counts = [0] * tasks
        stop = time.perf_counter() + seconds

        async def task(i: int) -> None:
            k = i * 97
            while time.perf_counter() < stop:
                if not await check(IDENTITIES[k % 1000]):
                    raise AssertionError("a check was denied: the limit is meant to be out of reach")
                k += 1
                counts[i] += 1

        start = time.perf_counter()
        await asyncio.gather(*(task(i) for i in range(tasks)))
        return int(sum(counts) / (time.perf_counter() - start))

    return asyncio.run(run())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("contender", choices=[*CONTENDERS, "limify-batch", "limify-key-batch"])
    ap.add_argument("storage", choices=["memory", "redis"])
    ap.add_argument("redis_url")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--tasks", type=int, nargs="*", default=[],
                    help="instead of threads: one event loop running this many tasks (Redis, async API)")
    args = ap.parse_args()
    for tasks in args.tasks:
        row = {"contender": args.contender, "storage": args.storage, "threads": 1, "tasks": tasks}
        try:
            redis_cli(args.redis_url, "flushall")
            row["checks_per_s"] = measure_async(ASYNC_CONTENDERS[args.contender], args.redis_url, tasks, args.seconds)
            row["redis_keys"] = int(redis_cli(args.redis_url, "dbsize"))
            if row["redis_keys"] == 0:
                row["error"] = "wrote no key to Redis (failed open?)"
        except Exception as exc:  # a peer that breaks is reported, not fatal
            row["error"] = f"{type(exc).__name__}: {exc}"
        print(json.dumps(row), flush=True)
    for threads in ([] if args.tasks else args.threads):
        row = {"contender": args.contender, "storage": args.storage, "threads": threads}
        try:
            if args.storage == "redis":
                redis_cli(args.redis_url, "flushall")
            if args.contender in ("limify-batch", "limify-key-batch"):
                make = limify_batch if args.contender == "limify-batch" else limify_key_batch
                row["checks_per_s"] = measure(make(args.storage, args.redis_url), threads, args.seconds, batch=64)
            else:
                per_thread = CONTENDERS[args.contender](args.storage, args.redis_url)
                row["checks_per_s"] = measure(per_thread, threads, args.seconds)
            if args.storage == "redis":
                row["redis_keys"] = int(redis_cli(args.redis_url, "dbsize"))
                if row["redis_keys"] == 0:
                    row["error"] = "wrote no key to Redis (failed open?)"
        except NotImplementedError as exc:
            row["error"] = f"no {args.storage} storage ({exc})"
        except Exception as exc:  # a peer that breaks is reported, not fatal
            row["error"] = f"{type(exc).__name__}: {exc}"
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
