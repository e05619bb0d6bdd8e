"""A real redis-server: shared decisions, the failure policy, threads, and the async rule
(remote storages run in a worker thread; memory runs on the event loop)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from limify import Decision, Engine, Request
from conftest import memory_config, redis_config

RULES = [{"id": "search", "path": "/search", "rate": "3/hour"}]


def test_two_engines_share_one_redis_limit(flush_redis: str) -> None:
    with Engine(redis_config(flush_redis, rules=RULES)) as a, Engine(redis_config(flush_redis, rules=RULES)) as b:
        got = [e.check("GET", "/search", user_id="u").allowed for e in (a, b, a, b)]
        assert got == [True, True, True, False]
        assert not b.check("GET", "/search", user_id="u").degraded


def test_redis_keys_hold_no_raw_identity(flush_redis: str) -> None:
    import subprocess

    port = flush_redis.rsplit(":", 1)[1]
    with Engine(redis_config(flush_redis, rules=RULES)) as engine:
        engine.check("GET", "/search", user_id="alice@example.com")
    keys = subprocess.run(["redis-cli", "-p", port, "--scan"], capture_output=True, text=True).stdout
    assert keys.strip() and "alice" not in keys
    ttl = subprocess.run(["redis-cli", "-p", port, "pttl", keys.split()[0]], capture_output=True, text=True).stdout
    assert int(ttl) > 0  # keys expire


def test_storage_down_fails_open_degraded(dead_redis_url: str) -> None:
    with Engine(redis_config(dead_redis_url, rules=RULES, failure_mode="open")) as engine:
        d = engine.check("GET", "/search", user_id="u")
        assert d.allowed and d.degraded


def test_storage_down_fails_closed_degraded(dead_redis_url: str) -> None:
    with Engine(redis_config(dead_redis_url, rules=RULES, failure_mode="closed")) as engine:
        d = engine.check("GET", "/search", user_id="u")
        assert not d.allowed and d.degraded


def test_eight_threads_on_one_redis_key_never_exceed_the_limit(flush_redis: str) -> None:
    with Engine(redis_config(flush_redis, rules=[{"id": "hot", "path": "/hot", "rate": "100/hour"}])) as engine:
        allowed = [0] * 8

        def worker(i: int) -> None:
            for _ in range(40):
                allowed[i] += engine.check("GET", "/hot", user_id="shared").allowed

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(allowed) == 100  # 320 tries; a token comes back every 36 s


def test_batch_on_redis_matches_single_checks(flush_redis: str) -> None:
    with Engine(redis_config(flush_redis, rules=RULES)) as engine:
        out = engine.check_batch([Request("GET", "/search", user_id="b")] * 4)
        assert [d.allowed for d in out if isinstance(d, Decision)] == [True, True, True, False]


def _deciding_threads(engine: Engine, call: str) -> tuple[int, set[int]]:
    """Runs one async call; returns the loop's thread id and the threads that decided."""
    threads: set[int] = set()
    engine.set_hooks(on_decision=lambda op, req, d: threads.add(threading.get_ident()))

    async def main() -> int:
        if call == "acheck":
            await engine.acheck("GET", "/search", user_id="x")
        else:
            await engine.acheck_key("search", "x")
        return threading.get_ident()

    return asyncio.run(main()), threads


@pytest.mark.parametrize("call", ["acheck", "acheck_key"])
def test_async_memory_runs_on_the_loop(call: str) -> None:
    with Engine(memory_config(rules=RULES)) as engine:
        assert not engine.blocking
        loop_thread, deciders = _deciding_threads(engine, call)
        assert deciders == {loop_thread}


@pytest.mark.parametrize("call", ["acheck", "acheck_key"])
def test_async_redis_runs_in_a_worker_thread(flush_redis: str, call: str) -> None:
    with Engine(redis_config(flush_redis, rules=RULES)) as engine:
        assert engine.blocking
        loop_thread, deciders = _deciding_threads(engine, call)
        assert len(deciders) == 1 and loop_thread not in deciders


def test_async_redis_leaves_the_loop_free_while_storage_is_slow(silent_redis_url: str) -> None:
    """A check waiting on a server that never answers must not stall other tasks."""
    config = redis_config(silent_redis_url, rules=RULES)
    config["storage"]["command_timeout_ms"] = 300
    with Engine(config) as engine:

        async def main() -> int:
            ticks = 0
            stop = asyncio.Event()

            async def ticker() -> None:
                nonlocal ticks
                while not stop.is_set():
                    ticks += 1
                    await asyncio.sleep(0.005)

            task = asyncio.create_task(ticker())
            d = await engine.acheck("GET", "/search", user_id="x")
            stop.set()
            await task
            assert d.degraded
            return ticks

        assert asyncio.run(main()) >= 10  # 300 ms of waiting, a tick every 5 ms


def test_reload_from_memory_to_redis_moves_decisions_and_async_calls_off_the_loop(flush_redis: str) -> None:
    import subprocess

    with Engine(memory_config(rules=RULES)) as engine:
        assert not engine.blocking
        engine.reload(redis_config(flush_redis, rules=RULES))
        assert engine.blocking
        assert [engine.check("GET", "/search", user_id="r").allowed for _ in range(4)] == [True, True, True, False]
        port = flush_redis.rsplit(":", 1)[1]
        keys = subprocess.run(["redis-cli", "-p", port, "dbsize"], capture_output=True, text=True).stdout
        assert int(keys) == 1  # the state lives in Redis now
        loop_thread, deciders = _deciding_threads(engine, "acheck")
        assert len(deciders) == 1 and loop_thread not in deciders
