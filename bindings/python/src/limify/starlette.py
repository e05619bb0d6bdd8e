"""FastAPI / Starlette: an ASGI middleware, a per-route dependency and a decorator.

    from limify import Engine
    from limify.starlette import LimifyMiddleware, RateLimit, install

    engine = Engine({"storage": {"type": "redis", "url": "redis://..."}, "rules": [...]})
    install(app, engine, trusted_proxies=["10.0.0.0/8"])   # middleware + 429 handler
    # or: app.add_middleware(LimifyMiddleware, engine=engine)

    @app.get("/search", dependencies=[Depends(RateLimit("search"))])
    async def search(): ...

The middleware checks every HTTP request against the engine's path rules. A
route's RateLimit counts the request under one more rule (by id, with
check_key): both must allow, and the response reports the stricter (the
binding) decision. Identity: request.state.user_id / org_id (set by an auth
middleware added after this one, i.e. running before it), the X-API-Key
header, the client address (X-Forwarded-For only from trusted_proxies).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .decision import Decision, stricter
from .engine import Engine
from .errors import LimifyError
from .web import (
    RATE_LIMITED_DETAIL,
    Options,
    allowed_headers,
    identity_fields,
    log,
    normalize_path,
    route_identity,
    too_many_requests,
    unavailable,
)

_STATE_ENGINE = "limify_engine"
_STATE_OPTIONS = "limify_options"
_STATE_DECISION = "limify_decision"


class RateLimitExceeded(HTTPException):
    """A per-route limit denied the request.

    An HTTPException, so even without install() FastAPI answers 429 with
    Retry-After; with install() (or rate_limit_exceeded_handler) the body
    is limify's full JSON body.
    """

    def __init__(self, decision: Decision, flags: int) -> None:
        _, headers, _ = too_many_requests(decision, flags)
        super().__init__(status_code=429, detail=RATE_LIMITED_DETAIL, headers=headers)
        self.decision = decision
        self.flags = flags


def _json_response(status: int, headers: dict[str, str], body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def too_many_requests_response(decision: Decision, flags: int) -> JSONResponse:
    return _json_response(*too_many_requests(decision, flags))


async def rate_limit_exceeded_handler(request: Request, exc: Exception) -> Response:
    """Exception handler for RateLimitExceeded: 429 with limify's JSON body."""
    assert isinstance(exc, RateLimitExceeded)
    return too_many_requests_response(exc.decision, exc.flags)


def _fields(scope: Scope, options: Options) -> dict[str, str | None]:
    state = scope.get("state") or {}
    headers = Headers(scope=scope)
    client = scope.get("client")
    request = Request(scope) if options.identify is not None else None
    return identity_fields(
        request,
        options,
        user_id=state.get("user_id"),
        org_id=state.get("org_id"),
        api_key=headers.get(options.api_key_header),
        peer=client[0] if client else None,
        forwarded_for=headers.get("x-forwarded-for"),
    )


class LimifyMiddleware:
    """Pure ASGI middleware: every HTTP request is checked against the engine's rules."""

    def __init__(
        self,
        app: ASGIApp,
        engine: Engine,
        *,
        trusted_proxies: Any = None,
        api_key_header: str = "X-API-Key",
        headers: Any = None,
        identify: Any = None,
        plan: Any = None,
    ) -> None:
        self.app = app
        self.engine = engine
        self.options = Options.build(trusted_proxies, api_key_header, headers, identify, plan)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state[_STATE_ENGINE] = self.engine
        state[_STATE_OPTIONS] = self.options
        options = self.options
        decision: Decision | None
        try:
            fields = _fields(scope, options)
            plan = options.plan(Request(scope)) if options.plan is not None else None
            decision = await self.engine.acheck(
                scope["method"], normalize_path(scope["path"]), plan=plan, **fields
            )
        except LimifyError as exc:
            log.error("limify: check failed (%s); failure_mode=%s applies", exc, self.engine.failure_mode)
            decision = None
        if decision is None:
            if self.engine.failure_mode == "closed":
                await _json_response(*unavailable())(scope, receive, send)
                return
        elif not decision.allowed:
            await too_many_requests_response(decision, options.headers)(scope, receive, send)
            return
        state[_STATE_DECISION] = decision
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                # The route's limit may have replaced the decision with a stricter one.
                extra = allowed_headers(state.get(_STATE_DECISION), options.headers)
                if extra and message["status"] != 429:
                    out = MutableHeaders(scope=message)
                    for name, value in extra.items():
                        out[name] = value
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except RateLimitExceeded as exc:
            # Raised by a route limit when no exception handler caught it.
            if started:
                raise
            await too_many_requests_response(exc.decision, exc.flags)(scope, receive, send)


def _engine_for(request: Request, engine: Engine | None) -> tuple[Engine, Options]:
    state = request.scope.get("state") or {}
    options = state.get(_STATE_OPTIONS) or Options()
    if engine is not None:
        return engine, options
    found = state.get(_STATE_ENGINE) or getattr(request.app.state, "limify", None)
    if not isinstance(found, Engine):
        raise RuntimeError(
            "limify: no engine for this route limit: pass engine=..., add LimifyMiddleware, "
            "or set app.state.limify"
        )
    return found, options


async def _route_check(request: Request, rule_id: str, engine: Engine | None, cost: int,
                       options: Options | None) -> Decision | None:
    """Checks a route limit; raises RateLimitExceeded when it (or, already, the middleware) denies."""
    eng, found_options = _engine_for(request, engine)
    opts = options or found_options
    try:
        fields = _fields(request.scope, opts)
        decision = await eng.acheck_key(rule_id, route_identity(eng, fields), cost)
    except LimifyError as exc:
        log.error("limify: route limit %r failed (%s); failure_mode=%s applies", rule_id, exc, eng.failure_mode)
        if eng.failure_mode == "closed":
            status, headers, body = unavailable()
            raise HTTPException(status_code=status, detail=body["detail"], headers=headers) from None
        return None
    state = request.scope.setdefault("state", {})
    binding = stricter(state.get(_STATE_DECISION), decision)
    state[_STATE_DECISION] = binding
    if not decision.allowed:
        raise RateLimitExceeded(decision, opts.headers)
    return binding


class RateLimit:
    """FastAPI dependency: `Depends(RateLimit("search"))` limits a route by a rule of the config.

    The rule's own rate applies (plans apply to path rules, which the
    middleware checks). Returns the binding decision.
    """

    def __init__(self, rule_id: str, engine: Engine | None = None, *, cost: int = 1,
                 trusted_proxies: Any = None, api_key_header: str = "X-API-Key", headers: Any = None) -> None:
        self.rule_id = rule_id
        self.engine = engine
        self.cost = cost
        self.options = (
            Options.build(trusted_proxies, api_key_header, headers)
            if trusted_proxies is not None or headers is not None or api_key_header != "X-API-Key"
            else None
        )

    async def __call__(self, request: Request, response: Response) -> Decision | None:
        binding = await _route_check(request, self.rule_id, self.engine, self.cost, self.options)
        # Without the middleware nobody else writes the headers.
        if binding is not None and _STATE_OPTIONS not in (request.scope.get("state") or {}):
            for name, value in allowed_headers(binding, (self.options or Options()).headers).items():
                response.headers[name] = value
        return binding


def rate_limit(rule_id: str, engine: Engine | None = None, *, cost: int = 1) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]:
    """Decorator for an async endpoint that receives the Request (Starlette style, or a
    FastAPI endpoint with a `request: Request` parameter): limits it by rule `rule_id`."""

    def wrap(endpoint: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(endpoint)
        async def limited(*args: Any, **kwargs: Any) -> Any:
            request = next((a for a in (*args, *kwargs.values()) if isinstance(a, Request)), None)
            if request is None:
                raise TypeError(
                    f"limify.rate_limit: {endpoint.__qualname__} must take the Request "
                    "(add a `request: Request` parameter)"
                )
            try:
                binding = await _route_check(request, rule_id, engine, cost, None)
            except RateLimitExceeded as exc:
                return too_many_requests_response(exc.decision, exc.flags)
            result = endpoint(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            if isinstance(result, Response) and _STATE_OPTIONS not in (request.scope.get("state") or {}):
                _, options = _engine_for(request, engine)
                for name, value in allowed_headers(binding, options.headers).items():
                    result.headers[name] = value
            return result

        return limited

    return wrap


def install(app: Any, engine: Engine, **options: Any) -> None:
    """One line: the middleware, limify's 429 handler for route limits, app.state.limify."""
    app.state.limify = engine
    app.add_exception_handler(RateLimitExceeded, rate_limit_exceeded_handler)
    app.add_middleware(LimifyMiddleware, engine=engine, **options)


__all__ = [
    "LimifyMiddleware",
    "RateLimit",
    "RateLimitExceeded",
    "install",
    "rate_limit",
    "rate_limit_exceeded_handler",
    "too_many_requests_response",
]
