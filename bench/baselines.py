"""Baselines measured in the same run: what this machine and backend do without our code.

(a) raw single-row INSERT + COMMIT through psycopg (sqlite3 on SQLite), one connection per client;
(c) the eventsourcing library saving a new two-event aggregate; (d) reading and decoding the
notification log, the floor of a rebuild. (b), the bare Flask endpoint, is ``bench.bare_app``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.stats import summary
from ordering.application import OrderingApplication
from ordering.settings import Settings

RAW_TABLE = "bench_raw_inserts"


def sqlite_baseline_path(instance_dir: Path) -> str:
    return str(instance_dir / "baseline.sqlite3")


def create_raw_table(settings: Settings) -> None:
    if settings.is_postgres:
        with _pg_connect(settings) as connection:
            connection.execute(f"CREATE TABLE {RAW_TABLE} (id BIGSERIAL PRIMARY KEY, payload TEXT)")
        return
    with sqlite3.connect(sqlite_baseline_path(settings.instance_dir)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"CREATE TABLE {RAW_TABLE} (id INTEGER PRIMARY KEY, payload TEXT)")


def _pg_connect(settings: Settings) -> psycopg.Connection[Any]:
    options = f"-c search_path={settings.postgres_schema}" if settings.postgres_schema else ""
    return psycopg.connect(settings.database_url, options=options)


def _threads(clients: int, seconds: float, operation_factory: Callable[[], Callable[[], None]],
             warmup: float = 1.0) -> dict[str, Any]:
    """``clients`` threads each make their operation (own connection) and repeat it; what
    completes inside the window after ``warmup`` counts."""
    start = time.perf_counter() + warmup
    end = start + seconds
    latencies: list[list[float]] = [[] for _ in range(clients)]

    def loop(mine: list[float]) -> None:
        operation = operation_factory()
        while (now := time.perf_counter()) < end:
            operation()
            done = time.perf_counter()
            if start <= done <= end:
                mine.append(done - now)

    threads = [threading.Thread(target=loop, args=(mine,)) for mine in latencies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    merged = [value for mine in latencies for value in mine]
    return {"clients": clients, "throughput": len(merged) / seconds, "latency": summary(merged)}


def raw_inserts(settings: Settings, clients: int, seconds: float) -> dict[str, Any]:
    """(a) INSERT one row and COMMIT, repeatedly, one connection per client."""
    def postgres_client() -> Callable[[], None]:
        connection = _pg_connect(settings)

        def insert() -> None:
            connection.execute(f"INSERT INTO {RAW_TABLE} (payload) VALUES (%s)", ("raw",))
            connection.commit()
        return insert

    def sqlite_client() -> Callable[[], None]:
        connection = sqlite3.connect(sqlite_baseline_path(settings.instance_dir), timeout=30,
                                     isolation_level=None)  # autocommit: each INSERT commits

        def insert() -> None:
            connection.execute(f"INSERT INTO {RAW_TABLE} (payload) VALUES (?)", ("raw",))
        return insert

    return _threads(clients, seconds, postgres_client if settings.is_postgres else sqlite_client)


class Thing(Aggregate):
    """A trivial aggregate: created, then one more event."""

    @event("Created")
    def __init__(self, name: str) -> None:
        self.name = name

    @event("Renamed")
    def rename(self, name: str) -> None:
        self.name = name


class LibraryBaseline(Application[UUID]):
    name = "benchlibrary"


def library_app(settings: Settings, clients: int) -> LibraryBaseline:
    env = settings.eventsourcing_env(create_table=True)
    if settings.is_postgres:
        env |= {"POSTGRES_POOL_SIZE": str(clients), "POSTGRES_MAX_OVERFLOW": "0"}
    else:
        env["SQLITE_DBNAME"] = str(settings.instance_dir / "library.sqlite3")
    return LibraryBaseline(env=env)


def library_saves(settings: Settings, clients: int, seconds: float) -> dict[str, Any]:
    """(c) ``app.save(aggregate)`` of a new aggregate with two events, one save per operation."""
    application = library_app(settings, clients)

    def save() -> None:
        thing = Thing("created")
        thing.rename("renamed")
        application.save(thing)

    try:
        return _threads(clients, seconds, lambda: save)
    finally:
        application.close()


def notification_reads(application: OrderingApplication, limit: int, page: int = 2000) -> dict[str, Any]:
    """(d) Read the first ``limit`` notifications in pages and decode each to a domain event."""
    started, position, read = time.perf_counter(), 0, 0
    while read < limit:
        notifications = application.recorder.select_notifications(start=position, limit=page,
                                                                  inclusive_of_start=False)
        if not notifications:
            break
        for notification in notifications:
            application.mapper.to_domain_event(notification)
        read += len(notifications)
        position = notifications[-1].id
    seconds = time.perf_counter() - started
    return {"events": read, "seconds": seconds, "throughput": read / seconds if seconds else 0.0}
