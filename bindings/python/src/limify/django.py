"""Django: a middleware and a view decorator, configured from settings.LIMIFY.

    # settings.py
    LIMIFY = {
        "CONFIG": BASE_DIR / "limify.json",      # or a dict, or a JSON string
        "TRUSTED_PROXIES": ["10.0.0.0/8"],       # X-Forwarded-For only from these
        "API_KEY_HEADER": "X-API-Key",
        "HEADERS": "default",                    # or "ietf", "all"
        "IDENTIFY": "myapp.limits.identify",     # optional: request -> {"user_id": ...}
        "PLAN": "myapp.limits.plan",             # optional: request -> plan id or None
    }
    MIDDLEWARE = [..., "django.contrib.auth.middleware.AuthenticationMiddleware",
                  "limify.django.LimifyMiddleware", ...]

    @rate_limit("search")               # function views, CBV methods, or a View class
    def search(request): ...

Identity: request.user_id (if the app sets it) or the authenticated
request.user's pk, request.org_id, the X-API-Key header, REMOTE_ADDR
(X-Forwarded-For only from trusted proxies). Put the middleware after
AuthenticationMiddleware so request.user is known.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.module_loading import import_string

from .decision import Decision, stricter
from .engine import Engine
from .errors import LimifyError
from .web import (
    Options,
    allowed_headers,
    identity_fields,
    log,
    normalize_path,
    route_identity,
    too_many_requests,
    unavailable,
)

_lock = threading.Lock()
_cached: tuple[Engine, Options] | None = None


def _callable(value: Any, name: str) -> Any:
    if value is None or callable(value):
        return value
    try:
        return import_string(value)
    except ImportError as exc:
        raise ImproperlyConfigured(f"LIMIFY[{name!r}]: cannot import {value!r}: {exc}") from None


def get_engine() -> tuple[Engine, Options]:
    """The process's engine and options, built once from settings.LIMIFY."""
    global _cached
    if _cached is None:
        with _lock:
            if _cached is None:
                conf = getattr(settings, "LIMIFY", None)
                if not isinstance(conf, dict) or "CONFIG" not in conf:
                    raise ImproperlyConfigured(
                        "settings.LIMIFY must be a dict with a 'CONFIG' (a dict, JSON string or path)"
                    )
                unknown = set(conf) - {"CONFIG", "TRUSTED_PROXIES", "API_KEY_HEADER", "HEADERS", "IDENTIFY", "PLAN"}
                if unknown:
                    raise ImproperlyConfigured(f"settings.LIMIFY: unknown keys {sorted(unknown)}")
                options = Options.build(
                    conf.get("TRUSTED_PROXIES"),
                    conf.get("API_KEY_HEADER", "X-API-Key"),
                    conf.get("HEADERS"),
                    _callable(conf.get("IDENTIFY"), "IDENTIFY"),
                    _callable(conf.get("PLAN"), "PLAN"),
                )
                engine = Engine(conf["CONFIG"])
                _cached = (engine, options)
    return _cached


def _forget(*, setting: str, **_: Any) -> None:
    """override_settings(LIMIFY=...) in tests gets a fresh engine."""
    global _cached
    if setting == "LIMIFY":
        with _lock:
            old, _cached = _cached, None
        if old is not None:
            old[0].close()


setting_changed.connect(_forget)


def _fields(request: HttpRequest, options: Options) -> dict[str, str | None]:
    user_id = getattr(request, "user_id", None)
    user = getattr(request, "user", None)
    if user_id is None and user is not None and getattr(user, "is_authenticated", False):
        user_id = user.pk
    return identity_fields(
        request,
        options,
        user_id=user_id,
        org_id=getattr(request, "org_id", None),
        api_key=request.headers.get(options.api_key_header),
        peer=request.META.get("REMOTE_ADDR"),
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR"),
    )


def _json(status: int, headers: dict[str, str], body: dict[str, Any]) -> JsonResponse:
    response = JsonResponse(body, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _failed(engine: Engine, what: str, exc: LimifyError) -> HttpResponse | None:
    """The engine failed: its failure_mode decides (open: go on; closed: 503)."""
    log.error("limify: %s failed (%s); failure_mode=%s applies", what, exc, engine.failure_mode)
    return _json(*unavailable()) if engine.failure_mode == "closed" else None


class LimifyMiddleware:
    """Checks every request against the engine's path rules."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        engine, options = get_engine()
        decision: Decision | None = None
        try:
            plan = options.plan(request) if options.plan is not None else None
            decision = engine.check(
                request.method or "GET",
                normalize_path(request.path_info),
                plan=plan,
                **_fields(request, options),
            )
        except LimifyError as exc:
            failed = _failed(engine, "check", exc)
            if failed is not None:
                return failed
        if decision is not None and not decision.allowed:
            return _json(*too_many_requests(decision, options.headers))
        request.limify_decision = decision  # type: ignore[attr-defined]
        response = self.get_response(request)
        if response.status_code != 429:
            # A view's rate_limit may have replaced it with a stricter decision.
            binding = getattr(request, "limify_decision", None)
            for name, value in allowed_headers(binding, options.headers).items():
                response[name] = value
        return response


def _find_request(args: tuple[Any, ...]) -> HttpRequest:
    # function view: (request, ...); method: (self, request, ...). DRF's Request wraps one.
    for arg in args[:2]:
        if hasattr(arg, "META") and hasattr(arg, "method"):
            return arg  # type: ignore[no-any-return]
    raise TypeError("limify.django.rate_limit: the view received no request")


def rate_limit(rule_id: str, cost: int = 1) -> Callable[[Any], Any]:
    """Limits a view by rule `rule_id` (its own rate); stricter than the middleware wins.

    Decorates a function view, a class-based view's method, or a View class
    (its dispatch).
    """

    def wrap(view: Any) -> Any:
        if isinstance(view, type):
            view.dispatch = wrap(view.dispatch)
            return view

        @functools.wraps(view)
        def limited(*args: Any, **kwargs: Any) -> Any:
            request = _find_request(args)
            engine, options = get_engine()
            try:
                decision = engine.check_key(rule_id, route_identity(engine, _fields(request, options)), cost)
            except LimifyError as exc:
                failed = _failed(engine, f"rate_limit({rule_id!r})", exc)
                return failed if failed is not None else view(*args, **kwargs)
            if not decision.allowed:
                return _json(*too_many_requests(decision, options.headers))
            binding = stricter(getattr(request, "limify_decision", None), decision)
            has_middleware = hasattr(request, "limify_decision")
            request.limify_decision = binding
            response = view(*args, **kwargs)
            if not has_middleware and isinstance(response, HttpResponse):
                for name, value in allowed_headers(binding, options.headers).items():
                    response[name] = value
            return response

        return limited

    return wrap


__all__ = ["LimifyMiddleware", "get_engine", "rate_limit"]
