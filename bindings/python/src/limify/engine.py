"""Engine: one limify_engine, thread-safe, with sync calls and async helpers.

Every call goes straight to liblimify through ctypes, which releases the GIL
while the library works: threads sharing one Engine run their checks in
parallel. The async helpers (`acheck`, ...) call the memory storage directly
(it never blocks) and run every other storage's calls in a worker thread, so
a Redis, SQLite or PostgreSQL round trip never blocks the event loop:
`acheck` and `acheck_key` share one worker that decides whatever is queued
together (see _async_batcher), the others run in `asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Union

from . import _lib
from ._async_batcher import AsyncBatcher
from .decision import Decision, Request
from .errors import InvalidArgumentError, LimifyError, error_for

log = logging.getLogger("limify")

Config = Union[Mapping[str, Any], str, "os.PathLike[str]"]

# What produced a decision, as passed to an on_decision hook.
OPERATION_CHECK = 0
OPERATION_PEEK = 1
OPERATION_CHECK_KEY = 2

DEFAULT_IDENTITY_ORDER = ("user_id", "org_id", "api_key", "client_ip")

OnDecision = Callable[[int, "Request | None", Decision], None]
OnError = Callable[[LimifyError], None]
PlanProvider = Callable[[Request, str], "str | None"]


def _text(value: str | None, field: str) -> bytes | None:
    """UTF-8 for C; None for absent. A NUL would silently cut the string in C."""
    if type(value) is str and value and "\0" not in value:
        return value.encode()  # the common case, first: this runs for every field of every check
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{field}: expected a str, got {type(value).__name__}")
    if "\0" in value:
        raise InvalidArgumentError(f"{field}: contains a NUL character")
    return value.encode()


def _cost(cost: int) -> int:
    if isinstance(cost, bool) or not isinstance(cost, int):
        raise InvalidArgumentError(f"cost: expected an int, got {type(cost).__name__}")
    if cost < 1:
        raise InvalidArgumentError(f"cost: must be at least 1, got {cost}")
    if cost >= 1 << 63:
        raise InvalidArgumentError(f"cost: too large ({cost})")
    return cost


class _KeyCheck(NamedTuple):
    """One check_key call, its arguments checked and encoded for C."""

    rule: bytes
    identity: bytes
    cost: int


def _key_check(rule_id: str, identity: str, cost: int) -> _KeyCheck:
    rule = _text(rule_id, "rule_id")
    ident = _text(identity, "identity")
    if rule is None or ident is None:
        raise InvalidArgumentError("check_key: rule_id and identity must be non-empty")
    return _KeyCheck(rule, ident, _cost(cost))


def _c_request(req: Request) -> _lib.Request:
    return _c_fields(req.method, req.path, req.user_id, req.org_id, req.api_key,
                     req.client_ip, req.plan, req.cost)


def _c_fields(method: str, path: str, user_id: str | None, org_id: str | None,
              api_key: str | None, client_ip: str | None, plan: str | None,
              cost: int) -> _lib.Request:
    # The hot path of every check: one constructor call sets every field (ten
    # attribute stores cost twice as much).
    return _lib.Request(
        _lib.REQUEST_SIZE, 0,
        _text(method.upper() if type(method) is str else method, "method"),
        _text(path, "path"),
        None if user_id is None else _text(user_id, "user_id"),
        None if org_id is None else _text(org_id, "org_id"),
        None if api_key is None else _text(api_key, "api_key"),
        None if client_ip is None else _text(client_ip, "client_ip"),
        None if plan is None else _text(plan, "plan"),
        cost if type(cost) is int and 0 < cost < 1 << 63 else _cost(cost),
    )


def _py_request(r: _lib.Request) -> Request:
    def s(b: bytes | None) -> str | None:
        return None if b is None else b.decode("utf-8", "replace")

    return Request(
        method=s(r.method) or "",
        path=s(r.path) or "",
        user_id=s(r.user_id),
        org_id=s(r.org_id),
        api_key=s(r.api_key),
        client_ip=s(r.client_ip),
        plan=s(r.plan),
        cost=r.cost or 1,
    )


def _new_decision() -> _lib.Decision:
    d = _lib.Decision()
    d.struct_size = _lib.DECISION_SIZE
    return d


# A limify_decision with only struct_size set: the template of check_batch's outputs.
_EMPTY_DECISION = bytes(_new_decision())


def _raise(status: int, err: _lib.Error) -> None:
    name = _lib.lib().limify_status_name(status).decode()
    message = err.message.decode("utf-8", "replace") or name
    raise error_for(status, message, name)


def _parse_config(config: Config) -> tuple[bytes | None, bytes | None, dict[str, Any]]:
    """(json_text, file_path, parsed dict or {}). A str is JSON when it starts with '{'."""
    if isinstance(config, Mapping):
        try:
            text = json.dumps(config)
        except (TypeError, ValueError) as exc:
            raise InvalidArgumentError(f"config: not JSON-serialisable: {exc}") from None
        return text.encode(), None, dict(config)
    if isinstance(config, str) and config.lstrip().startswith("{"):
        try:
            parsed = json.loads(config)
        except ValueError:
            parsed = {}  # the engine reports the error with its position
        if "\0" in config:
            raise InvalidArgumentError("config: contains a NUL character")
        return config.encode(), None, parsed if isinstance(parsed, dict) else {}
    if isinstance(config, (str, os.PathLike)):
        path = os.fspath(config)
        if "\0" in path:
            raise InvalidArgumentError("config: the path contains a NUL character")
        parsed: Any = {}
        try:
            parsed = json.loads(Path(path).read_text())
        except (OSError, ValueError):
            pass  # the engine reports the error, naming the file
        return None, os.fsencode(path), parsed if isinstance(parsed, dict) else {}
    raise InvalidArgumentError(
        f"config: expected a dict, a JSON string or a path, got {type(config).__name__}"
    )


def _storage_blocks(parsed: Mapping[str, Any]) -> bool:
    """Whether a call may wait on I/O: every storage but memory (unknown: assume so)."""
    storage = parsed.get("storage", {"type": "memory"})
    return not (isinstance(storage, Mapping) and storage.get("type", "memory") == "memory")


# How many forks this process descends from: a child's engines start new async
# workers (threads do not survive fork). Cheaper than os.getpid() on every call.
_forks = [0]
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _forks.__setitem__(0, _forks[0] + 1))


class Engine:
    """A limify engine. Thread-safe: share one per process (or per config).

    `config` is a dict, a JSON string (starting with "{"), or a path to a JSON
    file (str or Path). Errors raise ConfigError naming the JSON path.
    """

    def __init__(self, config: Config) -> None:
        self._handle: int | None = None
        lib = _lib.lib()
        text, path, parsed = _parse_config(config)
        handle = ctypes.c_void_p()
        err = _lib.Error()
        if path is not None:
            status = lib.limify_engine_new_from_file(path, ctypes.byref(handle), ctypes.byref(err))
        else:
            status = lib.limify_engine_new(text, ctypes.byref(handle), ctypes.byref(err))
        if status != _lib.OK:
            _raise(status, err)
        self._lib = lib
        self._handle = handle.value
        self._hooks_keepalive: tuple[object, ...] = ()
        self._provider_keepalive: object = None
        self._batcher: AsyncBatcher | None = None
        self._batcher_forks = 0
        self._batcher_lock = threading.Lock()
        self._adopt(parsed)

    def _adopt(self, parsed: Mapping[str, Any]) -> None:
        self.blocking: bool = _storage_blocks(parsed)
        # Decisions that may wait on I/O release the GIL; memory's keep it (see lib_holding_gil).
        self._decider = self._lib if self.blocking else _lib.lib_holding_gil()
        identity = parsed.get("identity", {})
        order = identity.get("order") if isinstance(identity, Mapping) else None
        self.identity_order: tuple[str, ...] = (
            tuple(order) if isinstance(order, list) else DEFAULT_IDENTITY_ORDER
        )
        self.failure_mode: str = str(parsed.get("failure_mode", "open"))

    # -- lifecycle ---------------------------------------------------------

    def close(self) -> None:
        """Frees the engine, after deciding the async checks already queued.

        No call may be running or start afterwards."""
        batcher, self._batcher = getattr(self, "_batcher", None), None
        if batcher is not None and self._batcher_forks == _forks[0]:
            batcher.close()
        handle, self._handle = self._handle, None
        if handle is not None:
            self._lib.limify_engine_free(handle)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if sys.is_finalizing():
            return  # the process is ending: an async worker may still be inside the library
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone
            pass

    def _h(self) -> int:
        handle = self._handle
        if handle is None:
            raise LimifyError("the engine is closed", code=1, status="invalid_argument")
        return handle

    def reload(self, config: Config) -> None:
        """Swaps the configuration atomically; on error the old one stays in force."""
        text, path, parsed = _parse_config(config)
        if path is not None:
            try:
                text = Path(os.fsdecode(path)).read_bytes()
            except OSError as exc:
                raise error_for(6, f"cannot read config {os.fsdecode(path)!r}: {exc.strerror}", "not_found") from None
        err = _lib.Error()
        status = self._lib.limify_engine_reload(self._h(), text, ctypes.byref(err))
        if status != _lib.OK:
            _raise(status, err)
        self._adopt(parsed)

    # -- deciding ----------------------------------------------------------

    def check(
        self,
        method: str = "GET",
        path: str = "/",
        *,
        user_id: str | None = None,
        org_id: str | None = None,
        api_key: str | None = None,
        client_ip: str | None = None,
        plan: str | None = None,
        cost: int = 1,
    ) -> Decision:
        """Decides and consumes. A denial is a Decision with allowed=False, not an error."""
        req = _c_fields(method, path, user_id, org_id, api_key, client_ip, plan, cost)
        return self._decide(self._decider.limify_check, req)

    def peek(
        self,
        method: str = "GET",
        path: str = "/",
        *,
        user_id: str | None = None,
        org_id: str | None = None,
        api_key: str | None = None,
        client_ip: str | None = None,
        plan: str | None = None,
        cost: int = 1,
    ) -> Decision:
        """Decides without consuming anything."""
        req = _c_fields(method, path, user_id, org_id, api_key, client_ip, plan, cost)
        return self._decide(self._decider.limify_peek, req)

    def _decide(self, fn: Any, req: _lib.Request) -> Decision:
        dec = _new_decision()
        err = _lib.Error()
        status = fn(self._h(), ctypes.byref(req), ctypes.byref(dec), ctypes.byref(err))
        if status != _lib.OK:
            _raise(status, err)
        return Decision._from_c(dec)

    def reset(
        self,
        method: str = "GET",
        path: str = "/",
        *,
        user_id: str | None = None,
        org_id: str | None = None,
        api_key: str | None = None,
        client_ip: str | None = None,
    ) -> None:
        """Forgets the state of the request's identity under its rule (every plan)."""
        req = _c_fields(method, path, user_id, org_id, api_key, client_ip, None, 1)
        err = _lib.Error()
        status = self._lib.limify_reset(self._h(), ctypes.byref(req), ctypes.byref(err))
        if status != _lib.OK:
            _raise(status, err)

    def check_key(self, rule_id: str, identity: str, cost: int = 1) -> Decision:
        """Limits `identity` under rule `rule_id`'s own rate (no HTTP request needed).

        NotFoundError for an unknown rule.
        """
        return self._check_key_prepared(_key_check(rule_id, identity, cost))

    def _check_key_prepared(self, key: _KeyCheck) -> Decision:
        dec = _new_decision()
        err = _lib.Error()
        status = self._decider.limify_check_key(
            self._h(), key.rule, key.identity, key.cost, ctypes.byref(dec), ctypes.byref(err)
        )
        if status != _lib.OK:
            _raise(status, err)
        return Decision._from_c(dec)

    def reset_key(self, rule_id: str, identity: str) -> None:
        """Forgets what check_key keeps for `identity` under `rule_id`."""
        rule = _text(rule_id, "rule_id")
        ident = _text(identity, "identity")
        if rule is None or ident is None:
            raise InvalidArgumentError("reset_key: rule_id and identity must be non-empty")
        err = _lib.Error()
        status = self._lib.limify_reset_key(self._h(), rule, ident, ctypes.byref(err))
        if status != _lib.OK:
            _raise(status, err)

    def check_batch(self, requests: Sequence[Request]) -> list[Decision | LimifyError]:
        """Checks many requests at once (a remote storage sends them together).

        Item i answers requests[i]: a Decision, or the LimifyError that request met.
        """
        n = len(requests)
        if n == 0:
            return []
        return self._check_prepared([_c_fields(r.method, r.path, r.user_id, r.org_id, r.api_key,
                                               r.client_ip, r.plan, r.cost) for r in requests])

    def check_key_batch(
        self, rule_id: str, identities: Sequence[str], cost: int = 1
    ) -> list[Decision | LimifyError]:
        """check_key for many identities under one rule at once (one round trip on Redis).

        Item i answers identities[i]: a Decision, or the LimifyError it met.
        The fastest way to decide many checks from one thread: no Request per item.
        """
        rule = _text(rule_id, "rule_id")
        if rule is None:
            raise InvalidArgumentError("check_key_batch: rule_id must be non-empty")
        n = len(identities)
        if n == 0:
            return []
        try:
            encoded = [i.encode() for i in identities]
        except AttributeError:  # not all str: name the first that is not
            encoded = [_text(i, f"identities[{k}]") for k, i in enumerate(identities)]
        if b"\0" in b"".join(e or b"" for e in encoded):  # C would cut it short, silently
            k = next(k for k, e in enumerate(encoded) if e and b"\0" in e)
            raise InvalidArgumentError(f"identities[{k}]: contains a NUL character")
        return self._check_keys_prepared(rule, encoded, None if cost == 1 else [_cost(cost)] * n)

    def _check_keys_prepared(self, rule: bytes, identities: Sequence[bytes | None],
                             costs: Sequence[int] | None) -> list[Decision | LimifyError]:
        n = len(identities)
        idents = (ctypes.c_char_p * n)(*identities)
        c_costs = None if costs is None else (ctypes.c_int64 * n)(*costs)
        return self._batch("limify_check_key_batch", lambda decs, statuses, err: (
            self._decider.limify_check_key_batch(self._h(), rule, idents, n, c_costs, decs, statuses, err)), n)

    def _check_prepared(self, reqs: Sequence[_lib.Request]) -> list[Decision | LimifyError]:
        # The caller keeps `reqs` (and their strings) alive.
        n = len(reqs)
        req_ptrs = (ctypes.c_void_p * n)(*map(ctypes.addressof, reqs))
        return self._batch("limify_check_batch", lambda decs, statuses, err: (
            self._decider.limify_check_batch(self._h(), req_ptrs, n, decs, statuses, err)), n)

    def _batch(self, function: str, call: Callable[[Any, Any, Any], int], n: int) -> list[Decision | LimifyError]:
        # Decisions are one contiguous array, read back with one unpack per item.
        decs = (_lib.Decision * n).from_buffer_copy(_EMPTY_DECISION * n)
        base = ctypes.addressof(decs)
        dec_ptrs = (ctypes.c_void_p * n)(*range(base, base + n * _lib.DECISION_SIZE, _lib.DECISION_SIZE))
        statuses = (ctypes.c_int32 * n)()
        err = _lib.Error()
        first = call(dec_ptrs, statuses, ctypes.byref(err))
        out: list[Decision | LimifyError] = Decision._many_from_c(decs)
        if first == _lib.OK:
            return out
        first_message = err.message.decode("utf-8", "replace")  # the engine's words, for the first failure
        for i, status in enumerate(statuses):
            if status != _lib.OK:
                name = self._lib.limify_status_name(status).decode()
                out[i] = error_for(status, first_message or f"{function}: item {i}: {name}", name)
                first_message = ""
        return out

    def _decide_for_waiters(self, items: Sequence[_lib.Request | _KeyCheck]) -> list[Decision | LimifyError]:
        """A batch of unrelated acheck() and acheck_key() calls, each failure explained to its own waiter.

        Requests go in one limify_check_batch, keys in one limify_check_key_batch per rule.
        """
        groups: dict[bytes | None, list[int]] = {}  # rule id (None: requests) -> item indexes
        for i, item in enumerate(items):
            groups.setdefault(item.rule if isinstance(item, _KeyCheck) else None, []).append(i)
        out: list[Any] = [None] * len(items)  # every index is some group's
        for rule, index in groups.items():
            if rule is None:
                results = self._check_prepared([items[i] for i in index])  # type: ignore[misc]
            else:
                keys: list[_KeyCheck] = [items[i] for i in index]  # type: ignore[misc]
                results = self._check_keys_prepared(rule, [k.identity for k in keys], [k.cost for k in keys])
            for i, result in zip(index, results):
                if isinstance(result, LimifyError):
                    # The batch's message explains only its first failure; deciding the
                    # item alone yields the engine's own words. An item that failed was
                    # not decided, so this is a retry, not a second charge.
                    try:
                        result = self._decide_alone(items[i])
                    except LimifyError as exc:
                        result = exc
                out[i] = result
        return out

    def _decide_alone(self, item: _lib.Request | _KeyCheck) -> Decision:
        if isinstance(item, _KeyCheck):
            return self._check_key_prepared(item)
        return self._decide(self._lib.limify_check, item)

    # -- async helpers -----------------------------------------------------

    async def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.blocking:
            return await asyncio.to_thread(fn, *args, **kwargs)
        return fn(*args, **kwargs)

    async def acheck(
        self,
        method: str = "GET",
        path: str = "/",
        *,
        user_id: str | None = None,
        org_id: str | None = None,
        api_key: str | None = None,
        client_ip: str | None = None,
        plan: str | None = None,
        cost: int = 1,
    ) -> Decision:
        """check() without blocking the event loop.

        On a remote storage, concurrent acheck() calls are decided together by a
        worker thread (one round trip for all of them: see _async_batcher).
        """
        req = _c_fields(method, path, user_id, org_id, api_key, client_ip, plan, cost)
        if not self.blocking:
            return self._decide(self._decider.limify_check, req)
        return await self._submit(req)

    async def _submit(self, item: _lib.Request | _KeyCheck) -> Decision:
        result = await self._async_batcher().submit(item)
        if isinstance(result, BaseException):
            raise result
        return result  # type: ignore[no-any-return]

    def _async_batcher(self) -> AsyncBatcher:
        batcher = self._batcher
        if batcher is None or self._batcher_forks != _forks[0]:  # none yet, or forked since
            with self._batcher_lock:
                if self._batcher is None or self._batcher_forks != _forks[0]:
                    self._h()  # a closed engine gets no worker
                    self._batcher = AsyncBatcher(self._decide_for_waiters)
                    self._batcher_forks = _forks[0]
                batcher = self._batcher
        return batcher

    async def apeek(self, method: str = "GET", path: str = "/", **fields: Any) -> Decision:
        result: Decision = await self._run(self.peek, method, path, **fields)
        return result

    async def areset(self, method: str = "GET", path: str = "/", **fields: Any) -> None:
        await self._run(self.reset, method, path, **fields)

    async def acheck_key(self, rule_id: str, identity: str, cost: int = 1) -> Decision:
        """check_key() without blocking the event loop; batched with acheck() calls on a remote storage."""
        key = _key_check(rule_id, identity, cost)
        if not self.blocking:
            return self._check_key_prepared(key)
        return await self._submit(key)

    async def acheck_batch(self, requests: Sequence[Request]) -> list[Decision | LimifyError]:
        result: list[Decision | LimifyError] = await self._run(self.check_batch, requests)
        return result

    # -- hooks and plans ---------------------------------------------------

    def set_hooks(self, on_decision: OnDecision | None = None, on_error: OnError | None = None) -> None:
        """Observers, called on the thread that decided (from many threads at once).

        on_decision(operation, request or None, decision); on_error(LimifyError).
        A hook cannot change a decision: what it raises is logged and dropped.
        Passing neither removes the hooks.
        """
        if on_decision is None and on_error is None:
            err = _lib.Error()
            status = self._lib.limify_set_hooks(self._h(), None, ctypes.byref(err))
            if status != _lib.OK:
                _raise(status, err)
            self._hooks_keepalive = ()
            return

        def decision_cb(_ctx: Any, op: int, req: Any, dec: Any) -> None:
            try:
                assert on_decision is not None
                py_req = _py_request(req.contents) if req else None
                on_decision(op, py_req, Decision._from_c(dec.contents))
            except Exception:
                log.exception("limify: on_decision hook raised (ignored)")

        def error_cb(_ctx: Any, e: Any) -> None:
            try:
                assert on_error is not None
                code = e.contents.code
                name = self._lib.limify_status_name(code).decode()
                on_error(error_for(code, e.contents.message.decode("utf-8", "replace"), name))
            except Exception:
                log.exception("limify: on_error hook raised (ignored)")

        hooks = _lib.Hooks()
        hooks.struct_size = ctypes.sizeof(_lib.Hooks)
        c_dec = _lib.OnDecision(decision_cb) if on_decision else _lib.OnDecision()
        c_err = _lib.OnError(error_cb) if on_error else _lib.OnError()
        hooks.on_decision = c_dec
        hooks.on_error = c_err
        err = _lib.Error()
        status = self._lib.limify_set_hooks(self._h(), ctypes.byref(hooks), ctypes.byref(err))
        if status != _lib.OK:
            _raise(status, err)
        # After set_hooks returns the old callbacks are no longer running: drop them.
        self._hooks_keepalive = (c_dec, c_err)

    def set_plan_provider(self, provider: PlanProvider | None) -> None:
        """provider(request, rule_id) -> plan id or None, for requests that name no plan.

        Called from many threads. What it raises is logged and means "no plan".
        """
        if provider is None:
            c_fn = _lib.PlanProvider()
        else:

            def cb(_ctx: Any, req: Any, rule: bytes, out: Any) -> int:
                try:
                    plan = provider(_py_request(req.contents), rule.decode())
                    if plan is None or plan == "":
                        return 0
                    raw = plan.encode()
                    if len(raw) > _lib.ID_MAX or b"\0" in raw:
                        log.error("limify: plan provider returned an invalid plan id %r", plan)
                        return 0
                    out.contents.value = raw
                    return 1
                except Exception:
                    log.exception("limify: plan provider raised (no plan used)")
                    return 0

            c_fn = _lib.PlanProvider(cb)
        err = _lib.Error()
        status = self._lib.limify_set_plan_provider(self._h(), c_fn, None, ctypes.byref(err))
        if status != _lib.OK:
            _raise(status, err)
        self._provider_keepalive = c_fn if provider is not None else None

    # -- metrics and clock -------------------------------------------------

    def stats(self, format: str = "json") -> Any:
        """The engine's metrics: a dict ("json") or Prometheus text ("prometheus")."""
        if format not in ("json", "prometheus"):
            raise InvalidArgumentError(f"stats: format must be 'json' or 'prometheus', got {format!r}")
        code = _lib.STATS_JSON if format == "json" else _lib.STATS_PROMETHEUS
        h = self._h()
        text = _sized_text(lambda buf, n, needed, err: self._lib.limify_stats(h, code, buf, n, needed, err))
        return json.loads(text) if format == "json" else text

    def clock_set(self, now_us: int) -> None:
        """Sets the manual clock (config "clock": "manual") to `now_us` microseconds."""
        err = _lib.Error()
        status = self._lib.limify_clock_set(self._h(), int(now_us), ctypes.byref(err))
        if status != _lib.OK:
            _raise(status, err)

    def clock_advance(self, delta_us: int) -> None:
        """Moves the manual clock forward by `delta_us` microseconds."""
        err = _lib.Error()
        status = self._lib.limify_clock_advance(self._h(), int(delta_us), ctypes.byref(err))
        if status != _lib.OK:
            _raise(status, err)


def _sized_text(call: Callable[[Any, int, Any, Any], int]) -> str:
    """Runs a size-query-then-fill call (limify_stats, limify_list_plugins)."""
    needed = ctypes.c_size_t(0)
    size = 4096
    for _ in range(8):  # the text may grow between the two calls
        buf = ctypes.create_string_buffer(size)
        err = _lib.Error()
        status = call(buf, size, ctypes.byref(needed), ctypes.byref(err))
        if status == _lib.OK:
            return buf.value.decode()
        if status != _lib.BUFFER_TOO_SMALL:
            _raise(status, err)
        size = needed.value + 1024
    raise LimifyError("the text kept growing faster than it could be read", code=7, status="internal")


def list_plugins(config: Config | None = None) -> list[dict[str, Any]]:
    """The plugins a configuration would load (None: the default search path)."""
    lib = _lib.lib()
    text: bytes | None = None
    if config is not None:
        text, path, _ = _parse_config(config)
        if path is not None:
            text = Path(os.fsdecode(path)).read_bytes()
    result: list[dict[str, Any]] = json.loads(
        _sized_text(lambda buf, n, needed, err: lib.limify_list_plugins(text, buf, n, needed, err))
    )
    return result


def version() -> str:
    """The version of the loaded liblimify, e.g. "0.1.0"."""
    value: bytes = _lib.lib().limify_version()
    return value.decode()
