"""What every web integration shares: identity, client address, paths, 429s.

The framework modules (starlette, django, flask) only translate their own
request and response objects; the rules live here, once:

- Identity fields: user_id, org_id (set by the application's auth layer),
  api_key (the X-API-Key header), client_ip (the peer address;
  X-Forwarded-For is believed only when the peer is a trusted proxy).
- Paths are normalised ("." and ".." resolved, empty segments dropped)
  before matching, so "/api/../admin" cannot slip past a rule on "/admin".
- Allowed responses carry the binding decision's rate-limit headers; a
  denial is a 429 with Retry-After and a JSON body.
- If the engine itself fails (not a denial: a storage outage is already
  decided by the engine's failure policy and marked degraded), the
  integration applies the same policy: "open" lets the request through,
  "closed" answers 503. Never a 500.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .decision import HEADERS_DEFAULT, HEADERS_IETF, HEADERS_RETRY_AFTER, HEADERS_X_RATELIMIT, Decision, stricter
from .engine import Engine
from .errors import InvalidArgumentError, LimifyError

log = logging.getLogger("limify")

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

IDENTITY_FIELDS = ("user_id", "org_id", "api_key", "client_ip")
RATE_LIMITED_DETAIL = "Rate limit exceeded"
UNAVAILABLE_DETAIL = "Rate limiter unavailable"


def parse_trusted_proxies(items: Iterable[str] | str | None) -> tuple[IpNetwork, ...]:
    """["10.0.0.0/8", "127.0.0.1"] -> networks; a bad entry is a ValueError naming it."""
    if items is None:
        return ()
    if isinstance(items, str):
        items = [items]
    out: list[IpNetwork] = []
    for i, item in enumerate(items):
        try:
            out.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError as exc:
            raise InvalidArgumentError(f"trusted_proxies[{i}]: {exc}") from None
    return tuple(out)


def _trusted(addr: str, proxies: tuple[IpNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_address(
    peer: str | None, forwarded_for: str | None, proxies: tuple[IpNetwork, ...]
) -> str | None:
    """The client's address: the peer, or, behind trusted proxies, X-Forwarded-For.

    X-Forwarded-For is read right to left (each proxy appends the address it
    saw) and the first hop that is not a trusted proxy is the client. Without
    trusted proxies the header is ignored: anyone can send it.
    """
    if not peer:
        return None
    addr = peer
    if not proxies or not forwarded_for or not _trusted(peer, proxies):
        return addr
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    while hops and _trusted(addr, proxies):
        addr = hops.pop()
    return addr


def normalize_path(path: str) -> str:
    """Resolves "." and ".." and drops empty segments ("/a//b/../c" -> "/a/c")."""
    segments: list[str] = []
    for seg in path.split("?", 1)[0].split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if segments:
                segments.pop()
            continue
        segments.append(seg)
    return "/" + "/".join(segments)


def header_flags(value: Any) -> int:
    """HEADERS option: "default", "ietf", "all", or an int of HEADERS_* flags."""
    if value is None or value == "default":
        return HEADERS_DEFAULT
    if value == "ietf":
        return HEADERS_IETF | HEADERS_RETRY_AFTER
    if value == "all":
        return HEADERS_X_RATELIMIT | HEADERS_RETRY_AFTER | HEADERS_IETF
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 7:
        return value
    raise InvalidArgumentError(f"headers: expected 'default', 'ietf', 'all' or HEADERS_* flags, got {value!r}")


IdentifyFn = Callable[[Any], "Mapping[str, str | None] | None"]
PlanFn = Callable[[Any], "str | None"]


@dataclass(frozen=True)
class Options:
    """How an integration reads requests and writes responses."""

    trusted_proxies: tuple[IpNetwork, ...] = ()
    api_key_header: str = "X-API-Key"
    headers: int = HEADERS_DEFAULT
    # identify(request) -> {"user_id": ..., ...}: overrides the fields it returns.
    identify: IdentifyFn | None = None
    # plan(request) -> plan id or None: the request's explicit plan.
    plan: PlanFn | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        trusted_proxies: Iterable[str] | str | None = None,
        api_key_header: str = "X-API-Key",
        headers: Any = None,
        identify: IdentifyFn | None = None,
        plan: PlanFn | None = None,
    ) -> Options:
        return cls(
            trusted_proxies=parse_trusted_proxies(trusted_proxies),
            api_key_header=api_key_header,
            headers=header_flags(headers),
            identify=identify,
            plan=plan,
        )


def identity_fields(
    request: Any,
    options: Options,
    *,
    user_id: Any,
    org_id: Any,
    api_key: str | None,
    peer: str | None,
    forwarded_for: str | None,
) -> dict[str, str | None]:
    """The identity fields of one request, after the application's identify()."""
    fields: dict[str, str | None] = {
        "user_id": None if user_id is None else str(user_id),
        "org_id": None if org_id is None else str(org_id),
        "api_key": api_key or None,
        "client_ip": client_address(peer, forwarded_for, options.trusted_proxies),
    }
    if options.identify is not None:
        override = options.identify(request)
        if override:
            for key, value in override.items():
                if key not in IDENTITY_FIELDS:
                    raise InvalidArgumentError(
                        f"identify() returned unknown field {key!r} (expected one of {IDENTITY_FIELDS})"
                    )
                fields[key] = None if value is None else str(value)
    return fields


def route_identity(engine: Engine, fields: Mapping[str, str | None]) -> str:
    """The identity a per-route limit counts: the first present field in the engine's order.

    Shaped "<field>:<value>" so a user id can never collide with an address;
    the engine hashes it before it reaches storage.
    """
    for name in engine.identity_order:
        value = fields.get(name)
        if value:
            return f"{name}:{value}"
    return "anonymous"


def too_many_requests(decision: Decision, flags: int = HEADERS_DEFAULT) -> tuple[int, dict[str, str], dict[str, Any]]:
    """(429, headers, JSON body) for a denied decision.

    Retry-After is present whenever waiting helps; when it never can (the
    cost exceeds the limit) the body says retry_after: null.
    """
    headers = decision.headers(flags | HEADERS_RETRY_AFTER)
    body: dict[str, Any] = {
        "detail": RATE_LIMITED_DETAIL,
        "retry_after": decision.retry_after_seconds,
        "limit": decision.limit,
        "rule": decision.rule_id,
        "plan": decision.plan_id,
    }
    return 429, headers, body


def unavailable() -> tuple[int, dict[str, str], dict[str, Any]]:
    """(503, headers, JSON body) when the engine failed and the policy is closed."""
    return 503, {"Retry-After": "1"}, {"detail": UNAVAILABLE_DETAIL}


def allowed_headers(decision: Decision | None, flags: int) -> dict[str, str]:
    """Headers for an allowed response (none when nothing limited the request)."""
    if decision is None or not decision.matched:
        return {}
    return decision.headers(flags & ~HEADERS_RETRY_AFTER)


def guarded(engine: Engine, call: Callable[[], Decision]) -> Decision | None:
    """Runs a decision; None if the engine failed (the caller applies failure_mode)."""
    try:
        return call()
    except LimifyError as exc:
        log.error("limify: check failed (%s); failure_mode=%s applies", exc, engine.failure_mode)
        return None


__all__ = [
    "Options",
    "allowed_headers",
    "client_address",
    "guarded",
    "identity_fields",
    "normalize_path",
    "parse_trusted_proxies",
    "route_identity",
    "stricter",
    "too_many_requests",
    "unavailable",
]
