"""Fixtures: every persistence and HTTP test runs on SQLite and on PostgreSQL.

PostgreSQL tests skip when no server answers, except in CI (``CI=true``), where they fail.
Each PostgreSQL test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from ordering.application import OrderingApplication
from ordering.bootstrap import Services, build_services, create_schema
from ordering.http.factory import create_app
from ordering.settings import Settings
from ordering.store import MEMORY_FACTORY_TOPIC
from ordering.tokens import TokenKeys

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
JWT_SECRET = "test-secret-of-at-least-thirty-two-bytes!"
START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


class FakeClock:
    """The application's clock, moved by the test: no test sleeps for minutes."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@cache
def postgres_reachable() -> str | None:
    try:
        psycopg.connect(TEST_DATABASE_URL, connect_timeout=3).close()
    except psycopg.Error as error:
        return str(error)
    return None


def require_postgres() -> None:
    problem = postgres_reachable()
    if problem is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"PostgreSQL must be reachable in CI at {TEST_DATABASE_URL}: {problem}")
    pytest.skip(f"PostgreSQL not reachable at {TEST_DATABASE_URL}")


def _run_sql(statement: str) -> None:
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as connection:
        connection.execute(statement)


def make_settings(backend: str, tmp_path: Path, schema: str | None = None) -> Settings:
    url = f"sqlite:///{tmp_path / 'orders.sqlite3'}" if backend == "sqlite" else TEST_DATABASE_URL
    return Settings(database_url=url, instance_dir=tmp_path, jwt_secret=JWT_SECRET,
                    postgres_schema=schema, rate_limit_anonymous="1000 per second")


def _prepared_settings(backend: str, tmp_path: Path) -> Iterator[Settings]:
    schema = None
    if backend == "postgres":
        require_postgres()
        schema = f"test_{uuid.uuid4().hex[:12]}"
        _run_sql(f'CREATE SCHEMA "{schema}"')
    configured = make_settings(backend, tmp_path, schema)
    create_schema(configured)
    yield configured
    if schema:
        _run_sql(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    yield from _prepared_settings(request.param, tmp_path)


@pytest.fixture
def postgres_settings(tmp_path: Path) -> Iterator[Settings]:
    yield from _prepared_settings("postgres", tmp_path)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Iterator[Settings]:
    yield from _prepared_settings("sqlite", tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def build_with(clock: FakeClock):  # type: ignore[no-untyped-def]
    def build(settings: Settings) -> Services:
        return build_services(settings, clock)

    return build


@pytest.fixture
def services(settings: Settings, clock: FakeClock) -> Iterator[Services]:
    built = build_services(settings, clock)
    yield built
    built.close()


@pytest.fixture
def postgres_services(postgres_settings: Settings, clock: FakeClock) -> Iterator[Services]:
    built = build_services(postgres_settings, clock)
    yield built
    built.close()


@pytest.fixture
def application(services: Services) -> OrderingApplication:
    return services.application


@pytest.fixture
def memory_application(clock: FakeClock) -> OrderingApplication:
    """The application on the in-memory event store, for fast rule tests."""
    return OrderingApplication(env={"PERSISTENCE_MODULE": MEMORY_FACTORY_TOPIC}, clock=clock)


@pytest.fixture
def flask_app(settings: Settings, clock: FakeClock) -> Iterator[Flask]:
    app = create_app(settings, build=build_with(clock))
    app.config["TESTING"] = True
    yield app
    app.extensions["ordering"].close()


@pytest.fixture
def client(flask_app: Flask) -> FlaskClient:
    return flask_app.test_client()


def token(organisation_id: int = 1, permissions: tuple[str, ...] = (), subject: str = "tester") -> str:
    return TokenKeys(JWT_SECRET, None).mint(organisation_id, subject, list(permissions))


def auth_headers(organisation_id: int = 1, permissions: tuple[str, ...] = (),
                 **extra: str) -> dict[str, str]:
    headers = {
        "Authorization": f"Bearer {token(organisation_id, permissions)}",
        "ET-Client-Name": "acme-tests",
        "Entur-POS": "Entur-APP",
        "Entur-Distribution-Channel": "ENT:DistributionChannel:Web",
    }
    headers.update({k.replace("_", "-"): v for k, v in extra.items()})
    return headers
