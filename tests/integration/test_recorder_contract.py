"""The eventsourcing library's own recorder test cases, run against our configuration."""

from __future__ import annotations

import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.tests.persistence import ApplicationRecorderTestCase

from ordering.application import OrderingApplication
from ordering.bootstrap import create_schema
from ordering.settings import Settings
from tests.conftest import _run_sql, make_settings, require_postgres


class OurRecorderCases(ApplicationRecorderTestCase[Any]):
    """Each test gets a fresh, empty store built exactly as the service builds it."""

    backend = "sqlite"

    def setUp(self) -> None:
        self._drops: list[Any] = []
        self._applications: list[OrderingApplication] = []
        self._threads_before = set(threading.enumerate())

    def tearDown(self) -> None:
        # The library's concurrency case leaves its reader threads to stop on their own; closing
        # the store under a thread still reading crashes SQLite's driver, so wait for them.
        for thread in set(threading.enumerate()) - self._threads_before:
            if not thread.name.startswith("pool-"):  # psycopg pool workers end with their pool
                thread.join(timeout=10)
        for application in self._applications:
            application.close()
        for cleanup in self._drops:
            cleanup()

    def create_recorder(self) -> Any:
        settings = self._fresh_settings()
        create_schema(settings)
        application = OrderingApplication(env=settings.eventsourcing_env())
        self._applications.append(application)
        return application.recorder

    def _fresh_settings(self) -> Settings:
        folder = Path(tempfile.mkdtemp())
        if self.backend == "sqlite":
            return make_settings("sqlite", folder)
        require_postgres()
        schema = f"rec_{uuid.uuid4().hex[:12]}"
        _run_sql(f'CREATE SCHEMA "{schema}"')
        self._drops.append(lambda: _run_sql(f'DROP SCHEMA "{schema}" CASCADE'))
        return make_settings("postgres", folder, schema)

    def test_performance(self) -> None:
        pytest.skip("throughput is measured by make bench, not by timed tests")

    def test_concurrent_throughput(self) -> None:
        pytest.skip("throughput is measured by make bench, not by timed tests")


class TestSQLiteRecorder(OurRecorderCases):
    backend = "sqlite"


@pytest.mark.postgres
class TestPostgresRecorder(OurRecorderCases):
    backend = "postgres"


del OurRecorderCases, ApplicationRecorderTestCase
