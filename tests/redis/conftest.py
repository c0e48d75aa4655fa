"""Fixtures for the Redis tests: a real redis-server on a free loopback port.

This directory has no ``__init__.py`` on purpose: as a package named ``redis`` under
``tests/`` it would shadow redis-py itself.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_server import RedisServer, running_redis


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One server for the whole session; tests keep apart through ``redis_prefix``."""
    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture
def redis_prefix() -> str:
    return f"cmetest:{secrets.token_hex(4)}:"


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A server of this test's own, to stop, pause and restart."""
    with running_redis(tmp_path) as server:
        yield server
