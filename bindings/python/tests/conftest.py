"""Shared fixtures: a real redis-server (scripts/redis-local), configs, a dead port."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
REDIS_LOCAL = REPO / "scripts" / "redis-local"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A throwaway redis-server on a free loopback port, stopped (by PID) at the end."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (scripts/setup installs it)")
    workdir = tempfile.mkdtemp(prefix="limify-py-redis-")
    url = subprocess.run(
        [str(REDIS_LOCAL), "server", workdir], check=True, capture_output=True, text=True
    ).stdout.strip()
    try:
        yield url
    finally:
        subprocess.run([str(REDIS_LOCAL), "stop", workdir], check=False)


@pytest.fixture
def flush_redis(redis_url: str) -> str:
    """The Redis URL, with the database emptied first (tests reuse rule ids)."""
    port = int(redis_url.rsplit(":", 1)[1])
    subprocess.run(["redis-cli", "-p", str(port), "flushall"], check=True, capture_output=True)
    return redis_url


@pytest.fixture
def dead_redis_url() -> str:
    """A loopback URL where nothing listens: every connect is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"redis://127.0.0.1:{port}"


def memory_config(**extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"storage": {"type": "memory"}, "clock": "manual"}
    config.update(extra)
    return config


def redis_config(url: str, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "storage": {"type": "redis", "url": url, "connect_timeout_ms": 200, "command_timeout_ms": 500}
    }
    config.update(extra)
    return config


# Integration tests share this rule set: a global path rule, a stricter search
# rule, and rules used only by per-route limits (their paths never match).
WEB_RULES: list[dict[str, Any]] = [
    {"id": "global", "path": "/**", "rate": "5/hour"},
    {"id": "login", "method": "POST", "path": "/login", "rate": "2/hour", "priority": 10},
    {"id": "search_route", "path": "/_route/search", "rate": "3/hour"},
    {"id": "export_route", "path": "/_route/export", "rate": "10/hour"},
]


def web_config(storage: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"storage": storage or {"type": "memory"}, "rules": WEB_RULES}
    config.update(extra)
    return config


@pytest.fixture
def silent_redis_url() -> Iterator[str]:
    """A loopback port that accepts connections and never answers: every command times out."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield f"redis://127.0.0.1:{s.getsockname()[1]}"
