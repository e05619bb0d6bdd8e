"""The contenders of the side-by-side benchmark: limify and the Python rate limiters it replaces.

Each factory takes the storage ("memory" or "redis") and the Redis URL and
returns `per_thread() -> check(identity) -> bool`: per_thread is called once
in each benchmark thread (async-only libraries need a loop and client per
thread), check once per request. Every limit is far above the load, so every
check is a full, allowed decision.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

Check = Callable[[str], bool]
PerThread = Callable[[], Check]
LIMIT = 100_000_000  # per second: never reached
# limify runs the fastest peer's algorithm (limits' fixed window), so the ratio compares like with like.
LIMIFY_RULE = {"id": "bench", "path": "/bench", "rate": f"{LIMIT}/second", "algorithm": "fixed_window"}


def limify(storage: str, url: str) -> PerThread:
    """limify's Engine.check: the whole request path (route, identity, plan, keys, step)."""
    from limify import Engine

    store: dict[str, Any] = {"type": "memory"} if storage == "memory" else {"type": "redis", "url": url}
    engine = Engine({"storage": store, "rules": [LIMIFY_RULE]})
    check = engine.check

    def per_thread() -> Check:
        return lambda ident: check("GET", "/bench", user_id=ident).allowed

    return per_thread


def limify_batch(storage: str, url: str, size: int = 64) -> Callable[[], Callable[[list[str]], int]]:
    """limify's Engine.check_batch: many checks in one call (one pipelined round trip on Redis)."""
    from limify import Decision, Engine, Request

    store: dict[str, Any] = {"type": "memory"} if storage == "memory" else {"type": "redis", "url": url}
    engine = Engine({"storage": store, "rules": [LIMIFY_RULE]})

    def per_thread() -> Callable[[list[str]], int]:
        def run(idents: list[str]) -> int:
            out = engine.check_batch([Request("GET", "/bench", user_id=i) for i in idents])
            return sum(1 for d in out if isinstance(d, Decision) and d.allowed)

        return run

    return per_thread


def limify_key_batch(storage: str, url: str) -> Callable[[], Callable[[list[str]], int]]:
    """limify's Engine.check_key_batch: the identities alone, no Request per check."""
    from limify import Decision, Engine

    store: dict[str, Any] = {"type": "memory"} if storage == "memory" else {"type": "redis", "url": url}
    engine = Engine({"storage": store, "rules": [LIMIFY_RULE]})
    rule_id = LIMIFY_RULE["id"]

    def per_thread() -> Callable[[list[str]], int]:
        def run(idents: list[str]) -> int:
            out = engine.check_key_batch(rule_id, idents)
            return sum(1 for d in out if isinstance(d, Decision) and d.allowed)

        return run

    return per_thread


def limits(storage: str, url: str) -> PerThread:
    """`limits` (the library behind Flask-Limiter and SlowAPI), fixed window: its cheapest strategy."""
    from limits import RateLimitItemPerSecond, strategies
    from limits import storage as limits_storage

    store = limits_storage.MemoryStorage() if storage == "memory" else limits_storage.RedisStorage(url)
    limiter = strategies.FixedWindowRateLimiter(store)
    item = RateLimitItemPerSecond(LIMIT)

    def per_thread() -> Check:
        return lambda ident: limiter.hit(item, "bench", ident)

    return per_thread


def limifyrate(storage: str, url: str) -> PerThread:
    """limifyrate (PyPI `limifyrate`, imported as `limify`): its resolvers + sync token bucket."""
    if storage != "redis":
        raise NotImplementedError("Redis only")
    import redis
    from limify import Limify, LimifyConfig  # limifyrate's own package, in its own venv
    from limify.core.algorithms.token_bucket import TokenBucketAlgorithm
    from limify.core.context import RequestContext
    from limify.core.redis_adapter import RedisSyncAdapter
    from limify.core.resolvers.plan_resolver import PlanResolver
    from limify.plan_provider import CustomPlanProvider

    algorithm = TokenBucketAlgorithm(RedisSyncAdapter(redis.Redis.from_url(url)))
    lim = Limify(
        algorithm=algorithm,
        config=LimifyConfig(rules=[{"id": "bench", "method": "*", "path": "/bench", "rate": f"{LIMIT}/second"}]),
        plan_resolver=PlanResolver(CustomPlanProvider()),  # its default provider: no plan
    )

    def per_thread() -> Check:
        def check(ident: str) -> bool:
            # What its (async) Limiter.check does, with the sync algorithm.
            ctx = RequestContext(method="GET", path="/bench", user_id=ident)
            rule = lim.rule_resolver.resolve(ctx)
            plan = lim.plan_resolver.resolve(ctx, rule)
            key = lim.key_resolver.resolve(ctx, rule, plan)
            return bool(algorithm.allow(key, plan, ctx).allowed)

        return check

    return per_thread


def pylimitx(storage: str, url: str) -> PerThread:
    """pylimitx (async only): RateLimiter.check, its default sliding window, one loop per thread."""
    if storage != "redis":
        raise NotImplementedError("Redis only")
    from pylimitx import RateLimiter
    from redis.asyncio import Redis

    def per_thread() -> Check:
        loop = asyncio.new_event_loop()
        limiter = RateLimiter(redis=Redis.from_url(url, decode_responses=True))

        def check(ident: str) -> bool:
            result = loop.run_until_complete(limiter.check("bench", ident, LIMIT, 1))
            return bool(result.allowed)

        return check

    return per_thread


def distributed_rate_limiter(storage: str, url: str) -> PerThread:
    """distributed-rate-limiter: RateLimiter.allow (token bucket, Redis TIME)."""
    if storage != "redis":
        raise NotImplementedError("Redis only")
    from distributed_rate_limiter import RateLimiter

    limiter = RateLimiter(rate=LIMIT, per=1, redis_url=url, namespace="bench")

    def per_thread() -> Check:
        def check(ident: str) -> bool:
            allowed, _info = limiter.allow(ident)
            return bool(allowed)

        return check

    return per_thread


AsyncCheck = Callable[[str], Awaitable[bool]]


def limify_async(url: str) -> AsyncCheck:
    """limify's Engine.acheck: concurrent calls share a worker thread and its round trips."""
    from limify import Engine

    engine = Engine({"storage": {"type": "redis", "url": url}, "rules": [LIMIFY_RULE]})

    async def check(ident: str) -> bool:
        return (await engine.acheck("GET", "/bench", user_id=ident)).allowed

    return check


def limits_async(url: str) -> AsyncCheck:
    """`limits.aio` (what SlowAPI-style async apps use), fixed window, on redis-py's asyncio client."""
    from limits import RateLimitItemPerSecond
    from limits.aio import storage as limits_storage
    from limits.aio import strategies

    limiter = strategies.FixedWindowRateLimiter(
        limits_storage.RedisStorage(url.replace("redis://", "async+redis://", 1), implementation="redispy")
    )
    item = RateLimitItemPerSecond(LIMIT)

    async def check(ident: str) -> bool:
        return await limiter.hit(item, "bench", ident)

    return check


# Redis only: one event loop on one thread, many tasks.
ASYNC_CONTENDERS: dict[str, Callable[[str], AsyncCheck]] = {
    "limify": limify_async,
    "limits": limits_async,
}

CONTENDERS: dict[str, Callable[[str, str], PerThread]] = {
    "limify": limify,
    "limits": limits,
    "limifyrate": limifyrate,
    "pylimitx": pylimitx,
    "distributed-rate-limiter": distributed_rate_limiter,
}
