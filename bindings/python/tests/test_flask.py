"""Flask through its own test client: the extension and the route decorators."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, g, request
from flask.testing import FlaskClient

from limify import Engine
from limify.flask import Limify, rate_limit
from conftest import redis_config, web_config


def make_app(config: dict[str, Any] | None = None, **limify_conf: Any) -> Flask:
    app = Flask(__name__)
    app.config["LIMIFY"] = {"CONFIG": config or web_config(), **limify_conf}

    @app.before_request
    def auth() -> None:  # registered first: runs before limify's check
        if "X-User" in request.headers:
            g.user_id = request.headers["X-User"]
        if "X-Org" in request.headers:
            g.org_id = request.headers["X-Org"]

    limiter = Limify(app)

    @app.get("/items")
    def items() -> dict[str, str]:
        return {"ok": "items"}

    @app.post("/login")
    def login() -> dict[str, str]:
        return {"ok": "login"}

    @app.get("/search")
    @limiter.limit("search_route")
    def search() -> dict[str, str]:
        return {"ok": "search"}

    @app.get("/export")
    @rate_limit("export_route")
    def export() -> dict[str, str]:
        return {"ok": "export"}

    return app


@pytest.fixture
def client() -> FlaskClient:
    return make_app().test_client()


def test_allowed_responses_carry_headers(client: FlaskClient) -> None:
    r = client.get("/items", headers={"X-User": "alice"})
    assert r.status_code == 200 and r.json == {"ok": "items"}
    assert (r.headers["X-RateLimit-Limit"], r.headers["X-RateLimit-Remaining"]) == ("5", "4")


def test_blocked_is_429_with_retry_after_and_json(client: FlaskClient) -> None:
    for _ in range(5):
        client.get("/items", headers={"X-User": "alice"})
    r = client.get("/items", headers={"X-User": "alice"})
    assert r.status_code == 429 and r.headers["Retry-After"] == "720"
    assert r.json == {"detail": "Rate limit exceeded", "retry_after": 720, "limit": 5,
                      "rule": "global", "plan": "default"}


def test_method_rule(client: FlaskClient) -> None:
    assert [client.post("/login", headers={"X-User": "a"}).status_code for _ in range(3)] == [200, 200, 429]


def test_identity_isolation(client: FlaskClient) -> None:
    for _ in range(5):
        client.get("/items", headers={"X-User": "alice"})
    assert client.get("/items", headers={"X-User": "alice"}).status_code == 429
    assert client.get("/items", headers={"X-User": "bob"}).status_code == 200
    assert client.get("/items", headers={"X-Org": "acme"}).status_code == 200
    assert client.get("/items", headers={"X-API-Key": "k"}).status_code == 200
    assert client.get("/items", environ_base={"REMOTE_ADDR": "192.0.2.1"}).headers["X-RateLimit-Remaining"] == "4"


def test_decorator_stricter_than_global_binds(client: FlaskClient) -> None:
    r = client.get("/search", headers={"X-User": "u"})
    assert (r.headers["X-RateLimit-Limit"], r.headers["X-RateLimit-Remaining"]) == ("3", "2")
    client.get("/search", headers={"X-User": "u"})
    client.get("/search", headers={"X-User": "u"})
    r = client.get("/search", headers={"X-User": "u"})
    assert r.status_code == 429 and r.json["rule"] == "search_route"


def test_global_stricter_than_decorator_binds(client: FlaskClient) -> None:
    r = client.get("/export", headers={"X-User": "v"})
    assert (r.headers["X-RateLimit-Limit"], r.headers["X-RateLimit-Remaining"]) == ("5", "4")
    for _ in range(4):
        client.get("/export", headers={"X-User": "v"})
    r = client.get("/export", headers={"X-User": "v"})
    assert r.status_code == 429 and r.json["rule"] == "global"


def test_only_decorated_routes_when_global_is_off() -> None:
    client = make_app(GLOBAL=False).test_client()
    r = client.get("/items", headers={"X-User": "a"})
    assert r.status_code == 200 and "X-RateLimit-Limit" not in r.headers
    assert client.get("/search", headers={"X-User": "a"}).headers["X-RateLimit-Limit"] == "3"


def test_x_forwarded_for_only_from_trusted_proxies() -> None:
    env = {"REMOTE_ADDR": "10.0.0.1"}
    client = make_app().test_client()
    for i in range(5):
        client.get("/items", headers={"X-Forwarded-For": f"203.0.113.{i}"}, environ_base=env)
    assert client.get("/items", headers={"X-Forwarded-For": "203.0.113.9"}, environ_base=env).status_code == 429
    trusted = make_app(TRUSTED_PROXIES=["10.0.0.0/8"]).test_client()
    for i in range(6):
        r = trusted.get("/items", headers={"X-Forwarded-For": f"203.0.113.{i}"}, environ_base=env)
        assert r.status_code == 200


def test_engine_can_be_passed_in() -> None:
    engine = Engine(web_config())
    app = Flask(__name__)
    Limify(app, engine=engine)
    app.add_url_rule("/x", "x", lambda: "x")
    assert app.test_client().get("/x").headers["X-RateLimit-Limit"] == "5"


def test_bad_config_is_clear() -> None:
    app = Flask(__name__)
    app.config["LIMIFY"] = {"CONFIG": web_config(), "TRUSTED": []}
    with pytest.raises(ValueError, match="unknown keys"):
        Limify(app)


def test_storage_down_is_never_a_500(dead_redis_url: str) -> None:
    storage = redis_config(dead_redis_url)["storage"]
    r = make_app(web_config(storage)).test_client().get("/search", headers={"X-User": "x"})
    assert r.status_code == 200 and r.json == {"ok": "search"}
    closed = make_app(web_config(storage, failure_mode="closed")).test_client()
    assert closed.get("/items", headers={"X-User": "x"}).status_code == 429


def test_shared_limits_through_redis(flush_redis: str) -> None:
    storage = redis_config(flush_redis)["storage"]
    a = make_app(web_config(storage)).test_client()
    b = make_app(web_config(storage)).test_client()
    assert [c.post("/login", headers={"X-User": "r"}).status_code for c in (a, b, a)] == [200, 200, 429]
