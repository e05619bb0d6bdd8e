"""Request and Decision: the Python faces of limify_request and limify_decision."""

from __future__ import annotations

import ctypes
import functools
import struct
from dataclasses import dataclass
from typing import Any

from . import _lib

HEADERS_X_RATELIMIT = _lib.HEADERS_X_RATELIMIT
HEADERS_RETRY_AFTER = _lib.HEADERS_RETRY_AFTER
HEADERS_IETF = _lib.HEADERS_IETF
HEADERS_DEFAULT = HEADERS_X_RATELIMIT | HEADERS_RETRY_AFTER


@dataclass(frozen=True, slots=True)
class Request:
    """One request to decide on. None or "" means absent for every string field."""

    method: str = "GET"
    path: str = "/"
    user_id: str | None = None
    org_id: str | None = None
    api_key: str | None = None
    client_ip: str | None = None
    plan: str | None = None
    cost: int = 1


@dataclass(frozen=True)
class Decision:
    """The answer to one request. Times are exact microseconds, as the engine computed them.

    `limit` and `remaining` are None when no rule matched (the request is not
    limited); `retry_after_us` is None when waiting can never help (the cost
    exceeds the limit) and 0 when allowed.
    """

    allowed: bool
    matched: bool
    degraded: bool
    limit: int | None
    remaining: int | None
    reset_after_us: int
    retry_after_us: int | None
    period_us: int
    rule_id: str
    plan_id: str

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def reset_after(self) -> float:
        """Seconds until every limit of the rule is full again."""
        return self.reset_after_us / 1e6

    @property
    def retry_after(self) -> float | None:
        """Seconds until a request of this cost would pass; None: never."""
        return None if self.retry_after_us is None else self.retry_after_us / 1e6

    @property
    def period(self) -> float:
        """The window of the binding limit, in seconds (0 if no rule matched)."""
        return self.period_us / 1e6

    @property
    def retry_after_seconds(self) -> int | None:
        """Retry-After as HTTP sends it: whole seconds, rounded up (None: never)."""
        if self.retry_after_us is None:
            return None
        return -(-self.retry_after_us // 1_000_000)

    def headers(self, flags: int = HEADERS_DEFAULT) -> dict[str, str]:
        """The response headers limify computes for this decision (none if unmatched).

        flags: HEADERS_X_RATELIMIT | HEADERS_RETRY_AFTER (the default) |
        HEADERS_IETF (the IETF draft's RateLimit and RateLimit-Policy fields).
        """
        raw = self._to_c()
        fmt = _lib.lib().limify_format_headers
        size = 256
        while True:
            buf = ctypes.create_string_buffer(size)
            n = fmt(ctypes.byref(raw), flags, buf, size)
            if n < size:
                break
            size = n + 1
        out: dict[str, str] = {}
        for line in buf.value.decode().split("\r\n"):
            if line:
                name, _, value = line.partition(": ")
                out[name] = value
        return out

    def _to_c(self) -> _lib.Decision:
        d = _lib.Decision()
        d.struct_size = _lib.DECISION_SIZE
        d.allowed = int(self.allowed)
        d.matched = int(self.matched)
        d.degraded = int(self.degraded)
        d.limit = _lib.UNLIMITED if self.limit is None else self.limit
        d.remaining = _lib.UNLIMITED if self.remaining is None else self.remaining
        d.reset_after_us = self.reset_after_us
        d.retry_after_us = _lib.RETRY_NEVER if self.retry_after_us is None else self.retry_after_us
        d.period_us = self.period_us
        d.rule_id = self.rule_id.encode()
        d.plan_id = self.plan_id.encode()
        return d

    @classmethod
    def _from_c(cls, d: _lib.Decision) -> Decision:
        return cls._from_fields(_DECISION_LAYOUT.unpack_from(d))

    @classmethod
    def _many_from_c(cls, decisions: ctypes.Array[_lib.Decision]) -> list[Decision]:
        """Every decision of a limify_decision array."""
        return [cls._from_fields(f) for f in _DECISION_ITEM.iter_unpack(decisions)]

    @classmethod
    def _from_fields(cls, fields: tuple[Any, ...]) -> Decision:
        # One unpack of the whole struct and a __dict__ fill: reading ten ctypes
        # fields and a frozen dataclass's __init__ cost more than the C call.
        (_, allowed, matched, degraded, limit, remaining, reset, retry, period,
         rule, plan) = fields
        unlimited = limit == _lib.UNLIMITED
        obj = object.__new__(cls)
        obj.__dict__.update(
            allowed=allowed != 0,
            matched=matched != 0,
            degraded=degraded != 0,
            limit=None if unlimited else limit,
            remaining=None if unlimited else remaining,
            reset_after_us=reset,
            retry_after_us=None if retry == _lib.RETRY_NEVER else retry,
            period_us=period,
            rule_id=_id_text(rule),
            plan_id=_id_text(plan),
        )
        return obj


# limify_decision's fields in order (naturally aligned: no padding before rule_id).
_DECISION_LAYOUT = struct.Struct(f"=Iiiiqqqqq{_lib.ID_MAX + 1}s{_lib.ID_MAX + 1}s")
assert _DECISION_LAYOUT.size <= _lib.DECISION_SIZE
assert _lib.Decision.rule_id.offset == _DECISION_LAYOUT.size - 2 * (_lib.ID_MAX + 1)


# One limify_decision as it sits in an array: the layout padded to its sizeof.
_DECISION_ITEM = struct.Struct(_DECISION_LAYOUT.format + f"{_lib.DECISION_SIZE - _DECISION_LAYOUT.size}x")


@functools.lru_cache(maxsize=1024)
def _id_text(raw: bytes) -> str:
    """A rule or plan id from its NUL-padded field (there are few: cached)."""
    return raw.split(b"\0", 1)[0].decode()


def stricter(a: Decision | None, b: Decision | None) -> Decision | None:
    """The decision that binds when two limits apply to one request.

    A denial binds over an allowance (of two denials, the longer wait);
    of two allowances, the one with fewer requests left, then the smaller
    limit. Unmatched decisions bind nothing.
    """
    if a is None or not a.matched:
        return b if b is not None and b.matched else a
    if b is None or not b.matched:
        return a
    if a.allowed != b.allowed:
        return b if a.allowed else a
    if not a.allowed:
        wait_a = a.retry_after_us if a.retry_after_us is not None else 1 << 62
        wait_b = b.retry_after_us if b.retry_after_us is not None else 1 << 62
        return b if wait_b > wait_a else a
    key_a = (a.remaining or 0, a.limit or 0)
    key_b = (b.remaining or 0, b.limit or 0)
    return b if key_b < key_a else a
