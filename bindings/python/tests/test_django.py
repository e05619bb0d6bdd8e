"""Django through its own test client: settings.LIMIFY, the middleware, the decorator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import django
import pytest
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF=__name__,
        SECRET_KEY="tests-only",
        MIDDLEWARE=[f"{__name__}.FakeAuthMiddleware", "limify.django.LimifyMiddleware"],
        INSTALLED_APPS=[],
        LIMIFY={"CONFIG": {"rules": []}},
    )
    django.setup()

from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402
from django.views import View  # noqa: E402

from limify.django import get_engine, rate_limit  # noqa: E402
from conftest import redis_config, web_config  # noqa: E402


class FakeAuthMiddleware:
    """Stands in for an auth layer: sets request.user_id / org_id from test headers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "X-User" in request.headers:
            request.user_id = request.headers["X-User"]  # type: ignore[attr-defined]
        if "X-Org" in request.headers:
            request.org_id = request.headers["X-Org"]  # type: ignore[attr-defined]
        return self.get_response(request)


def items(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"ok": "items"})


@rate_limit("search_route")
def search(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"ok": "search"})


@rate_limit("export_route")
def export(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"ok": "export"})


class SearchView(View):
    @rate_limit("search_route")
    def get(self, request: HttpRequest) -> HttpResponse:
        return JsonResponse({"ok": "cbv"})


@rate_limit("search_route")
class WholeView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return JsonResponse({"ok": "whole"})


urlpatterns = [
    path("items", items),
    path("search", search),
    path("export", export),
    path("cbv", SearchView.as_view()),
    path("whole", WholeView.as_view()),
    path("login", items),
]


def limify_settings(**extra: Any) -> dict[str, Any]:
    conf: dict[str, Any] = {"CONFIG": web_config()}
    conf.update(extra)
    return conf


@pytest.fixture
def client() -> Iterator[Client]:
    with override_settings(LIMIFY=limify_settings()):
        yield Client()


def test_allowed_responses_carry_headers(client: Client) -> None:
    r = client.get("/items", headers={"X-User": "alice"})
    assert r.status_code == 200
    assert (r["X-RateLimit-Limit"], r["X-RateLimit-Remaining"], r["X-RateLimit-Reset"]) == ("5", "4", "720")


def test_blocked_is_429_with_retry_after_and_json(client: Client) -> None:
    for _ in range(5):
        client.get("/items", headers={"X-User": "alice"})
    r = client.get("/items", headers={"X-User": "alice"})
    assert r.status_code == 429 and r["Retry-After"] == "720"
    assert r.json() == {"detail": "Rate limit exceeded", "retry_after": 720, "limit": 5,
                        "rule": "global", "plan": "default"}


def test_method_rule(client: Client) -> None:
    assert [client.post("/login", headers={"X-User": "a"}).status_code for _ in range(3)] == [200, 200, 429]


def test_identity_isolation(client: Client) -> None:
    for _ in range(5):
        client.get("/items", headers={"X-User": "alice"})
    assert client.get("/items", headers={"X-User": "alice"}).status_code == 429
    assert client.get("/items", headers={"X-User": "bob"}).status_code == 200
    assert client.get("/items", headers={"X-Org": "acme"}).status_code == 200
    assert client.get("/items", headers={"X-API-Key": "k"}).status_code == 200
    assert client.get("/items", REMOTE_ADDR="192.0.2.9")["X-RateLimit-Remaining"] == "4"


def test_decorator_stricter_than_middleware_binds(client: Client) -> None:
    r = client.get("/search", headers={"X-User": "u"})
    assert (r["X-RateLimit-Limit"], r["X-RateLimit-Remaining"]) == ("3", "2")
    client.get("/search", headers={"X-User": "u"})
    client.get("/search", headers={"X-User": "u"})
    r = client.get("/search", headers={"X-User": "u"})
    assert r.status_code == 429 and r.json()["rule"] == "search_route" and r["Retry-After"] == "1200"


def test_middleware_stricter_than_decorator_binds(client: Client) -> None:
    r = client.get("/export", headers={"X-User": "v"})
    assert (r["X-RateLimit-Limit"], r["X-RateLimit-Remaining"]) == ("5", "4")
    for _ in range(4):
        client.get("/export", headers={"X-User": "v"})
    r = client.get("/export", headers={"X-User": "v"})
    assert r.status_code == 429 and r.json()["rule"] == "global"


@pytest.mark.parametrize("url", ["/cbv", "/whole"])
def test_class_based_views(client: Client, url: str) -> None:
    codes = [client.get(url, headers={"X-User": "c"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_x_forwarded_for_only_from_trusted_proxies() -> None:
    with override_settings(LIMIFY=limify_settings()):
        c = Client()
        for i in range(5):
            c.get("/items", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}", REMOTE_ADDR="10.0.0.1")
        assert c.get("/items", HTTP_X_FORWARDED_FOR="203.0.113.99", REMOTE_ADDR="10.0.0.1").status_code == 429
    with override_settings(LIMIFY=limify_settings(TRUSTED_PROXIES=["10.0.0.0/8"])):
        c = Client()
        for i in range(5):
            assert c.get("/items", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}", REMOTE_ADDR="10.0.0.1").status_code == 200


def test_settings_change_rebuilds_the_engine() -> None:
    with override_settings(LIMIFY=limify_settings()):
        first = get_engine()[0]
    with override_settings(LIMIFY=limify_settings()):
        assert get_engine()[0] is not first


def test_bad_settings_are_clear() -> None:
    from django.core.exceptions import ImproperlyConfigured

    with override_settings(LIMIFY={"CONFIG": web_config(), "TRUSTED": []}):
        with pytest.raises(ImproperlyConfigured, match="unknown keys"):
            get_engine()
    with override_settings(LIMIFY={}):
        with pytest.raises(ImproperlyConfigured, match="CONFIG"):
            get_engine()


def test_storage_down_is_never_a_500(dead_redis_url: str) -> None:
    storage = redis_config(dead_redis_url)["storage"]
    with override_settings(LIMIFY=limify_settings(CONFIG=web_config(storage))):
        r = Client().get("/search", headers={"X-User": "x"})
        assert r.status_code == 200 and r.json() == {"ok": "search"}
    with override_settings(LIMIFY=limify_settings(CONFIG=web_config(storage, failure_mode="closed"))):
        assert Client().get("/items", headers={"X-User": "x"}).status_code == 429


def test_shared_limits_through_redis(flush_redis: str) -> None:
    storage = redis_config(flush_redis)["storage"]
    with override_settings(LIMIFY=limify_settings(CONFIG=web_config(storage))):
        c = Client()
        assert [c.post("/login", headers={"X-User": "r"}).status_code for _ in range(3)] == [200, 200, 429]
