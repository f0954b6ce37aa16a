"""Fixtures for fault tests: a controllable proxy in front of PostgreSQL, settings that point
the service at it, and the production processes (gunicorn, scheduler) started on it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import urlparse

import pytest

from ordering.settings import Settings
from tests.conftest import TEST_DATABASE_URL, require_postgres
from tests.support.pgproxy import PgProxy


def upstream_of(url: str) -> tuple[str, int]:
    parsed = urlparse(url)
    return parsed.hostname or "127.0.0.1", parsed.port or 5432


def proxy_url(proxy: PgProxy) -> str:
    """TEST_DATABASE_URL with the proxy's host and port (same user, password, database)."""
    parsed = urlparse(TEST_DATABASE_URL)
    credentials = parsed.netloc.rpartition("@")[0]
    netloc = f"{credentials}@{proxy.host}:{proxy.port}" if credentials else f"{proxy.host}:{proxy.port}"
    return parsed._replace(netloc=netloc).geturl()


@pytest.fixture
def pgproxy() -> Iterator[PgProxy]:
    """A proxy forwarding to the test PostgreSQL server (the same one the schema is made on)."""
    require_postgres()
    with PgProxy(upstream_of(TEST_DATABASE_URL)) as proxy:
        yield proxy


@pytest.fixture
def proxied_settings(postgres_settings: Settings, pgproxy: PgProxy) -> Settings:
    """The test's fresh schema, reached through the proxy."""
    return replace(postgres_settings, database_url=proxy_url(pgproxy))
