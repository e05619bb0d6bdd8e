"""FastAPI and Starlette through their own TestClient (httpx)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from limify import Engine
from limify.starlette import LimifyMiddleware, RateLimit, install, rate_limit
from conftest import redis_config, web_config


def fastapi_app(engine: Engine, **options: Any) -> FastAPI:
    app = FastAPI()

    # An auth layer that runs before limify: added after it, so it is outside.
    @app.get("/items")
    async def items() -> dict[str, str]:
        return {"ok": "items"}

    @app.post("/login")
    async def login() -> dict[str, str]:
        return {"ok": "login"}

    @app.get("/search", dependencies=[Depends(RateLimit("search_route"))])
    async def search() -> dict[str, str]:
        return {"ok": "search"}

    @app.get("/export", dependencies=[Depends(RateLimit("export_route"))])
    async def export() -> dict[str, str]:
        return {"ok": "export"}

    @app.get("/decorated")
    @rate_limit("search_route")
    async def decorated(request: Request) -> dict[str, str]:
        return {"ok": "decorated"}

    install(app, engine, **options)

    @app.middleware("http")
    async def auth(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if "x-user" in request.headers:
            request.state.user_id = request.headers["x-user"]
        if "x-org" in request.headers:
            request.state.org_id = request.headers["x-org"]
        return await call_next(request)

    return app


@pytest.fixture
def engine() -> Engine:
    return Engine(web_config())


@pytest.fixture
def client(engine: Engine) -> TestClient:
    return TestClient(fastapi_app(engine))


def test_allowed_responses_carry_rate_limit_headers(client: TestClient) -> None:
    r = client.get("/items", headers={"x-user": "alice"})
    assert r.status_code == 200 and r.json() == {"ok": "items"}
    assert r.headers["X-RateLimit-Limit"] == "5"
    assert r.headers["X-RateLimit-Remaining"] == "4"
    assert r.headers["X-RateLimit-Reset"] == "720"  # one token of 5/hour
    assert "Retry-After" not in r.headers


def test_blocked_is_429_with_retry_after_and_a_json_body(client: TestClient) -> None:
    for _ in range(5):
        assert client.get("/items", headers={"x-user": "alice"}).status_code == 200
    r = client.get("/items", headers={"x-user": "alice"})
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "720"
    assert r.headers["X-RateLimit-Limit"] == "5" and r.headers["X-RateLimit-Remaining"] == "0"
    assert r.json() == {"detail": "Rate limit exceeded", "retry_after": 720, "limit": 5,
                        "rule": "global", "plan": "default"}


def test_per_route_path_rules_by_method_and_priority(client: TestClient) -> None:
    codes = [client.post("/login", headers={"x-user": "a"}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert client.get("/items", headers={"x-user": "a"}).headers["X-RateLimit-Limit"] == "5"


def test_identity_isolation_user_org_api_key_ip(client: TestClient) -> None:
    for _ in range(5):
        client.get("/items", headers={"x-user": "alice"})
    assert client.get("/items", headers={"x-user": "alice"}).status_code == 429
    assert client.get("/items", headers={"x-user": "bob"}).status_code == 200
    assert client.get("/items", headers={"x-org": "acme"}).status_code == 200
    assert client.get("/items", headers={"X-API-Key": "k1"}).status_code == 200
    assert client.get("/items").headers["X-RateLimit-Remaining"] == "4"  # by client address
    # The user id wins over an API key: alice is still limited with a key.
    assert client.get("/items", headers={"x-user": "alice", "X-API-Key": "k2"}).status_code == 429


def test_route_limit_stricter_than_middleware_binds(client: TestClient) -> None:
    r = client.get("/search", headers={"x-user": "u"})
    assert r.status_code == 200
    # route: 3/hour (2 left) binds over global: 5/hour (4 left).
    assert (r.headers["X-RateLimit-Limit"], r.headers["X-RateLimit-Remaining"]) == ("3", "2")
    client.get("/search", headers={"x-user": "u"})
    client.get("/search", headers={"x-user": "u"})
    r = client.get("/search", headers={"x-user": "u"})
    assert r.status_code == 429
    assert r.json()["rule"] == "search_route" and r.json()["limit"] == 3
    assert r.headers["X-RateLimit-Limit"] == "3" and r.headers["Retry-After"] == "1200"


def test_middleware_stricter_than_route_binds(client: TestClient) -> None:
    r = client.get("/export", headers={"x-user": "v"})
    # global: 5/hour (4 left) binds over the route's 10/hour (9 left).
    assert (r.headers["X-RateLimit-Limit"], r.headers["X-RateLimit-Remaining"]) == ("5", "4")
    for _ in range(4):
        assert client.get("/export", headers={"x-user": "v"}).status_code == 200
    r = client.get("/export", headers={"x-user": "v"})
    assert r.status_code == 429 and r.json()["rule"] == "global"


def test_route_decorator_limits_and_reports(client: TestClient) -> None:
    got = [client.get("/decorated", headers={"x-user": "w"}) for _ in range(4)]
    assert [r.status_code for r in got] == [200, 200, 200, 429]
    assert got[0].headers["X-RateLimit-Limit"] == "3"
    assert got[3].json()["rule"] == "search_route"


def test_x_forwarded_for_is_ignored_unless_from_a_trusted_proxy(engine: Engine) -> None:
    plain = TestClient(fastapi_app(engine))
    for i in range(5):
        plain.get("/items", headers={"X-Forwarded-For": f"203.0.113.{i}"})
    # Spoofed headers did not create new identities: the peer is limited.
    assert plain.get("/items", headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 429


def test_x_forwarded_for_from_a_trusted_proxy_names_the_client() -> None:
    engine = Engine(web_config())
    # TestClient's peer is "testclient": give it an address through a tiny ASGI shim.
    app = fastapi_app(engine, trusted_proxies=["10.0.0.0/8"])

    async def from_proxy(scope: Any, receive: Any, send: Any) -> None:
        scope = dict(scope, client=("10.1.2.3", 5555))
        await app(scope, receive, send)

    client = TestClient(from_proxy)
    for _ in range(5):
        client.get("/items", headers={"X-Forwarded-For": "198.51.100.1, 10.9.9.9"})
    assert client.get("/items", headers={"X-Forwarded-For": "198.51.100.1, 10.9.9.9"}).status_code == 429
    assert client.get("/items", headers={"X-Forwarded-For": "198.51.100.2, 10.9.9.9"}).status_code == 200
    # A client cannot prepend its way out: the rightmost untrusted hop counts.
    assert client.get("/items", headers={"X-Forwarded-For": "1.1.1.1, 198.51.100.1"}).status_code == 429


def test_dot_segments_do_not_escape_a_rule(engine: Engine) -> None:
    app = fastapi_app(engine)

    async def raw_path(scope: Any, receive: Any, send: Any) -> None:
        # HTTP clients normalise "..": put the raw path in the scope as a server would.
        if scope["type"] == "http" and b"x-raw-path" in dict(scope["headers"]):
            scope = dict(scope, path=dict(scope["headers"])[b"x-raw-path"].decode())
        await app(scope, receive, send)

    client = TestClient(raw_path)
    for _ in range(2):
        assert client.post("/login", headers={"x-user": "d"}).status_code == 200
    r = client.post("/login", headers={"x-user": "d", "x-raw-path": "/static/../login"})
    assert r.status_code == 429 and r.json()["rule"] == "login"


def test_storage_down_is_never_a_500(dead_redis_url: str) -> None:
    open_app = TestClient(fastapi_app(Engine(web_config(redis_config(dead_redis_url)["storage"]))))
    r = open_app.get("/search", headers={"x-user": "x"})
    assert r.status_code == 200 and r.json() == {"ok": "search"}
    closed = Engine(web_config(redis_config(dead_redis_url)["storage"], failure_mode="closed"))
    r = TestClient(fastapi_app(closed)).get("/items", headers={"x-user": "x"})
    assert r.status_code == 429 and r.json()["detail"] == "Rate limit exceeded"


def test_shared_limits_through_redis(flush_redis: str) -> None:
    storage = redis_config(flush_redis)["storage"]
    a = TestClient(fastapi_app(Engine(web_config(storage))))
    b = TestClient(fastapi_app(Engine(web_config(storage))))
    codes = [c.post("/login", headers={"x-user": "r"}).status_code for c in (a, b, a)]
    assert codes == [200, 200, 429]


def test_plain_starlette_middleware_and_decorator() -> None:
    engine = Engine(web_config())

    @rate_limit("search_route", engine)
    async def search(request: Request) -> Response:
        return PlainTextResponse("found")

    async def home(request: Request) -> Response:
        return JSONResponse({"home": True})

    app = Starlette(routes=[Route("/search", search), Route("/", home)])
    app.add_middleware(LimifyMiddleware, engine=engine)
    client = TestClient(app)
    assert client.get("/").headers["X-RateLimit-Limit"] == "5"
    codes = [client.get("/search").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_route_dependency_without_middleware_still_answers_429() -> None:
    engine = Engine(web_config())
    app = FastAPI()

    @app.get("/s", dependencies=[Depends(RateLimit("search_route", engine))])
    async def s() -> dict[str, bool]:
        return {"ok": True}

    client = TestClient(app)
    first = client.get("/s")
    assert first.status_code == 200 and first.headers["X-RateLimit-Remaining"] == "2"
    client.get("/s")
    client.get("/s")
    r = client.get("/s")
    assert r.status_code == 429 and r.headers["Retry-After"] == "1200"
    assert r.json() == {"detail": "Rate limit exceeded"}  # FastAPI's own HTTPException body


@pytest.mark.parametrize(("mode", "status"), [("open", 200), ("closed", 503)])
def test_an_engine_error_follows_the_failure_mode(mode: str, status: int) -> None:
    # identify() hands the engine an identity it refuses (a NUL): the call fails.
    engine = Engine(web_config(failure_mode=mode))
    app = fastapi_app(engine, identify=lambda request: {"user_id": "bad\0id"})
    r = TestClient(app).get("/items")
    assert r.status_code == status
    if status == 503:
        assert r.json() == {"detail": "Rate limiter unavailable"} and r.headers["Retry-After"] == "1"
