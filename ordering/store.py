"""The event store, without the library's blind retries, and with idempotency answers written
in the events' own transaction (``ordering.idempotency``).

eventsourcing's PostgreSQL recorder retries a failed call ten times. For a read that only makes
an outage last 30-40 s before anyone hears of it; for a write it is worse: a commit that
succeeded on a connection that then dropped is sent again, refused as a version conflict, and
the command above runs a second time. Here each call fails at once; the application decides
what an unknown outcome means (``OrderingApplication._saved_despite``) and the HTTP layer
answers 503. ``PERSISTENCE_MODULE`` names ``OrderStoreFactory`` or, on SQLite,
``SQLiteOrderStoreFactory`` (``Settings.eventsourcing_env``).
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore, SQLiteFactory
from psycopg.sql import SQL
from psycopg_pool import PoolTimeout

from ordering.idempotency import IdempotencyTables, answer_of

# A database that cannot answer now (lost connection, pool timeout, locked SQLite file): the
# request's fault is none of these, so they answer 503 and never park an event.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, psycopg.OperationalError,
                      psycopg.InterfaceError, sqlite3.OperationalError)


def _without_retry(method: Any) -> Any:
    return getattr(method, "__wrapped__", method)


APPLICATION_NAME_KEY = "ORDERS_APPLICATION_NAME"  # set by Settings.eventsourcing_env


def _read_again_once(method: Any) -> Any:
    """A read that met a connection broken while it sat in the pool (the database restarted,
    a proxy dropped it) runs once more, after the pool has checked its idle connections and
    dropped the broken ones (others like it would fail the retry too). A pool timeout is not
    retried: an outage still answers within its bound."""
    read = _without_retry(method)

    @functools.wraps(read)
    def again(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return read(self, *args, **kwargs)
        except (OperationalError, InterfaceError) as error:
            if isinstance(error.__cause__, PoolTimeout):
                raise
            with contextlib.suppress(psycopg.Error):
                self.datastore.pool.check()
            return read(self, *args, **kwargs)

    return again


class SnapshotRecorder(PostgresAggregateRecorder):
    """Snapshots: every aggregate load reads them first."""

    insert_events = _without_retry(PostgresAggregateRecorder.insert_events)
    select_events = _read_again_once(PostgresAggregateRecorder.select_events)


class OrderStoreRecorder(PostgresApplicationRecorder):
    """The events and their notification log; idempotency answers in the same transaction."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.idempotency = IdempotencyTables(datastore, datastore.schema)
        self.sql_create_statements.extend(SQL(s).format() for s in self.idempotency.create_statements())

    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        answer = answer_of(kwargs)
        if answer is not None:
            self.idempotency.insert_answer(curs, answer)

    insert_events = _without_retry(PostgresApplicationRecorder.insert_events)
    select_events = _read_again_once(PostgresApplicationRecorder.select_events)
    select_notifications = _read_again_once(PostgresApplicationRecorder.select_notifications)
    max_notification_id = _read_again_once(PostgresApplicationRecorder.max_notification_id)


class OrderStoreFactory(PostgresFactory):
    aggregate_recorder_class = SnapshotRecorder
    application_recorder_class = OrderStoreRecorder

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The pool waits ``timeout`` for a connection; a new connection should not wait longer.
        pool = self.datastore.pool
        if isinstance(pool.kwargs, dict):
            pool.kwargs.setdefault("connect_timeout", max(1, round(pool.timeout)))
            name = self.env.get(APPLICATION_NAME_KEY)
            if name:
                pool.kwargs.setdefault("application_name", name)


class SQLiteOrderStoreRecorder(SQLiteApplicationRecorder):
    """The events on SQLite; idempotency answers in the same transaction."""

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events") -> None:
        self.idempotency = IdempotencyTables(datastore, None)
        super().__init__(datastore, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self.idempotency.create_statements()]

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        answer = answer_of(kwargs)
        if answer is not None:
            self.idempotency.insert_answer(c, answer)
        return notification_ids


class SQLiteOrderStoreFactory(SQLiteFactory):
    application_recorder_class = SQLiteOrderStoreRecorder


FACTORY_TOPIC = f"{OrderStoreFactory.__module__}:{OrderStoreFactory.__qualname__}"
SQLITE_FACTORY_TOPIC = f"{SQLiteOrderStoreFactory.__module__}:{SQLiteOrderStoreFactory.__qualname__}"
