"""Flask: an extension (checks every request) and a route decorator.

    app.config["LIMIFY"] = {"CONFIG": "limify.json", "TRUSTED_PROXIES": ["10.0.0.0/8"]}
    limiter = Limify(app)                      # or Limify(engine=...) + init_app(app)

    @app.get("/search")
    @limiter.limit("search")                   # or @rate_limit("search")
    def search(): ...

app.config["LIMIFY"] takes the keys of Django's settings.LIMIFY, plus
"GLOBAL": False to check only decorated routes. Identity: g.user_id /
g.org_id (set them in your auth code), the X-API-Key header, the client
address (X-Forwarded-For only from trusted proxies).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, make_response, request

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

_KEYS = {"CONFIG", "TRUSTED_PROXIES", "API_KEY_HEADER", "HEADERS", "IDENTIFY", "PLAN", "GLOBAL"}


def _json(status: int, headers: dict[str, str], body: dict[str, Any]) -> Response:
    response = make_response(jsonify(body), status)
    for name, value in headers.items():
        response.headers[name] = value
    return response


class Limify:
    """The Flask extension. One engine per app (thread-safe; share it across workers' threads)."""

    def __init__(self, app: Flask | None = None, engine: Engine | None = None, **options: Any) -> None:
        self._engine = engine
        self._options = options
        self.engine: Engine | None = engine
        self.options = Options()
        self.check_all = True
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        conf = dict(app.config.get("LIMIFY") or {})
        unknown = set(conf) - _KEYS
        if unknown:
            raise ValueError(f"app.config['LIMIFY']: unknown keys {sorted(unknown)}")
        if self._engine is None:
            if "CONFIG" not in conf:
                raise ValueError("app.config['LIMIFY']['CONFIG'] is required (or pass engine=...)")
            self.engine = Engine(conf["CONFIG"])
        opts = {
            "trusted_proxies": conf.get("TRUSTED_PROXIES"),
            "api_key_header": conf.get("API_KEY_HEADER", "X-API-Key"),
            "headers": conf.get("HEADERS"),
            "identify": conf.get("IDENTIFY"),
            "plan": conf.get("PLAN"),
        }
        opts.update(self._options)
        self.options = Options.build(**opts)
        self.check_all = bool(conf.get("GLOBAL", True))
        app.extensions["limify"] = self
        app.before_request(self._before)
        app.after_request(self._after)

    # -- the per-request hooks -------------------------------------------

    def _fields(self) -> dict[str, str | None]:
        return identity_fields(
            request,
            self.options,
            user_id=g.get("user_id"),
            org_id=g.get("org_id"),
            api_key=request.headers.get(self.options.api_key_header),
            peer=request.remote_addr,
            forwarded_for=request.headers.get("X-Forwarded-For"),
        )

    def _failed(self, what: str, exc: LimifyError) -> Response | None:
        assert self.engine is not None
        log.error("limify: %s failed (%s); failure_mode=%s applies", what, exc, self.engine.failure_mode)
        return _json(*unavailable()) if self.engine.failure_mode == "closed" else None

    def _before(self) -> Response | None:
        if not self.check_all:
            return None
        assert self.engine is not None
        try:
            plan = self.options.plan(request) if self.options.plan is not None else None
            decision = self.engine.check(
                request.method, normalize_path(request.path), plan=plan, **self._fields()
            )
        except LimifyError as exc:
            return self._failed("check", exc)
        if not decision.allowed:
            return _json(*too_many_requests(decision, self.options.headers))
        g.limify_decision = decision
        return None

    def _after(self, response: Response) -> Response:
        if response.status_code != 429:
            binding: Decision | None = g.get("limify_decision")
            for name, value in allowed_headers(binding, self.options.headers).items():
                response.headers[name] = value
        return response

    # -- the route decorator ----------------------------------------------

    def limit(self, rule_id: str, cost: int = 1) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Limits a view by rule `rule_id` (its own rate); the stricter limit binds."""

        def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(view)
            def limited(*args: Any, **kwargs: Any) -> Any:
                assert self.engine is not None
                try:
                    decision = self.engine.check_key(rule_id, route_identity(self.engine, self._fields()), cost)
                except LimifyError as exc:
                    failed = self._failed(f"limit({rule_id!r})", exc)
                    return failed if failed is not None else view(*args, **kwargs)
                if not decision.allowed:
                    return _json(*too_many_requests(decision, self.options.headers))
                g.limify_decision = stricter(g.get("limify_decision"), decision)
                return view(*args, **kwargs)

            return limited

        return wrap


def rate_limit(rule_id: str, cost: int = 1) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """@rate_limit("search"): Limify.limit of the current app's extension."""

    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def limited(*args: Any, **kwargs: Any) -> Any:
            ext = current_app.extensions.get("limify")
            if not isinstance(ext, Limify):
                raise RuntimeError("limify.flask.rate_limit: Limify(app) was not set up on this app")
            return ext.limit(rule_id, cost)(view)(*args, **kwargs)

        return limited

    return wrap


__all__ = ["Limify", "rate_limit"]
