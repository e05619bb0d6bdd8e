"""The Engine API on the memory storage with the manual clock: exact decisions."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest

import limify
from limify import (
    ConfigError,
    Decision,
    Engine,
    FailedPreconditionError,
    InvalidArgumentError,
    LimifyError,
    NotFoundError,
    Request,
)
from conftest import memory_config

SECOND = 1_000_000


def search_engine(**extra: object) -> Engine:
    return Engine(
        memory_config(
            rules=[
                {"id": "search", "method": "GET", "path": "/search", "rate": "3/second"},
                {"id": "api", "path": "/api/**", "rate": "2/minute", "plans": {"pro": "10/minute"}},
            ],
            **extra,
        )
    )


def test_version_is_the_loaded_library() -> None:
    assert limify.version() == "0.1.0"


def test_check_allows_up_to_the_limit_then_denies_with_exact_retry_after() -> None:
    with search_engine() as engine:
        remaining = [engine.check("GET", "/search", user_id="alice").remaining for _ in range(3)]
        assert remaining == [2, 1, 0]
        denied = engine.check("GET", "/search", user_id="alice")
        assert not denied.allowed and not denied
        assert denied.limit == 3 and denied.remaining == 0
        assert denied.retry_after_us == 333_334  # one token: 1/3 s, rounded up to a whole µs
        assert denied.rule_id == "search" and denied.plan_id == "default"
        assert denied.period_us == SECOND and denied.period == 1.0


def test_time_refills_the_bucket_on_the_manual_clock() -> None:
    with search_engine() as engine:
        for _ in range(3):
            assert engine.check("GET", "/search", user_id="alice").allowed
        wait = engine.check("GET", "/search", user_id="alice").retry_after_us
        assert wait is not None and wait > 0
        engine.clock_advance(wait - 1)
        assert not engine.check("GET", "/search", user_id="alice").allowed
        engine.clock_advance(1)
        assert engine.check("GET", "/search", user_id="alice").allowed


def test_method_is_matched_case_insensitively() -> None:
    with search_engine() as engine:
        assert engine.check("get", "/search", user_id="a").rule_id == "search"
        assert not engine.check("POST", "/search", user_id="a").matched


def test_unmatched_request_is_unlimited_and_has_no_headers() -> None:
    with search_engine() as engine:
        d = engine.check("GET", "/health", user_id="a")
        assert d.allowed and not d.matched
        assert d.limit is None and d.remaining is None
        assert d.headers() == {}


def test_identities_are_isolated() -> None:
    with search_engine() as engine:
        for _ in range(3):
            engine.check("GET", "/search", user_id="alice")
        assert not engine.check("GET", "/search", user_id="alice").allowed
        assert engine.check("GET", "/search", user_id="bob").allowed
        assert engine.check("GET", "/search", api_key="alice").allowed  # another kind
        assert engine.check("GET", "/search", client_ip="10.0.0.1").allowed


def test_peek_consumes_nothing_and_reset_forgets() -> None:
    with search_engine() as engine:
        engine.check("GET", "/search", user_id="a")
        assert engine.peek("GET", "/search", user_id="a").remaining == 2
        assert engine.peek("GET", "/search", user_id="a").remaining == 2
        engine.check("GET", "/search", user_id="a")
        engine.reset("GET", "/search", user_id="a")
        assert engine.check("GET", "/search", user_id="a").remaining == 2


def test_plans_explicit_and_from_a_provider() -> None:
    with search_engine() as engine:
        assert engine.check("GET", "/api/x", user_id="u", plan="pro").limit == 10
        engine.set_plan_provider(lambda req, rule: "pro" if req.user_id == "carol" else None)
        d = engine.check("GET", "/api/x", user_id="carol")
        assert (d.plan_id, d.limit) == ("pro", 10)
        assert engine.check("GET", "/api/x", user_id="dave").limit == 2
        engine.set_plan_provider(None)
        assert engine.check("GET", "/api/x", user_id="carol").limit == 2


def test_a_raising_plan_provider_means_no_plan(caplog: pytest.LogCaptureFixture) -> None:
    def provider(req: Request, rule: str) -> str:
        raise RuntimeError("boom")

    with search_engine() as engine, caplog.at_level(logging.ERROR, logger="limify"):
        engine.set_plan_provider(provider)
        d = engine.check("GET", "/api/x", user_id="carol")
        assert d.allowed and d.plan_id == "default" and d.limit == 2
        assert "plan provider raised" in caplog.text


def test_check_key_limits_an_identity_by_rule_and_reset_key_forgets() -> None:
    with search_engine() as engine:
        assert [engine.check_key("search", "job-1").allowed for _ in range(4)] == [True, True, True, False]
        assert engine.check_key("search", "job-2").allowed
        engine.reset_key("search", "job-1")
        assert engine.check_key("search", "job-1").remaining == 2
        assert engine.check_key("search", "job-3", cost=3).remaining == 0


def test_cost_above_the_limit_can_never_pass() -> None:
    with search_engine() as engine:
        d = engine.check("GET", "/search", user_id="a", cost=4)
        assert not d.allowed and d.retry_after_us is None and d.retry_after is None
        assert "Retry-After" not in d.headers()


def test_headers_are_limifys_exact_text() -> None:
    with search_engine() as engine:
        for _ in range(3):
            engine.check("GET", "/search", user_id="a")
        d = engine.check("GET", "/search", user_id="a")
        assert d.headers() == {
            "X-RateLimit-Limit": "3",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": "1",
            "Retry-After": "1",
        }
        ietf = d.headers(limify.HEADERS_IETF)
        assert ietf["RateLimit-Policy"] == '"search";q=3;w=1'
        assert ietf["RateLimit"].startswith('"search";r=0;t=')


def test_decision_is_a_frozen_dataclass() -> None:
    with search_engine() as engine:
        d = engine.check("GET", "/search", user_id="a")
        assert isinstance(d, Decision)
        with pytest.raises(AttributeError):
            d.allowed = False  # type: ignore[misc]


def test_config_errors_name_the_json_path() -> None:
    with pytest.raises(ConfigError, match=r'rules\[0\]\.rate: unknown unit "fortnight"') as info:
        Engine({"rules": [{"id": "x", "path": "/x", "rate": "3/fortnight"}]})
    assert info.value.code == 2 and info.value.status == "config_error"
    assert isinstance(info.value, ValueError)
    with pytest.raises(ConfigError, match="unknown key"):
        Engine({"rulez": []})
    with pytest.raises(ConfigError):
        Engine('{"rules": [')
    with pytest.raises(InvalidArgumentError, match="config: expected a dict"):
        Engine(42)  # type: ignore[arg-type]


def test_config_from_a_path_a_str_path_and_a_json_string(tmp_path: Path) -> None:
    config = memory_config(rules=[{"id": "r", "path": "/r", "rate": "1/second"}])
    file = tmp_path / "limify.json"
    file.write_text(json.dumps(config))
    for source in (file, str(file), json.dumps(config)):
        with Engine(source) as engine:
            assert engine.check("GET", "/r", user_id="a").limit == 1
    with pytest.raises(NotFoundError, match="missing.json"):
        Engine(tmp_path / "missing.json")


def test_bad_arguments_are_clear_errors() -> None:
    with search_engine() as engine:
        with pytest.raises(InvalidArgumentError, match="user_id: contains a NUL"):
            engine.check("GET", "/search", user_id="a\0b")
        with pytest.raises(InvalidArgumentError, match="cost: must be at least 1"):
            engine.check("GET", "/search", user_id="a", cost=0)
        with pytest.raises(InvalidArgumentError, match="cost: expected an int"):
            engine.check("GET", "/search", user_id="a", cost=1.5)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError, match="api_key: expected a str"):
            engine.check("GET", "/search", api_key=7)  # type: ignore[arg-type]
        with pytest.raises(NotFoundError, match="nope"):
            engine.check_key("nope", "x")
        with pytest.raises(InvalidArgumentError):
            engine.check_key("search", "")


def test_manual_clock_calls_fail_on_the_system_clock() -> None:
    with Engine({"rules": []}) as engine, pytest.raises(FailedPreconditionError):
        engine.clock_advance(1)


def test_a_closed_engine_refuses_calls() -> None:
    engine = search_engine()
    engine.close()
    engine.close()  # twice is fine
    with pytest.raises(LimifyError, match="closed"):
        engine.check("GET", "/search")


def test_reload_swaps_rules_and_keeps_the_old_on_error() -> None:
    with search_engine() as engine:
        with pytest.raises(ConfigError):
            engine.reload({"rules": [{"id": "x", "path": "/x"}]})
        assert engine.check("GET", "/search", user_id="a").limit == 3
        engine.reload(memory_config(rules=[{"id": "search", "path": "/search", "rate": "7/second"}]))
        assert engine.check("GET", "/search", user_id="a").limit == 7


def test_stats_count_decisions_by_rule_and_outcome() -> None:
    with search_engine() as engine:
        for _ in range(5):
            engine.check("GET", "/search", user_id="a")
        row = next(r for r in engine.stats()["decisions"] if r["rule"] == "search")
        assert (row["allowed"], row["denied"]) == (3, 2)
        text = engine.stats("prometheus")
        assert 'limify_decisions_total{rule="search",plan="default",outcome="denied"} 2' in text
        with pytest.raises(InvalidArgumentError):
            engine.stats("xml")


def test_hooks_see_every_decision_and_cannot_change_it(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[tuple[int, str | None, bool]] = []

    def on_decision(op: int, req: Request | None, d: Decision) -> None:
        seen.append((op, req.user_id if req else None, d.allowed))
        raise RuntimeError("a broken hook")

    with search_engine() as engine, caplog.at_level(logging.ERROR, logger="limify"):
        engine.set_hooks(on_decision=on_decision)
        assert engine.check("GET", "/search", user_id="alice").allowed
        engine.check_key("search", "k")
        engine.peek("GET", "/search", user_id="bob")
        assert seen == [
            (limify.OPERATION_CHECK, "alice", True),
            (limify.OPERATION_CHECK_KEY, None, True),
            (limify.OPERATION_PEEK, "bob", True),
        ]
        assert "on_decision hook raised" in caplog.text
        engine.set_hooks()
        engine.check("GET", "/search", user_id="alice")
        assert len(seen) == 3


def test_on_error_hook_reports_errors() -> None:
    errors: list[LimifyError] = []
    with search_engine() as engine:
        engine.set_hooks(on_error=errors.append)
        with pytest.raises(NotFoundError):
            engine.check_key("nope", "x")
        assert len(errors) == 1 and isinstance(errors[0], NotFoundError)


def test_check_batch_answers_each_request_in_order() -> None:
    with search_engine() as engine:
        reqs = [Request("GET", "/search", user_id="a")] * 4 + [Request("GET", "/api/x", user_id="a", plan="pro")]
        out = engine.check_batch(reqs)
        assert [d.allowed for d in out if isinstance(d, Decision)] == [True, True, True, False, True]
        assert isinstance(out[4], Decision) and out[4].limit == 10
        assert engine.check_batch([]) == []


def test_check_batch_reports_a_bad_item_in_its_place_and_decides_the_rest() -> None:
    with search_engine() as engine:
        oversized = Request("GET", "/search", user_id="u" * (64 * 1024 + 1))
        reqs = [Request("GET", "/search", user_id="a"), oversized, Request("GET", "/search", user_id="b")]
        out = engine.check_batch(reqs)
        assert isinstance(out[0], Decision) and out[0].allowed and out[0].rule_id == "search"
        assert isinstance(out[1], InvalidArgumentError) and "item 1" in str(out[1]) and "user_id" in str(out[1])
        assert isinstance(out[2], Decision) and out[2].allowed and out[2].remaining == out[0].remaining


def test_check_batch_refuses_a_field_c_would_cut_before_deciding_anything() -> None:
    with search_engine() as engine:
        with pytest.raises(InvalidArgumentError, match="user_id: contains a NUL"):
            engine.check_batch([Request("GET", "/search", user_id="a"), Request("GET", "/search", user_id="b\0c")])
        assert engine.peek("GET", "/search", user_id="a").remaining == 3  # nothing was consumed


def test_check_key_batch_decides_each_identity_as_check_key_would() -> None:
    with search_engine() as engine, search_engine() as single:
        idents = ["a", "b", "a", "a", "a"]
        out = engine.check_key_batch("search", idents)
        expected = [single.check_key("search", i) for i in idents]
        assert [d.allowed for d in out if isinstance(d, Decision)] == [d.allowed for d in expected]
        assert [d.remaining for d in out if isinstance(d, Decision)] == [d.remaining for d in expected]
        assert engine.check_key_batch("search", []) == []
        costly = engine.check_key_batch("search", ["c", "d"], cost=3)
        assert all(isinstance(d, Decision) and d.remaining == 0 for d in costly)


def test_check_key_batch_reports_bad_items_in_place_and_an_unknown_rule_for_each() -> None:
    with search_engine() as engine:
        out = engine.check_key_batch("search", ["a", "", "b"])
        assert isinstance(out[0], Decision) and out[0].allowed
        assert isinstance(out[1], InvalidArgumentError) and "item 1" in str(out[1])
        assert isinstance(out[2], Decision) and out[2].allowed
        missing = engine.check_key_batch("nope", ["a", "b"])
        assert all(isinstance(e, NotFoundError) for e in missing)
        with pytest.raises(InvalidArgumentError, match=r"identities\[1\]: contains a NUL"):
            engine.check_key_batch("search", ["a", "b\0c"])
        with pytest.raises(InvalidArgumentError, match=r"identities\[0\]"):
            engine.check_key_batch("search", [5])  # type: ignore[list-item]
        assert engine.check_key("search", "a").remaining == 1  # only the first batch consumed


def test_list_plugins_names_the_builtins() -> None:
    names = {a for p in limify.list_plugins() for a in p["algorithms"] + p["storages"]}
    assert {"token_bucket", "gcra", "sliding_window", "memory", "redis"} <= names


def test_threads_never_exceed_the_limit_on_one_key() -> None:
    limit = 1000
    with Engine(memory_config(rules=[{"id": "hot", "path": "/hot", "rate": f"{limit}/second"}])) as engine:
        allowed = [0] * 8
        barrier = threading.Barrier(8)

        def worker(i: int) -> None:
            barrier.wait()
            for _ in range(400):
                allowed[i] += engine.check("GET", "/hot", user_id="shared").allowed

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(allowed) == limit  # 3,200 tries, the clock never moves
