"""acheck() and acheck_key() on a real redis-server: concurrent calls are decided together
by one worker thread, and every waiter still gets exactly its own answer."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import textwrap
import threading
import weakref

import pytest

from limify import Decision, Engine, InvalidArgumentError, LimifyError, NotFoundError
from limify._async_batcher import MAX_BATCH
from conftest import redis_config


def test_many_tasks_on_one_key_never_exceed_the_limit(flush_redis: str) -> None:
    limit = 50
    with Engine(redis_config(flush_redis, rules=[{"id": "hot", "path": "/hot", "rate": f"{limit}/hour"}])) as engine:

        async def main() -> list[bool]:
            async def one() -> bool:
                return (await engine.acheck("GET", "/hot", user_id="shared")).allowed

            return await asyncio.gather(*(one() for _ in range(4 * MAX_BATCH)))

        assert sum(asyncio.run(main())) == limit


def test_each_waiter_gets_the_answer_for_its_own_request(flush_redis: str) -> None:
    """64 identities, 5 checks each, all in flight together: each sees its own 3/hour."""
    rules = [{"id": "search", "path": "/search", "rate": "3/hour"}]
    with Engine(redis_config(flush_redis, rules=rules)) as engine:

        async def identity(i: int) -> list[bool]:
            out = []
            for _ in range(5):
                d = await engine.acheck("GET", "/search", user_id=f"user-{i}")
                out.append(d.allowed)
            return out

        async def main() -> list[list[bool]]:
            return await asyncio.gather(*(identity(i) for i in range(64)))

        assert asyncio.run(main()) == [[True, True, True, False, False]] * 64


def test_a_failing_request_gets_the_engines_own_error_and_the_rest_are_decided(flush_redis: str) -> None:
    rules = [{"id": "search", "path": "/search", "rate": "3/hour"}]
    with Engine(redis_config(flush_redis, rules=rules)) as engine:

        async def main() -> list[Decision | BaseException]:
            oversized = "u" * (64 * 1024 + 1)  # over the engine's bound on a request field
            ids = [oversized if i == 7 else f"user-{i}" for i in range(20)]
            return await asyncio.gather(*(engine.acheck("GET", "/search", user_id=u) for u in ids),
                                        return_exceptions=True)

        out = asyncio.run(main())
        bad = out.pop(7)
        assert isinstance(bad, InvalidArgumentError) and "user_id" in str(bad) and "item" not in str(bad)
        assert all(isinstance(d, Decision) and d.allowed and d.remaining == 2 for d in out)


class _CountingLibrary:
    """The engine's library, counting its limify_check_key_batch calls."""

    def __init__(self, lib: object) -> None:
        self._lib = lib
        self.key_batches = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._lib, name)

    def limify_check_key_batch(self, *args: object) -> int:
        self.key_batches += 1
        return int(self._lib.limify_check_key_batch(*args))  # type: ignore[attr-defined]


def test_many_acheck_key_tasks_on_one_key_never_exceed_the_limit(flush_redis: str) -> None:
    limit = 50
    with Engine(redis_config(flush_redis, rules=[{"id": "hot", "path": "/hot", "rate": f"{limit}/hour"}])) as engine:

        async def main() -> list[bool]:
            async def one() -> bool:
                return (await engine.acheck_key("hot", "shared")).allowed

            return await asyncio.gather(*(one() for _ in range(4 * MAX_BATCH)))

        assert sum(asyncio.run(main())) == limit


def test_concurrent_acheck_key_calls_are_decided_together_by_the_worker(flush_redis: str) -> None:
    """Not one asyncio.to_thread hand-off each: one worker thread decides them, in batches."""
    rules = [{"id": "jobs", "path": "/jobs", "rate": "3/hour"}]
    with Engine(redis_config(flush_redis, rules=rules)) as engine:
        deciders: set[str] = set()
        engine.set_hooks(on_decision=lambda op, req, d: deciders.add(threading.current_thread().name))
        counting = _CountingLibrary(engine._decider)
        engine._decider = counting  # this engine's calls only

        async def main() -> list[Decision]:
            return await asyncio.gather(*(engine.acheck_key("jobs", f"job-{i % 40}") for i in range(4 * 40)))

        out = asyncio.run(main())
        assert deciders == {"limify-async"}
        assert 0 < counting.key_batches < len(out) // 4  # batches, not a call per check
        allowed: dict[str, int] = {}
        for i, d in enumerate(out):
            allowed[f"job-{i % 40}"] = allowed.get(f"job-{i % 40}", 0) + d.allowed
        assert allowed == {f"job-{i}": 3 for i in range(40)}


def test_acheck_and_acheck_key_under_two_rules_share_a_batch_and_each_waiter_gets_its_own_answer(
    flush_redis: str,
) -> None:
    rules = [{"id": "search", "path": "/search", "rate": "3/hour"},
             {"id": "jobs", "path": "/jobs", "rate": "2/hour"},
             {"id": "exports", "path": "/exports", "rate": "1/hour"}]
    with Engine(redis_config(flush_redis, rules=rules)) as engine:

        async def series(call: str, arg: str) -> list[bool]:
            out = []
            for _ in range(4):
                if call == "acheck":
                    d = await engine.acheck("GET", "/search", user_id=arg)
                else:
                    d = await engine.acheck_key(call, arg)
                out.append(d.allowed)
            return out

        async def main() -> list[list[bool]]:
            return await asyncio.gather(*(series(call, f"u{i}") for i in range(20)
                                          for call in ("acheck", "jobs", "exports")))

        assert asyncio.run(main()) == [[True, True, True, False], [True, True, False, False],
                                       [True, False, False, False]] * 20


def test_a_failing_acheck_key_gets_the_engines_own_error_and_the_rest_are_decided(flush_redis: str) -> None:
    rules = [{"id": "jobs", "path": "/jobs", "rate": "3/hour"}]
    with Engine(redis_config(flush_redis, rules=rules)) as engine:

        async def main() -> list[Decision | BaseException]:
            oversized = "k" * (64 * 1024 + 1)  # over the engine's bound on an identity
            calls = [engine.acheck_key("jobs", oversized if i == 3 else f"job-{i}") for i in range(10)]
            calls.append(engine.acheck_key("nope", "job-0"))
            return await asyncio.gather(*calls, return_exceptions=True)

        out = asyncio.run(main())
        unknown = out.pop()
        bad = out.pop(3)
        assert isinstance(bad, InvalidArgumentError) and "identity" in str(bad) and "item" not in str(bad)
        assert isinstance(unknown, NotFoundError) and "nope" in str(unknown)
        assert all(isinstance(d, Decision) and d.allowed and d.remaining == 2 for d in out)
        with pytest.raises(InvalidArgumentError, match="rule_id and identity"):
            asyncio.run(engine.acheck_key("jobs", ""))  # refused on the loop, before the worker


def test_two_event_loops_in_two_threads_share_the_worker(flush_redis: str) -> None:
    rules = [{"id": "search", "path": "/search", "rate": "3/hour"}]
    with Engine(redis_config(flush_redis, rules=rules)) as engine:
        results: dict[str, list[bool]] = {}

        def run(name: str) -> None:
            async def main() -> list[bool]:
                return [(await engine.acheck("GET", "/search", user_id=name)).allowed for _ in range(4)]

            results[name] = asyncio.run(main())

        threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == {"a": [True, True, True, False], "b": [True, True, True, False]}


def test_a_cancelled_check_does_not_disturb_the_next(silent_redis_url: str) -> None:
    config = redis_config(silent_redis_url, rules=[{"id": "search", "path": "/search", "rate": "3/hour"}])
    config["storage"]["command_timeout_ms"] = 200
    with Engine(config) as engine:

        async def main() -> Decision:
            task = asyncio.create_task(engine.acheck("GET", "/search", user_id="x"))
            await asyncio.sleep(0.02)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return await engine.acheck("GET", "/search", user_id="y")

        d = asyncio.run(main())
        assert d.degraded and d.allowed  # fail open, after the server's silence timed out


def test_a_closed_engine_refuses_async_checks(flush_redis: str) -> None:
    engine = Engine(redis_config(flush_redis, rules=[{"id": "search", "path": "/search", "rate": "3/hour"}]))

    async def main() -> None:
        await engine.acheck("GET", "/search", user_id="x")  # starts the worker
        engine.close()
        with pytest.raises(LimifyError, match="closed"):
            await engine.acheck("GET", "/search", user_id="x")

    asyncio.run(main())


def test_an_engine_dropped_without_close_is_collected_and_its_worker_stops(flush_redis: str) -> None:
    engine = Engine(redis_config(flush_redis, rules=[{"id": "search", "path": "/search", "rate": "3/hour"}]))
    asyncio.run(engine.acheck("GET", "/search", user_id="x"))
    worker = engine._batcher._thread  # type: ignore[union-attr]
    assert worker.is_alive()
    ref = weakref.ref(engine)
    del engine
    gc.collect()
    assert ref() is None
    worker.join(timeout=10)
    assert not worker.is_alive()


def test_a_process_that_never_closes_its_engine_exits_promptly(flush_redis: str) -> None:
    script = textwrap.dedent(f"""
        import asyncio
        from limify import Engine
        engine = Engine({{"storage": {{"type": "redis", "url": "{flush_redis}"}},
                         "rules": [{{"id": "s", "path": "/s", "rate": "3/hour"}}]}})
        print(asyncio.run(engine.acheck("GET", "/s", user_id="x")).allowed)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


@pytest.mark.parametrize("mode", ["open", "closed"])
def test_concurrent_checks_with_storage_down_get_the_failure_mode(dead_redis_url: str, mode: str) -> None:
    rules = [{"id": "search", "path": "/search", "rate": "3/hour"}]
    with Engine(redis_config(dead_redis_url, rules=rules, failure_mode=mode)) as engine:

        async def main() -> list[Decision]:
            return await asyncio.gather(*(engine.acheck("GET", "/search", user_id=f"u{i}") for i in range(40)))

        out = asyncio.run(main())
        assert all(d.degraded and d.allowed == (mode == "open") for d in out)
